"""Compact per-image numbering of the labels present, for per-label counts in small tables.

An image carries a few dozen of the C concepts (C = 1,825 for the PNAS segmenter). Numbering the
labels present in each image 0, 1, ... (in concept order) lets per-image work use a table of
``slots`` rows instead of C, and one scatter by ``label_of_slot`` moves the per-image rows into
the (C, ...) totals. Images with more labels than ``slots`` are taken in chunks of ``slots``
labels (chunk j holds the labels ranked j*slots .. (j+1)*slots - 1), so nothing is ever dropped.

Every function works image by image (``jax.vmap``), so that with the batch split over devices
the partitioner keeps it per device: a scatter that indexes the batch axis explicitly would be
gathered onto every device instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def drop_repeats_across_channels(labels: jax.Array) -> jax.Array:
    """(B, K, P) int labels: a label already in an earlier channel at that pixel becomes 0."""
    channels = [labels[:, 0]]
    for k in range(1, labels.shape[1]):
        repeat = jnp.any(labels[:, :k] == labels[:, k : k + 1], axis=1)
        channels.append(jnp.where(repeat, 0, labels[:, k]))
    return jnp.stack(channels, axis=1)


def labels_present(labels: jax.Array, num_concepts: int) -> jax.Array:
    """(B, K, P) labels in [0, C) -> (B, C) bool: the concepts each image carries (0 excluded)."""

    def one_image(image_labels):
        present = jnp.zeros((num_concepts,), bool).at[image_labels.reshape(-1)].set(True)
        return present.at[0].set(False)

    return jax.vmap(one_image)(labels)


def label_ranks(present: jax.Array, slots: int) -> tuple[jax.Array, jax.Array]:
    """(B, C) presence -> rank of each present label in its image (B, C) int32, and the number
    of chunks of ``slots`` labels the fullest image needs (a traced int32 scalar)."""
    rank = jnp.cumsum(present, axis=1, dtype=jnp.int32) - 1
    most = jnp.max(jnp.sum(present, axis=1, dtype=jnp.int32))
    return rank, (most + slots - 1) // slots


def chunk_slots(labels, present, rank, chunk, slots: int):
    """The slots of chunk ``chunk``.

    Returns ``slot`` (B, K, P) int32 in [0, slots], where ``slots`` means "not in this chunk" (or
    label 0), and ``label_of_slot`` (B, slots) int32, 0 for unused slots.
    """
    num_concepts = present.shape[1]

    def one_image(image_labels, image_present, image_rank):
        in_chunk = image_present & (image_rank // slots == chunk)
        slot_of = jnp.where(in_chunk, image_rank - chunk * slots, slots)  # (C,)
        label_of_slot = jnp.zeros((slots + 1,), jnp.int32)
        label_of_slot = label_of_slot.at[slot_of].set(jnp.arange(num_concepts, dtype=jnp.int32))
        return slot_of[image_labels], label_of_slot[:slots]  # the extra slot collected the rest

    return jax.vmap(one_image)(labels, present, rank)
