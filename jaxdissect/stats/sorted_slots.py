"""Label counts with no scatter at all: compact slots from a per-image sort, counts by matmuls.

The TPU plan's way of counting intersections (XLA compiles a scatter into a serial loop on
TPU). Per image, the K x P labels are sorted; the distinct non-zero labels, in concept order,
get slots 0, 1, ... (chunk ``j`` takes the labels ranked ``j * slots`` .. ``(j + 1) * slots - 1``,
so nothing is dropped). Then, per image and chunk:

* each pixel finds its labels' slots by a binary search in the chunk's (slots,) label list, and
  a 0/1 (P, slots) matrix marks them (a label in two channels was already dropped upstream);
* its product with the 0/1 on-map (P, U), in bfloat16 with float32 accumulation, is the
  (slots, U) table of on-pixels per slot (exact: at most P < 2**24 per entry); one more column
  of ones gives the concept's area per slot;
* a 0/1 (slots, C) matrix (slot -> concept) moves the batch's tables into (C, U) totals by one
  more matmul. The tables hold up to P, more than bfloat16's 8 significant bits, so they are
  split into bytes, each multiplied exactly, and recombined in int32.

No step here is per pixel and concept (no (P, C) one-hot): the per-pixel work is against the
image's ``slots`` labels only; the (slots, C) matrices are per image.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

EXACT = 1 << 24  # float32 adds integers exactly below this


def sorted_labels(labels: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(B, K, P) labels in [0, C) -> per image: sorted labels (B, K*P), the rank of each sorted
    entry's label among the image's distinct non-zero labels (B, K*P) int32 (-1 for label 0),
    and the number of distinct non-zero labels (B,)."""
    flat = jnp.sort(labels.reshape(labels.shape[0], -1), axis=1)
    previous = jnp.concatenate([jnp.full_like(flat[:, :1], -1), flat[:, :-1]], axis=1)
    first = (flat != previous) & (flat != 0)
    rank = jnp.cumsum(first, axis=1, dtype=jnp.int32) - 1
    return flat, jnp.where(flat != 0, rank, -1), rank[:, -1] + 1


def chunk_labels(flat: jax.Array, rank: jax.Array, chunk, slots: int, num_concepts: int):
    """Labels of slots ``chunk * slots + m`` for one image (slots,) int32, ``num_concepts`` for
    slots past the image's distinct labels (an index no pixel label reaches)."""
    wanted = chunk * slots + jnp.arange(slots, dtype=jnp.int32)
    # rank is non-decreasing over the sorted entries (label 0 first, at -1): a binary search
    where = jnp.searchsorted(rank, wanted, side="left", method="scan")
    found = jnp.take(rank, jnp.minimum(where, rank.shape[0] - 1)) == wanted
    return jnp.where(found, jnp.take(flat, jnp.minimum(where, flat.shape[0] - 1)), num_concepts)


def slot_matrix(labels: jax.Array, chunk_label: jax.Array) -> jax.Array:
    """One image: (K, P) labels and the chunk's (slots,) ascending labels -> 0/1 (P, slots)
    bfloat16, 1 where a channel of the pixel carries the slot's label."""
    slots = chunk_label.shape[0]
    slot = jnp.searchsorted(chunk_label, labels, side="left", method="scan")
    hit = (jnp.take(chunk_label, jnp.minimum(slot, slots - 1)) == labels) & (labels != 0)
    columns = jnp.arange(slots, dtype=slot.dtype)
    marks = (slot[..., None] == columns) & hit[..., None]  # (K, P, slots)
    return jnp.any(marks, axis=0).astype(jnp.bfloat16)


def exact_matmul(a: jax.Array, b: jax.Array, spec: str, most: int) -> jax.Array:
    """``einsum(spec, a, b)`` in int32 for a 0/1 ``a`` and integer ``b`` in [0, most], exact on
    any matrix unit: ``b`` is split into bytes (exact in bfloat16), each product accumulates in
    float32 (the caller keeps each byte's sum below 2**24), and the bytes are recombined."""
    total, shift, b = None, 0, b.astype(jnp.int32)
    while True:
        plane = ((b >> shift) & 0xFF).astype(jnp.bfloat16)
        part = jnp.einsum(spec, a.astype(jnp.bfloat16), plane,
                          preferred_element_type=jnp.float32).astype(jnp.int32) << shift
        total = part if total is None else total + part
        shift += 8
        if most >> shift == 0:
            return total


def count_chunk(on, labels, flat, rank, chunk, slots: int, num_concepts: int):
    """One chunk of slots for a batch: ``on`` (B, P, U) 0/1, ``labels`` (B, K, P) -> int32
    intersections (C, U) and concept areas (C,) of the labels in this chunk."""
    batch, pixels, units = on.shape
    if batch * slots * 255 >= EXACT or pixels >= EXACT:
        raise ValueError(f"sorted slots: {batch} images of {pixels} pixels per call are past "
                         "exact float32 sums; use a smaller batch")
    chunk_label = jax.vmap(chunk_labels, in_axes=(0, 0, None, None, None))(
        flat, rank, chunk, slots, num_concepts)  # (B, slots)
    marks = jax.vmap(slot_matrix)(labels, chunk_label)  # (B, P, slots)
    ones = jnp.ones((batch, pixels, 1), jnp.bfloat16)
    on_and_area = jnp.concatenate([on.astype(jnp.bfloat16), ones], axis=2)  # (B, P, U + 1)
    tables = jnp.einsum("bpm,bpu->bmu", marks, on_and_area, preferred_element_type=jnp.float32)
    to_concept = chunk_label[..., None] == jnp.arange(num_concepts, dtype=jnp.int32)
    totals = exact_matmul(to_concept, tables.astype(jnp.int32), "bmc,bmu->cu", pixels)
    return totals[:, :units], totals[:, units]


def carries_category(flat: jax.Array, category_of: jax.Array, num_categories: int):
    """(B, K*P) sorted labels -> (B, G) bool: the image carries a label of category g."""
    category = jnp.where(flat != 0, jnp.take(category_of, flat), -1)
    return jnp.any(category[..., None] == jnp.arange(num_categories), axis=1)
