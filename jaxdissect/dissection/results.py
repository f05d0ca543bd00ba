"""The result of dissecting one layer, and its files on disk.

A layer's folder holds

* ``report.json``: ``{"preset", "quantile", "miniou", "upsample", "iou_rule", "topk", "layer",
  "num_images", "act_size", "seg_size", "num_units", "num_concepts", "categories",
  "detectors", "units": [{"unit", "label", "concept", "category", "iou", "threshold",
  "interpretable", "by_category": {category: {"label", "concept", "iou"}}}, ...]}``
  (``detectors`` is :func:`jaxdissect.dissection.labels.detector_counts`);
* ``units.csv``: one row per unit (unit, label, concept, category, iou, threshold,
  interpretable);
* ``concepts.csv``: the vocabulary (number, name, category);
* ``iou.npy`` float32 (U, C) (under the config's ``iou_rule``), ``thresholds.npy`` float32 (U,),
  ``inter.npy`` int64 (U, C), ``unit_area.npy`` int64 (U,), ``concept_area.npy`` int64 (C,),
  ``unit_area_by_category.npy`` int64 (U, ncat) when counted, ``topk_values.npy`` float32 (U, k),
  ``topk_indices.npy`` int64 (U, k) (dataset indices, -1 for unfilled slots);
* ``act_hist.npz`` (when the driver made the result): each unit's distribution of the values its
  threshold is taken from, as pass 0 of the exact quantile counted them: bin ``b`` holds the
  values whose order key's top ``bits`` bits equal ``b`` (about four bins per octave: a log-scale
  histogram); ``counts`` int64 (U, n) for the n bins from the lowest to the highest bin any unit
  fills, ``edges`` float32 (n + 1,) the bins' value bounds (lower bound of each bin, then the
  upper bound of the last), ``first_bin`` and ``bits``;
* ``manifest.json``: the size and SHA-256 of each file above (:mod:`jaxdissect.outputs`).

Folders are written atomically: everything goes to a temporary sibling folder which is renamed
into place at the end, so a crash never leaves a half-written result. :func:`load_result`
verifies the manifest first and raises :class:`DamagedResultError` naming the file that is
missing, truncated or changed; :func:`~jaxdissect.dissection.layer_files.result_problem` says
the same without raising (the driver then recomputes the layer).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.labels import UnitLabels, assign_labels, compute_iou, detector_counts
from jaxdissect.dissection.layer_files import REPORT_FILE, result_problem, write_report_json
from jaxdissect.dissection.presets import DissectConfig
from jaxdissect.outputs import naming, write_folder, write_manifest
from jaxdissect.stats.counts import CountsResult


@dataclass(frozen=True)
class LayerResult:
    """Everything a dissection finds for one layer. Shapes: U units, C concepts, k top images.

    thresholds float32 (U,); iou float32 (U, C) (the config's ``iou_rule``); labels per unit;
    topk_values float32 (U, k) (spatial max of the raw activation) and topk_indices int64 (U, k)
    (dataset indices, best first); act_size (h, w) of the unit maps; seg_size (H, W) of the
    concept grid.
    """

    layer: str
    config: DissectConfig
    vocabulary: ConceptVocabulary
    thresholds: np.ndarray
    counts: CountsResult
    iou: np.ndarray
    labels: UnitLabels
    topk_values: np.ndarray
    topk_indices: np.ndarray
    num_images: int
    act_size: tuple[int, int]
    seg_size: tuple[int, int]
    value_hist: np.ndarray | None = None  # int64 (bins, U), pass 0's key histogram

    @property
    def num_units(self) -> int:
        return len(self.thresholds)

    def detectors(self) -> dict:
        return detector_counts(self.labels, self.vocabulary)


def build_layer_result(layer, config, vocabulary, thresholds, counts, topk, num_images,
                       act_size, seg_size, value_hist=None) -> LayerResult:
    """Compute IoU and labels from finished statistics (``counts`` a
    :class:`~jaxdissect.stats.counts.CountsResult`, ``topk`` = (values, indices))."""
    iou = compute_iou(counts, config.iou_rule, vocabulary)
    return LayerResult(
        layer=layer, config=config, vocabulary=vocabulary,
        thresholds=np.asarray(thresholds, np.float32), counts=counts, iou=iou,
        labels=assign_labels(iou, vocabulary, config.miniou),
        topk_values=np.asarray(topk[0], np.float32), topk_indices=np.asarray(topk[1], np.int64),
        num_images=int(num_images), act_size=tuple(act_size), seg_size=tuple(seg_size),
        value_hist=None if value_hist is None else np.asarray(value_hist, np.int64),
    )


def save_value_histogram(path: Path, hist: np.ndarray) -> None:
    """Write ``act_hist.npz`` (see the module docstring) from a (2**bits, U) key histogram."""
    from jaxdissect.stats.order_key import key_to_float32

    bins = hist.shape[0]
    bits = int(bins).bit_length() - 1
    used = np.flatnonzero(hist.sum(axis=1))
    if used.size == 0:
        return
    first, last = int(used[0]), int(used[-1])
    shift = 32 - bits
    keys = np.arange(first, last + 2, dtype=np.uint64) << np.uint64(shift)
    keys = np.minimum(keys, np.uint64(0xFFFFFFFF)).astype(np.uint32)
    np.savez_compressed(path, counts=np.ascontiguousarray(hist[first:last + 1].T),
                        edges=key_to_float32(keys), first_bin=first, bits=bits)


def _unit_rows(result: LayerResult) -> list[dict]:
    labels, names = result.labels, result.vocabulary.names
    rows = []
    for u in range(result.num_units):
        by_category = {
            cat: {"label": names[int(labels.category_concept[u, k])],
                  "concept": int(labels.category_concept[u, k]),
                  "iou": float(labels.category_iou[u, k])}
            for k, cat in enumerate(labels.category_names)
        }
        rows.append({
            "unit": u, "label": names[int(labels.concept[u])], "concept": int(labels.concept[u]),
            "category": labels.category[u], "iou": float(labels.iou[u]),
            "threshold": float(result.thresholds[u]),
            "interpretable": bool(labels.interpretable[u]), "by_category": by_category,
        })
    return rows


def report_dict(result: LayerResult) -> dict:
    """The content of ``report.json``."""
    config = result.config
    return {
        **config.to_dict(), "layer": result.layer, "num_images": result.num_images,
        "act_size": list(result.act_size), "seg_size": list(result.seg_size),
        "num_units": result.num_units, "num_concepts": result.vocabulary.num_concepts,
        "categories": list(result.labels.category_names), "detectors": result.detectors(),
        "units": _unit_rows(result),
    }


class DamagedResultError(ValueError):
    """A layer folder whose files do not match its manifest (deleted, truncated, changed)."""


def _write_files(result: LayerResult, folder: Path) -> None:
    units = _unit_rows(result)
    write_report_json(folder, report_dict(result))
    with naming(folder / "units.csv"), (folder / "units.csv").open("w", newline="") as f:
        fields = ["unit", "label", "concept", "category", "iou", "threshold", "interpretable"]
        writer = csv.DictWriter(f, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(units)
    with naming(folder / "concepts.csv"):
        result.vocabulary.save_csv(folder / "concepts.csv")
    arrays = {
        "iou": result.iou, "thresholds": result.thresholds, "inter": result.counts.inter,
        "unit_area": result.counts.unit_area, "concept_area": result.counts.concept_area,
        "topk_values": result.topk_values, "topk_indices": result.topk_indices,
    }
    if result.counts.unit_area_by_category is not None:
        arrays["unit_area_by_category"] = result.counts.unit_area_by_category
    for name, array in arrays.items():
        with naming(folder / f"{name}.npy"):
            np.save(folder / f"{name}.npy", array)
    if result.value_hist is not None:
        with naming(folder / "act_hist.npz"):
            save_value_histogram(folder / "act_hist.npz", result.value_hist)
    write_manifest(folder, [p.name for p in folder.iterdir() if p.is_file()])


def check_destination(folder: str | Path, force: bool) -> Path:
    """Refuse an existing non-empty folder unless ``force``; returns the path."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} exists and is not a folder; choose another output path")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise FileExistsError(f"{folder} exists and is not empty; pass --force to replace it")
    return folder


