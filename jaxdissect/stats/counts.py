"""Pixel counts for IoU: unit-concept intersections, unit areas and concept areas, exactly.

For unit ``u`` (on where its upsampled activation exceeds the threshold, strictly) and concept
``c`` (present at a pixel when any of the K label channels holds ``c``):

    I[u, c] = pixels where u is on and c is present     (a pixel carrying c twice counts once)
    A[u]    = pixels where u is on
    L[c]    = pixels where c is present

Label 0 means "no label" and is never counted. With ``category_of`` (concept -> category), also
``A_by_category[u, g]``: pixels where u is on, counted only in images that carry at least one
label of category g (the netdissect2017 rule). All counts are integers in :class:`WideCount`
words (exact past 2**31), so results are bit-identical for any batch split or device count.

How: per image, the labels present get compact slots (:mod:`jaxdissect.stats.label_slots`), the
on-map's pixels are counted into a small (slots, U) table per image, and one scatter by slot
label adds the tables into the (C, U) totals; images with more than ``max_labels_per_image``
labels take another round per extra chunk of labels (exact, never dropped). Two ways to fill the
per-image tables, same results:

* ``method="scatter"`` (default): labels repeated across channels at a pixel are dropped, then
  each channel's rows of the on-map are scatter-added into the table at the pixel's slot: K x
  pixels x U integer adds (int16 tables while an image has under 2**15 pixels).
* ``method="matmul"`` (for GPUs): a 0/1 (pixels, slots) matrix, made by comparisons, times
  the on-map, 0/1 bfloat16 with float32 accumulation (exact below 2**24 pixels per image).
* ``method="sorted"`` (for TPUs: no scatter anywhere, see
  :mod:`jaxdissect.stats.sorted_slots`): slots from a per-image sort of the labels, per-slot
  tables by the same matmul, and the move into (C, U) by a (slots, C) matmul on byte planes.

Measured on XLA:CPU (512 units, 56x56, 6 channels, ~40 labels per image, 2 images per device,
best of 10 on a loaded machine): a whole update takes ~1.8 ms per image with the scatter method
and ~5 ms with the matmul method. Scattering the on-map straight into a (C, U) table per channel
took ~5 ms on one device and was 3x slower on two, where each of the K scatters into the
replicated table needs its own all-reduce; here the per-image tables stay on their device. The
dissection engine uses the scatter method on CPU, one image at a time, and the matmul method on
accelerators, a whole batch at a time: on an H200 its counting pass took 0.10 ms per image that
way, 40x less than image by image with scatters.

Labels outside ``[0, num_concepts)`` are an error: the driver checks label maps on the host; here
they are skipped, flagged in ``bad_labels``, and :meth:`IoUCounts.finalize` raises.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxdissect.sharding import to_host
from jaxdissect.stats import sorted_slots
from jaxdissect.stats.label_slots import (
    chunk_slots,
    drop_repeats_across_channels,
    label_ranks,
    labels_present,
)
from jaxdissect.stats.wide_count import WideCount, check_batch_count

METHODS = ("scatter", "matmul", "sorted")


@struct.dataclass
class CountsState:
    """inter (C, U), unit_area (U,), concept_area (C,), by_category (U, G), images () counts."""

    inter: WideCount
    unit_area: WideCount
    concept_area: WideCount
    by_category: WideCount
    images: WideCount
    bad_labels: jax.Array


@struct.dataclass
class CountsTally:
    """The int32 counts of some batches, before they are added to a :class:`CountsState`
    (fields as there; ``concept_area`` also counts label 0, dropped when added)."""

    inter: jax.Array
    unit_area: jax.Array
    concept_area: jax.Array
    by_category: jax.Array
    images: jax.Array
    bad_labels: jax.Array


@dataclasses.dataclass(frozen=True)
class CountsResult:
    """int64 numpy: inter (U, C), unit_area (U,), concept_area (C,), unit_area_by_category
    (U, G) or None without categories, and the number of images counted."""

    inter: np.ndarray
    unit_area: np.ndarray
    concept_area: np.ndarray
    unit_area_by_category: np.ndarray | None
    num_images: int


class IoUCounts:
    """Static configuration (hashable by identity). ``category_of`` (C,) int: the category of each
    concept in ``[0, G)``, or -1 for none (label 0 has none in any case)."""

    def __init__(
        self,
        num_units: int,
        num_concepts: int,
        category_of: np.ndarray | None = None,
        max_labels_per_image: int = 64,
        method: str = "scatter",
    ):
        if num_units < 1 or num_concepts < 2:
            raise ValueError(
                f"IoUCounts(num_units={num_units}, num_concepts={num_concepts}): need >= 1 unit "
                "and >= 2 concepts (label 0 is 'none')"
            )
        if method not in METHODS:
            raise ValueError(f"IoUCounts: method={method!r}; choose one of {METHODS}")
        if max_labels_per_image < 1:
            raise ValueError(f"max_labels_per_image={max_labels_per_image}: need >= 1")
        self.num_units, self.num_concepts = num_units, num_concepts
        self.max_labels_per_image, self.method = max_labels_per_image, method
        self.category_of = None if category_of is None else _check_categories(
            category_of, num_concepts
        )
        self.num_categories = 0 if self.category_of is None else int(self.category_of.max()) + 1

    def init(self) -> CountsState:
        u, c = self.num_units, self.num_concepts
        return CountsState(
            inter=WideCount.zeros((c, u)),
            unit_area=WideCount.zeros((u,)),
            concept_area=WideCount.zeros((c,)),
            by_category=WideCount.zeros((u, self.num_categories)),
            images=WideCount.zeros(()),
            bad_labels=jnp.zeros((), bool),
        )

    def update(self, state: CountsState, on, seg, mask) -> CountsState:
        """``on`` (B, H, W, U) bool, ``seg`` (B, K, H, W) int, ``mask`` (B,) bool; jittable.

        The same as :meth:`tally` into :meth:`empty_tally`, then :meth:`add_tally` (the two-step
        form sums many batches, or a loop over images, in int32 before one wide addition)."""
        return self.add_tally(state, self.tally(self.empty_tally(), on, seg, mask))

    def empty_tally(self) -> CountsTally:
        """Zero int32 counts for :meth:`tally`."""
        u, c = self.num_units, self.num_concepts
        zeros = functools.partial(jnp.zeros, dtype=jnp.int32)
        return CountsTally(inter=zeros((c, u)), unit_area=zeros((u,)), concept_area=zeros((c,)),
                           by_category=zeros((u, self.num_categories)), images=zeros(()),
                           bad_labels=jnp.zeros((), bool))

    def tally(self, acc: CountsTally, on, seg, mask) -> CountsTally:
        """``acc`` plus the counts of one batch (arguments as in :meth:`update`), in int32: the
        caller keeps the sum below ``MAX_BATCH_COUNT`` pixels per counter."""
        on, labels, mask = self._check(on, seg, mask)
        bad = (labels < 0) | (labels >= self.num_concepts)
        labels = jnp.where(bad | ~mask[:, None, None], 0, labels)
        labels = drop_repeats_across_channels(labels)
        bad_labels = acc.bad_labels | jnp.any(bad & mask[:, None, None])
        if self.method == "sorted":
            return self._tally_sorted(acc, on, labels, mask, bad_labels)
        present = labels_present(labels, self.num_concepts)  # (B, C)
        on_counts = on.astype(self._table_type(on.shape[1]))  # one conversion, used twice
        area = jnp.sum(on_counts, axis=1, dtype=jnp.int32)  # exact: at most P per image
        area_per_image = jnp.where(mask[:, None], area, 0)  # (B, U)
        return CountsTally(
            inter=self._intersect(on_counts, labels, present, acc.inter),
            unit_area=acc.unit_area + area_per_image.sum(axis=0),
            # label 0 is counted here too (and dropped in add_tally)
            concept_area=acc.concept_area.at[labels.reshape(-1)].add(1),
            by_category=acc.by_category + self._area_by_category(area_per_image, present),
            images=acc.images + jnp.sum(mask, dtype=jnp.int32),
            bad_labels=bad_labels,
        )

    def _tally_sorted(self, acc, on, labels, mask, bad_labels) -> CountsTally:
        """:meth:`tally` with no scatter (``method="sorted"``)."""
        slots = self.max_labels_per_image
        flat, rank, distinct = sorted_slots.sorted_labels(labels)
        area = jnp.where(mask[:, None], jnp.sum(on, axis=1, dtype=jnp.int32), 0)  # (B, U)

        def count_chunk(chunk, sums):
            inter, concept_area = sorted_slots.count_chunk(on, labels, flat, rank, chunk, slots,
                                                           self.num_concepts)
            return sums[0] + inter, sums[1] + concept_area

        chunks = (jnp.max(distinct) + slots - 1) // slots
        inter, concept_area = jax.lax.fori_loop(0, chunks, count_chunk,
                                                (acc.inter, acc.concept_area))
        by_category = acc.by_category
        if self.category_of is not None:
            carries = sorted_slots.carries_category(flat, jnp.asarray(self.category_of),
                                                    self.num_categories)
            by_category = by_category + jnp.einsum("bu,bg->ug", area, carries.astype(jnp.int32))
        return CountsTally(inter=inter, unit_area=acc.unit_area + area.sum(axis=0),
                           concept_area=concept_area, by_category=by_category,
                           images=acc.images + jnp.sum(mask, dtype=jnp.int32),
                           bad_labels=bad_labels)

    def add_tally(self, state: CountsState, tally: CountsTally) -> CountsState:
        """Add a :meth:`tally` to the wide counts of ``state``."""
        return CountsState(
            inter=state.inter.add(tally.inter),
            unit_area=state.unit_area.add(tally.unit_area),
            concept_area=state.concept_area.add(  # label 0 dropped (a select, not a scatter)
                jnp.where(jnp.arange(self.num_concepts) == 0, 0, tally.concept_area)),
            by_category=state.by_category.add(tally.by_category),
            images=state.images.add(tally.images),
            bad_labels=state.bad_labels | tally.bad_labels,
        )

    def _check(self, on, seg, mask):
        on, seg, mask = jnp.asarray(on), jnp.asarray(seg), jnp.asarray(mask, bool)
        if on.ndim != 4 or on.shape[-1] != self.num_units:
            raise ValueError(f"IoUCounts: on must be (B, H, W, {self.num_units}), got {on.shape}")
        if seg.ndim != 4 or seg.shape[0] != on.shape[0] or seg.shape[2:] != on.shape[1:3]:
            raise ValueError(
                f"IoUCounts: seg must be (B, K, H, W) = ({on.shape[0]}, K, {on.shape[1]}, "
                f"{on.shape[2]}) to match on {on.shape}, got {seg.shape}"
            )
        if on.dtype != jnp.bool_:
            raise ValueError(f"IoUCounts: on must be bool (activation > threshold), got {on.dtype}")
        if not jnp.issubdtype(seg.dtype, jnp.integer):
            raise ValueError(f"IoUCounts: seg must hold integer labels, got {seg.dtype}")
        if mask.shape != (on.shape[0],):
            raise ValueError(f"IoUCounts: mask shape {mask.shape} != ({on.shape[0]},)")
        batch, height, width, units = on.shape
        check_batch_count(batch * height * width, "IoUCounts.update")
        labels = seg.reshape(batch, seg.shape[1], height * width).astype(jnp.int32)
        return on.reshape(batch, height * width, units), labels, mask

    def _table_type(self, pixels: int):
        """int16 tables (half the memory) while counts per image fit; bfloat16 0/1 for the
        matmuls (accumulated in float32: exact below 2**24 pixels per image)."""
        if self.method != "scatter":
            if pixels >= 1 << 24:
                raise ValueError(f"IoUCounts(method={self.method!r}): {pixels} pixels per image; "
                                 "use method='scatter'")
            return jnp.bfloat16
        return jnp.int16 if pixels < 1 << 15 else jnp.int32

    def _intersect(self, on_counts, labels, present, inter):
        """(B, P, U) on-map as counts, (B, K, P) labels, (B, C) presence: (C, U) int32 ``inter``
        plus the batch's intersections."""
        slots, units = self.max_labels_per_image, on_counts.shape[-1]
        rank, chunks = label_ranks(present, slots)
        per_slot = _scatter_into_slots if self.method == "scatter" else _multiply_into_slots

        def count_chunk(chunk, inter):
            slot, label_of_slot = chunk_slots(labels, present, rank, chunk, slots)
            tables = jax.vmap(per_slot, in_axes=(0, 0, None))(on_counts, slot, slots)
            return inter.at[label_of_slot.reshape(-1)].add(tables.reshape(-1, units))

        return jax.lax.fori_loop(0, chunks, count_chunk, inter)

    def _area_by_category(self, area_per_image, present):
        """(B, U) on-pixels per image -> (U, G) summed over images carrying category g."""
        if self.category_of is None:
            return jnp.zeros((self.num_units, 0), jnp.int32)
        member = np.zeros((self.num_concepts, self.num_categories), np.float32)
        has = self.category_of >= 0
        member[np.flatnonzero(has), self.category_of[has]] = 1.0
        carries = (present.astype(jnp.float32) @ jnp.asarray(member)) > 0  # (B, G)
        return jnp.einsum("bu,bg->ug", area_per_image, carries.astype(jnp.int32))

    def merge(self, a: CountsState, b: CountsState) -> CountsState:
        """Exact sum of two states over disjoint data."""
        return CountsState(
            inter=a.inter.merge(b.inter),
            unit_area=a.unit_area.merge(b.unit_area),
            concept_area=a.concept_area.merge(b.concept_area),
            by_category=a.by_category.merge(b.by_category),
            images=a.images.merge(b.images),
            bad_labels=a.bad_labels | b.bad_labels,
        )

    def finalize(self, state: CountsState) -> CountsResult:
        """Host-side int64 counts. Raises if any label was outside ``[0, num_concepts)``."""
        if bool(to_host(state.bad_labels)):
            raise ValueError(
                f"IoUCounts: a label map holds values outside [0, {self.num_concepts}); check "
                "num_concepts against the concept vocabulary of the segmentation"
            )
        return CountsResult(
            inter=state.inter.to_numpy().T.copy(),
            unit_area=state.unit_area.to_numpy(),
            concept_area=state.concept_area.to_numpy(),
            unit_area_by_category=(
                state.by_category.to_numpy() if self.category_of is not None else None
            ),
            num_images=int(state.images.to_numpy()),
        )


