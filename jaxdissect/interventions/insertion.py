"""Concept insertion in a GAN, by context (PNAS 2020, section 3: door insertion).

:func:`insert_concept_units` sets the chosen units (e.g. the 20 with the highest IoU with
``door``) to high values (their 0.995 quantile: :func:`unit_quantiles`, or given) at one
feature-map cell, for every cell (or the ``locations`` given) and every sample. It counts the
pixels that show the concept in the segmented output after the insertion and did not before,
and groups them by the *context*: the label of the unedited output's segmentation at that cell,
i.e. the most frequent label of channel ``context_channel`` (0: objects, in the merged
segmenter's layout) among the segmentation pixels the cell covers, ties to the lower label
(:func:`location_contexts`). Context 0 means "no label".

Each chunk of ``E`` cells runs the generator once per batch with ``Net.apply_edits``, then the
segmenter on ``E x B`` images (see :mod:`.generator` for the ``segment`` protocol and memory),
in one :func:`~.sweep.sweep`; the new pixels of every (cell, sample) pair are grouped by
context on the host (cells x samples integers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats as scipy_stats

from jaxdissect import sharding
from jaxdissect.interventions.generator import Segment, concept_shown, edited_concept_masks
from jaxdissect.interventions.sweep import PlacedNet, layer_width, sweep
from jaxdissect.models.base import Net
from jaxdissect.models.edits import UnitEdit


def unit_quantiles(net: Net, layer: str, batches: Iterable[Mapping[str, np.ndarray]],
                   q: float = 0.005, *, input_key: str = "z",
                   devices: sharding.Devices = None) -> np.ndarray:
    """float32 (U,): each unit's exact ``1 - q`` quantile over every cell of every valid sample
    (:class:`~jaxdissect.stats.quantile.ExactQuantile`; a few passes, so ``batches`` must be
    re-iterable: a list or a ``Batches``)."""
    from jaxdissect.stats.quantile import ExactQuantile

    if iter(batches) is batches:
        raise ValueError("unit_quantiles streams the data several times; pass re-iterable "
                         "batches (a list or a Batches), not an iterator")
    runner = PlacedNet.create(net, devices)
    acts_of = jax.jit(lambda params, x: net.module.apply({"params": params}, x,
                                                         layers=(layer,))[1][layer])
    quantile, state, update = None, None, None
    while True:
        seen = 0
        window = sharding.StepWindow()  # the updates sum over devices: see StepWindow
        for batch in batches:
            placed = runner.place(batch)
            acts = acts_of(runner.net.params, placed[input_key])
            if quantile is None:
                quantile = ExactQuantile(num_units=int(acts.shape[-1]), q=q)
                state, update = quantile.init(), jax.jit(quantile.update)
            state = update(state, acts, placed["mask"])
            window.add(state)
            seen += 1
        if not seen:
            raise ValueError("unit_quantiles: no batches")
        if quantile.done(state):
            break
        state = quantile.next_pass(state)
        if quantile.done(state):
            break
    return quantile.finalize(state)


def location_contexts(labels: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """int64 (B, h, w): the most frequent label (ties: the lower) of ``labels`` (B, H, W) among
    the pixels each cell of an (h, w) grid covers (rows ``i*H//h .. max((i+1)*H//h, i*H//h+1)
    - 1``, columns alike)."""
    labels = np.asarray(labels)
    b, height, width = labels.shape
    h, w = grid
    out = np.zeros((b, h, w), np.int64)
    for i in range(h):
        r0 = i * height // h
        r1 = max((i + 1) * height // h, r0 + 1)
        for j in range(w):
            c0 = j * width // w
            c1 = max((j + 1) * width // w, c0 + 1)
            block = labels[:, r0:r1, c0:c1].reshape(b, -1)
            out[:, i, j] = scipy_stats.mode(block, axis=1, keepdims=False).mode
    return out


def insertion_edits(layer: str, units: Sequence[int], values, locations: np.ndarray,
                    grid: tuple[int, int], num_units: int) -> dict[str, UnitEdit]:
    """Stacked edits (one per row of ``locations`` (L, 2)) setting ``units`` to ``values``
    (scalar or (U,)) at that cell only."""
    chosen = np.zeros(num_units, np.float32)
    chosen[np.asarray(units, np.int64)] = 1
    vals = np.broadcast_to(np.asarray(values, np.float32), (num_units,))
    where = np.zeros((len(locations), *grid), np.float32)
    where[np.arange(len(locations)), locations[:, 0], locations[:, 1]] = 1
    count = len(locations)
    return {layer: UnitEdit(units=np.tile(chosen, (count, 1)), values=np.tile(vals, (count, 1)),
                            where=where)}


@dataclass(frozen=True)
class InsertionResult:
    """Per context label c (index = label number, length = the largest label seen + 1):
    ``new_pixels`` int64 total new concept pixels after insertions at cells labelled c,
    ``insertions`` int64 how many insertions that was. ``per_location`` int64 (h, w): new
    pixels by cell. ``units``: the units inserted; ``values``: float32 (U,) values written."""

    new_pixels: np.ndarray
    insertions: np.ndarray
    per_location: np.ndarray
    units: np.ndarray
    values: np.ndarray


@jax.jit
def _new_pixels(after: jax.Array, before: jax.Array) -> jax.Array:
    """after (E, B, h, w), before (B, h, w) bool -> (E, B) int32 new pixels."""
    return (after & ~before[None]).sum(axis=(2, 3), dtype=jnp.int32)


def _check_locations(locations, grid) -> np.ndarray:
    if locations is None:
        return np.array([(i, j) for i in range(grid[0]) for j in range(grid[1])], np.int64)
    locations = np.asarray(locations, np.int64).reshape(-1, 2)
    bad = (locations < 0).any(axis=1) | (locations >= np.asarray(grid)).any(axis=1)
    if bad.any():
        raise ValueError(f"locations {locations[bad].tolist()} are outside the {grid} map")
    return locations


def insert_concept_units(
    net: Net,
    layer: str,
    units: Sequence[int],
    values,
    batches: Iterable[Mapping[str, np.ndarray]],
    segment: Segment,
    concept: int,
    *,
    locations: Sequence[tuple[int, int]] | None = None,
    context_channel: int = 0,
    input_key: str = "z",
    chunk_size: int = 16,
    devices: sharding.Devices = None,
) -> InsertionResult:
    """Insert ``units`` at ``values`` (scalar or (U,) float) at each of ``locations`` (default:
    every cell of the layer's map) for every sample; see the module docstring. One pass."""
    grid: list = []  # (h, w, U) of the layer, from the first batch
    contexts: list = []  # per batch, (valid samples, h, w) context labels

    def edits(batch):
        grid.extend(layer_width(net, layer, batch[input_key].shape))
        cells = _check_locations(locations, tuple(grid[:2]))
        return insertion_edits(layer, units, values, cells, tuple(grid[:2]), grid[2])

    def unedited(placed_net, batch, x):
        """The concept and the contexts where nothing is inserted (once per batch)."""
        labels = segment(placed_net(x)[0])
        valid = sharding.to_host(batch["mask"]).astype(bool)
        contexts.append(location_contexts(
            sharding.to_host(labels[:, context_channel])[valid], tuple(grid[:2])))
        return {"before": concept_shown(labels, jnp.int32(concept))}

    def measure(batch, outputs):
        return _new_pixels(edited_concept_masks(segment, outputs[0], concept), batch["before"])

    # Per sample: the new pixels are grouped by each sample's context at the edited cell.
    new = sweep(net, batches, edits, measure, inputs=input_key, chunk_size=chunk_size,
                devices=devices, per_batch=unedited, per_sample=True)  # (cells, samples)
    h, w, width = grid
    cells = _check_locations(locations, (h, w))
    per_location = np.zeros((h, w), np.int64)
    np.add.at(per_location, (cells[:, 0], cells[:, 1]), new.sum(axis=1))
    labels = np.concatenate(contexts)[:, cells[:, 0], cells[:, 1]].T  # (cells, samples)
    new_pixels = _add_counts(np.zeros(0, np.int64), labels.ravel(), new.ravel())
    insertions = _add_counts(np.zeros(0, np.int64), labels.ravel(),
                             np.ones(labels.size, np.int64))
    return InsertionResult(new_pixels, insertions, per_location, np.asarray(units, np.int64),
                           np.broadcast_to(np.asarray(values, np.float32), (width,)).copy())


def _add_counts(total: np.ndarray, labels: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """``total`` (int64, grown as needed) plus ``amounts`` summed by ``labels``."""
    size = max(len(total), int(labels.max(initial=-1)) + 1)
    grown = np.zeros(size, np.int64)
    grown[:len(total)] = total
    np.add.at(grown, labels, amounts.astype(np.int64))
    return grown


def _padded(counts: np.ndarray, size: int) -> np.ndarray:
    """``counts`` with zeros appended up to ``size``."""
    return np.concatenate([counts, np.zeros(max(size - len(counts), 0), counts.dtype)])


def insertion_json(result: InsertionResult, concept_name: str, label_names: Sequence[str],
                   layer: str, title: str | None = None,
                   random: Sequence[InsertionResult] = ()) -> dict:
    """The ``insertion_context`` plot (:mod:`jaxdissect.report.experiment_kinds`): one entry
    per context that received insertions, plus ``per_location`` (h x w new pixels) and the
    inserted values. ``random``: the same insertion with random unit sets on the same samples
    and cells (so the same contexts); each context then has ``random_new_pixels`` (one count
    per set) and the JSON lists the sets as ``random_units``."""
    for other in random:
        if not np.array_equal(_padded(other.insertions, len(result.insertions)),
                              _padded(result.insertions, len(other.insertions))):
            raise ValueError("a random baseline must insert at the same cells of the same "
                             "samples as the concept's units (same latents, same locations)")
    contexts = []
    for c in np.flatnonzero(result.insertions):
        entry = {"label": label_names[c] if c < len(label_names) else str(c), "number": int(c),
                 "new_pixels": int(result.new_pixels[c]),
                 "locations": int(result.insertions[c])}
        if random:
            entry["random_new_pixels"] = [int(_padded(r.new_pixels, c + 1)[c]) for r in random]
        contexts.append(entry)
    extra = {"random_units": [[int(u) for u in r.units] for r in random]} if random else {}
    return {
        "kind": "insertion_context", "concept": concept_name, "layer": layer,
        "title": title or f"Inserting {concept_name} units at {layer}",
        "units": [int(u) for u in result.units],
        "values": [float(result.values[u]) for u in result.units],
        "contexts": contexts,
        "per_location": result.per_location.tolist(),
        **extra,
    }
