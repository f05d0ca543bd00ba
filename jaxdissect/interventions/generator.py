"""GAN interventions with a segmenter in the loop (PNAS 2020, section 3): removal and insertion.

``segment`` is any function ``images -> (N, K, h, w)`` int multi-label maps (0 = none), called
on the generator's output (a :class:`~jaxdissect.models.segmenter.segment.Segmenter` fits); a
pixel shows a concept when any of its K channels carries it.

* :func:`remove_concept_units`: zero the ``k`` units ranked first (by IoU with a concept) for
  every ``k`` asked, and count the concept's pixels in the segmented output; the fraction left is
  ``pixels(k) / pixels(0)`` over all samples. Several ``k`` run in one compiled call.
* insertion: :mod:`.insertion` (it shares :func:`edited_concept_masks`).

Memory: a chunk of E edits generates and segments ``E x B`` images (B the global batch); the
segmenter runs outside the generator's compiled call (it may be a jitted function of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.interventions.sweep import ablation_edits, layer_width, sweep
from jaxdissect.models.base import Net

Segment = Callable[[jax.Array], jax.Array]


@jax.jit
def concept_shown(labels: jax.Array, concept: jax.Array) -> jax.Array:
    """(N, K, h, w) int labels -> (N, h, w) bool: some channel carries ``concept``."""
    return jnp.any(labels == concept, axis=1)


@jax.jit
def _sample_major(images: jax.Array) -> jax.Array:
    """(E, B, ...) -> (B * E, ...): the edits of one sample adjacent, so the rows stay on the
    device that holds the sample (no data moves between devices)."""
    return jnp.swapaxes(images, 0, 1).reshape(-1, *images.shape[2:])


@partial(jax.jit, static_argnames="edits")
def _edit_major(x: jax.Array, edits: int) -> jax.Array:
    """The inverse of :func:`_sample_major`: (B * E, ...) -> (E, B, ...)."""
    return jnp.swapaxes(x.reshape(-1, edits, *x.shape[1:]), 0, 1)


def edited_concept_masks(segment: Segment, images: jax.Array, concept: int) -> jax.Array:
    """Generated images (E, B, H, W, 3) of a chunk of edits -> (E, B, h, w) bool: where the
    segmentation shows ``concept``."""
    labels = segment(_sample_major(images))
    return _edit_major(concept_shown(labels, jnp.int32(concept)), images.shape[0])


@jax.jit
def _pixel_counts(shows: jax.Array) -> jax.Array:
    """(E, B, h, w) bool -> (E, B) int32 concept pixels of each edit and sample."""
    return shows.sum(axis=(2, 3), dtype=jnp.int32)


@dataclass(frozen=True)
class RemovalResult:
    """``removed`` (n,) numbers of units zeroed; ``pixels`` (n,) int64 concept pixels over all
    samples; ``fraction`` (n,) = pixels / pixels with nothing removed; ``units`` the ranking."""

    removed: np.ndarray
    pixels: np.ndarray
    fraction: np.ndarray
    units: np.ndarray


def remove_concept_units(
    net: Net,
    layer: str,
    ranked_units: Sequence[int],
    batches: Iterable[Mapping[str, np.ndarray]],
    segment: Segment,
    concept: int,
    *,
    removed: Sequence[int] | None = None,
    input_key: str = "z",
    chunk_size: int = 8,
    devices: sharding.Devices = None,
) -> RemovalResult:
    """Zero the first ``k`` of ``ranked_units`` for each ``k`` in ``removed`` (default 0 ..
    len(ranked_units)) and count ``concept`` pixels. ``batches``: dicts with ``input_key``
    (B, Z) latents and ``mask`` (B,) bool; one pass."""
    ranked = np.asarray(ranked_units, np.int64)
    ks = np.asarray(range(len(ranked) + 1) if removed is None else removed, np.int64)
    if ks.size == 0 or ks.min() < 0 or ks.max() > len(ranked):
        raise ValueError(f"removed counts must be in 0..{len(ranked)} (the ranked units given)")
    if 0 not in ks:
        raise ValueError("removed must include 0: the fraction is relative to the unedited output")
    sets = [ranked[:k] for k in ks]
    counts = remove_unit_sets(net, layer, sets, batches, segment, concept, input_key=input_key,
                              chunk_size=chunk_size, devices=devices)
    base = counts[int(np.flatnonzero(ks == 0)[0])]
    fraction = counts / base if base else np.full(len(counts), np.nan)
    return RemovalResult(removed=ks, pixels=counts, fraction=fraction, units=ranked)


def remove_unit_sets(
    net: Net,
    layer: str,
    unit_sets: Sequence[Sequence[int]],
    batches: Iterable[Mapping[str, np.ndarray]],
    segment: Segment,
    concept: int,
    *,
    input_key: str = "z",
    chunk_size: int = 8,
    devices: sharding.Devices = None,
) -> np.ndarray:
    """int64 (S,): ``concept`` pixels over all samples with each set of ``unit_sets`` zeroed
    (an empty set: the unedited output), every set in one pass over ``batches``."""
    def edits(batch):
        width = layer_width(net, layer, batch[input_key].shape)[-1]
        sets = np.zeros((len(unit_sets), width), bool)
        for row, units in enumerate(unit_sets):
            sets[row, np.asarray(units, np.int64)] = True
        return ablation_edits(layer, sets)

    def measure(batch, outputs):
        return _pixel_counts(edited_concept_masks(segment, outputs[0], concept))

    return sweep(net, batches, edits, measure, inputs=input_key, chunk_size=chunk_size,
                 devices=devices)


def removal_json(result: RemovalResult, concept_name: str, layer: str,
                 title: str | None = None) -> dict:
    """The ``removal_curves`` plot (:mod:`jaxdissect.report.experiment_kinds`; one curve),
    plus the pixel counts and the units in the order removed."""
    if not result.pixels[result.removed == 0].any():
        raise ValueError(f"the unedited outputs show no {concept_name} pixels, so the fraction "
                         "left is undefined; use more samples or another concept")
    return {
        "kind": "removal_curves",
        "title": title or f"{layer}: removing the units most aligned with {concept_name}",
        "layer": layer, "concept": concept_name, "xlabel": f"{concept_name} units removed",
        "ylabel": f"fraction of {concept_name} pixels left", "x_scale": "linear",
        "curves": [{"name": concept_name, "removed": [int(k) for k in result.removed],
                    "accuracy": [float(f) for f in result.fraction],
                    "pixels": [int(p) for p in result.pixels]}],
        "units": [int(u) for u in result.units],
    }
