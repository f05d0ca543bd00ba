"""Synthetic dissection results on disk, in the format the dissection writes, with real strips.

The folder layout is the one documented in ``jaxdissect.dissection.results`` (report.json with
``detectors`` and per-unit ``by_category``, units.csv, concepts.csv and the .npy arrays); IoU,
labels and detector counts come from the dissection's own ``jaxdissect.dissection.labels``
applied to made-up integer counts. Each unit "detects" one concept: its images show a bright disc
and its activation map peaks there, so the strips show masks around the discs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.labels import assign_labels, compute_iou, detector_counts
from jaxdissect.report.strips import render_unit_strips

CONCEPTS = [
    ("tree", "object"), ("sky", "object"), ("building", "object"), ("car", "object"),
    ("person", "object"), ("street", "object"), ("window", "part"), ("door", "part"),
    ("wheel", "part"), ("wood", "material"), ("glass", "material"), ("striped", "texture"),
    ("red", "color"), ("blue", "color"), ("<b>odd & label</b>", "object"),
]
ACT_SIZE, SEG_SIZE = (7, 7), (28, 28)


def vocabulary() -> ConceptVocabulary:
    return ConceptVocabulary.from_names([n for n, _ in CONCEPTS], [c for _, c in CONCEPTS])


PRESETS = {
    "pnas2020": {"quantile": 0.01, "threshold_resolution": "upsampled", "upsample": "pnas2020",
                 "iou_rule": "pooled"},
    "netdissect2017": {"quantile": 0.005, "threshold_resolution": "layer",
                       "upsample": "pnas2020", "iou_rule": "per_category"},
}


def synthetic_counts(rng, num_units: int, vocab: ConceptVocabulary, num_images: int):
    """Integer counts (int64) where unit u overlaps one favourite concept strongly."""
    num_concepts, num_cats = vocab.num_concepts, len(vocab.category_names)
    pixels = num_images * SEG_SIZE[0] * SEG_SIZE[1]
    concept_area = rng.integers(pixels // 200, pixels // 20, num_concepts).astype(np.int64)
    concept_area[0] = 0
    unit_area = np.full(num_units, pixels // 100, np.int64)
    overlap = rng.uniform(0.0, 0.04, (num_units, num_concepts))
    favourite = rng.integers(1, num_concepts, num_units)
    overlap[np.arange(num_units), favourite] = rng.uniform(0.02, 0.5, num_units)
    inter = np.floor(overlap * np.minimum(unit_area[:, None], concept_area[None, :]))
    inter = inter.astype(np.int64)
    inter[:, 0] = 0
    share = rng.uniform(0.5, 1.0, (num_units, num_cats))
    by_category = np.maximum(np.floor(unit_area[:, None] * share).astype(np.int64),
                             np.stack([inter[:, vocab.category_of == k].max(1, initial=0)
                                       for k in range(num_cats)], 1))
    return SimpleNamespace(inter=inter, unit_area=unit_area, concept_area=concept_area,
                           unit_area_by_category=by_category)


def unit_rows(labels, names, thresholds) -> list[dict]:
    """report.json ``units`` as the dissection writes them."""
    rows = []
    for u in range(len(thresholds)):
        by_category = {cat: {"label": names[int(labels.category_concept[u, k])],
                             "concept": int(labels.category_concept[u, k]),
                             "iou": float(labels.category_iou[u, k])}
                       for k, cat in enumerate(labels.category_names)}
        rows.append({"unit": u, "label": names[int(labels.concept[u])],
                     "concept": int(labels.concept[u]), "category": labels.category[u],
                     "iou": float(labels.iou[u]), "threshold": float(thresholds[u]),
                     "interpretable": bool(labels.interpretable[u]), "by_category": by_category})
    return rows


def save_layer(folder: Path, layer: str, preset: str, vocab, counts, thresholds, num_images):
    """Write the files of one layer folder (the dissection's layout)."""
    settings = {"preset": preset, **PRESETS[preset], "miniou": 0.04, "topk": 5}
    iou = compute_iou(counts, settings["iou_rule"], vocab)
    labels = assign_labels(iou, vocab, settings["miniou"])
    units = unit_rows(labels, vocab.names, thresholds)
    folder.mkdir(parents=True)
    report = {**settings, "layer": layer, "num_images": num_images, "act_size": list(ACT_SIZE),
              "seg_size": list(SEG_SIZE), "num_units": len(units),
              "num_concepts": vocab.num_concepts, "categories": list(labels.category_names),
              "detectors": detector_counts(labels, vocab), "units": units}
    (folder / "report.json").write_text(json.dumps(report, indent=1))
    with (folder / "units.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, list(units[0])[:-1], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(units)
    vocab.save_csv(folder / "concepts.csv")
    arrays = {"iou": iou, "thresholds": thresholds, "inter": counts.inter,
              "unit_area": counts.unit_area, "concept_area": counts.concept_area}
    if settings["iou_rule"] == "per_category":
        arrays["unit_area_by_category"] = counts.unit_area_by_category
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array)


def synthetic_top_images(rng, num_units: int, per_unit: int, size: int = 56):
    """uint8 (U, K, size, size, 3) images with a disc, and (U, K, 7, 7) maps peaking on it."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = np.empty((num_units, per_unit, size, size, 3), np.uint8)
    acts = np.empty((num_units, per_unit, *ACT_SIZE), np.float32)
    ay, ax = (np.mgrid[0 : ACT_SIZE[0], 0 : ACT_SIZE[1]] + 0.5) / ACT_SIZE[0]
    for u in range(num_units):
        for k in range(per_unit):
            cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.12, 0.25)
            base = rng.uniform(40, 200, 3)
            picture = base[None, None, :] * (0.6 + 0.4 * yy[..., None])
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
            picture[disc] = rng.uniform(150, 255, 3)
            images[u, k] = np.clip(picture, 0, 255).astype(np.uint8)
            acts[u, k] = 10.0 * np.exp(-((ay - cy) ** 2 + (ax - cx) ** 2) / (2 * r**2))
    return images, acts


def make_layer(folder: Path, layer: str, num_units: int = 12, preset: str = "pnas2020",
               seed: int = 0, strips: bool = True, num_images: int = 50) -> Path:
    """Write one layer result folder and, optionally, its PNG strips."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary()
    counts = synthetic_counts(rng, num_units, vocab, num_images)
    thresholds = np.full(num_units, 5.0, np.float32)
    save_layer(folder, layer, preset, vocab, counts, thresholds, num_images)
    if strips:
        images, acts = synthetic_top_images(rng, num_units, 5)
        render_unit_strips(images, acts, thresholds, folder / "image", count=5,
                           thumb_height=56, fmt="png")
    return folder


REMOVAL = {
    "kind": "removal_curves", "title": "Synthetic removal curves", "layer": "conv5",
    "ylabel": "balanced accuracy", "reference_lines": [{"name": "chance", "y": 0.5}],
    "curves": [
        {"name": "ski resort", "removed": [0, 1, 2, 3, 4, 5, 20, 64, 128, 256],
         "accuracy": [0.81, 0.78, 0.72, 0.68, 0.64, 0.62, 0.54, 0.52, 0.51, 0.5],
         "random_removed": [0, 5, 20, 256],
         "random": [[0.81, 0.81], [0.8, 0.81], [0.78, 0.8], [0.6, 0.66]]},
        {"name": "bedroom", "removed": [0, 1, 2, 3, 4, 5, 20, 64, 128, 256],
         "accuracy": [0.9, 0.88, 0.86, 0.85, 0.82, 0.8, 0.7, 0.6, 0.55, 0.52]},
        {"name": "ski resort, keep top 20", "removed": [492], "accuracy": [0.78],
         "dashed": True, "keep": 20},
    ],
}
INSERTION = {
    "kind": "insertion_context", "concept": "door", "layer": "layer4",
    "title": "Synthetic door insertion",
    "contexts": [
        {"label": "window", "new_pixels": 91000, "locations": 1000},
        {"label": "building", "new_pixels": 52000, "locations": 2000},
        {"label": "stairway", "new_pixels": 30000, "locations": 400},
        {"label": "tree", "new_pixels": 900, "locations": 3000},
        {"label": "sky", "new_pixels": 100, "locations": 5000},
    ],
}


def make_results(root: Path, num_units: int = 12) -> Path:
    """Two runs: ``vgg/`` with layers conv4 and conv5 (pnas2020), ``alex/conv5``
    (netdissect2017), and two experiment files in ``experiments/``."""
    make_layer(root / "vgg" / "conv5", "conv5", num_units, seed=1)
    make_layer(root / "vgg" / "conv4", "conv4", num_units, seed=2)
    make_layer(root / "alex" / "conv5", "conv5", num_units, preset="netdissect2017", seed=3)
    (root / "experiments").mkdir()
    (root / "experiments" / "removal.json").write_text(json.dumps(REMOVAL))
    (root / "experiments" / "door_insertion.json").write_text(json.dumps(INSERTION))
    return root


def write_run_json(folder: Path, model: str = "models/vgg16", spec: str = "folder:/data/val",
                   rows: int = 50, skipped: list[str] = ()) -> Path:
    """A ``run.json`` as ``jaxdissect dissect`` writes it (and ``data_summary.json`` when
    ``skipped`` names files)."""
    run = {
        "format": 1, "key": "ab12" * 16, "short_key": "ab12ab12ab12", "version": "0.1.0",
        "config": {"preset": "pnas2020", "quantile": 0.01, "miniou": 0.04, "topk": 100,
                   "upsample": "pnas2020", "iou_rule": "pooled"},
        "model": {"arch": "vgg16", "checkpoint_sha256": "0bafbc55" + "e" * 56, "dtype": "float32",
                  "hash_of": "source checkpoint (meta.json)"},
        "data": {"spec": spec, "rows": rows, "options": {}},
        "segmenter": {"kind": "published", "upernet": {"checkpoint_sha256": "c0ffee" + "0" * 58},
                      "colornet": {"checkpoint_sha256": "beef" + "1" * 60}},
        "settings": {"model": model, "batch_size": 32},
        "layers": {"conv4": "2026-01-02T10:00:00", "conv5": "2026-01-02T10:05:00"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(run))
    if skipped:
        summary = {"source": spec, "num_rows": rows, "num_skipped": len(skipped),
                   "skipped": [{"index": i, "name": n, "reason": "truncated"}
                               for i, n in enumerate(skipped)]}
        (folder / "data_summary.json").write_text(json.dumps(summary))
    return folder