def write_atomically(folder: str | Path, write: Callable[[Path], None], force: bool = False):
    """Run ``write(tmp)`` into a fresh temporary sibling folder, then move it to ``folder``
    (an existing non-empty ``folder`` is refused unless ``force``)."""
    return write_folder(check_destination(folder, force), write)


def save_result(result: LayerResult, folder: str | Path, force: bool = False) -> Path:
    """Write ``result`` to ``folder`` atomically (see the module docstring for the files)."""
    write_atomically(folder, lambda tmp: _write_files(result, tmp), force)
    return Path(folder)


def load_result(folder: str | Path) -> LayerResult:
    """Read a folder written by :func:`save_result` (labels are recomputed from iou.npy).

    Raises :class:`DamagedResultError` naming the file when the folder does not match its
    manifest, or (a folder without one) when a file cannot be read."""
    folder = Path(folder)
    if not (folder / REPORT_FILE).is_file():
        raise FileNotFoundError(f"{folder} holds no {REPORT_FILE}; is it a dissection result?")
    problem = result_problem(folder)
    if problem is None:
        try:
            return _read_result(folder)
        except (OSError, EOFError, ValueError, KeyError, TypeError) as err:
            problem = " ".join(f"cannot read it ({type(err).__name__}: {err})".split())
    raise DamagedResultError(f"{folder}: {problem}; the result is damaged, dissect the layer "
                             "again")


def _read_result(folder: Path) -> LayerResult:
    report = json.loads((folder / REPORT_FILE).read_text())
    # Reports written before thresholds could be taken at the layer's resolution lack the
    # setting: their thresholds were all taken over the upsampled maps.
    report.setdefault("threshold_resolution", "upsampled")
    config = DissectConfig(**{k: report[k] for k in DissectConfig.__dataclass_fields__})
    vocabulary = ConceptVocabulary.from_csv(folder / "concepts.csv")
    load = lambda name: np.load(folder / f"{name}.npy")
    by_category = folder / "unit_area_by_category.npy"
    counts = CountsResult(load("inter"), load("unit_area"), load("concept_area"),
                    np.load(by_category) if by_category.exists() else None,
                    int(report["num_images"]))
    iou = load("iou")
    return LayerResult(
        layer=report["layer"], config=config, vocabulary=vocabulary,
        thresholds=load("thresholds"), counts=counts, iou=iou,
        labels=assign_labels(iou, vocabulary, config.miniou),
        topk_values=load("topk_values"), topk_indices=load("topk_indices"),
        num_images=int(report["num_images"]), act_size=tuple(report["act_size"]),
        seg_size=tuple(report["seg_size"]),
    )