def _scatter_into_slots(on, slot, slots: int) -> jax.Array:
    """One image: (P, U) int on-map, (K, P) slots -> (slots, U) int32 on-pixels per slot."""
    table = jnp.zeros((slots + 1, on.shape[-1]), on.dtype)  # row `slots`: not in this chunk
    for channel in range(slot.shape[0]):  # one scatter per channel: no K-fold copy of rows
        table = table.at[slot[channel]].add(on)
    return table[:slots].astype(jnp.int32)


def _multiply_into_slots(on, slot, slots: int) -> jax.Array:
    """Same as :func:`_scatter_into_slots` with a 0/1 (P, slots) matrix, made by comparisons
    (a label in two channels counts once), and a matmul with float32 accumulation."""
    one_hot = jnp.any(slot[..., None] == jnp.arange(slots, dtype=slot.dtype), axis=0)
    return jnp.einsum("pm,pu->mu", one_hot.astype(on.dtype), on,
                      preferred_element_type=jnp.float32).astype(jnp.int32)


def _check_categories(category_of, num_concepts: int) -> np.ndarray:
    category_of = np.asarray(category_of)
    if category_of.shape != (num_concepts,) or not np.issubdtype(category_of.dtype, np.integer):
        raise ValueError(
            f"category_of must be ({num_concepts},) integers (category per concept, -1 none), "
            f"got {category_of.shape} {category_of.dtype}"
        )
    if category_of.min() < -1 or category_of.max() < 0:
        raise ValueError("category_of: categories are 0..G-1 (-1 for none), at least one")
    return category_of.astype(np.int64)
