"""Read saved dissection results for the report: one layer folder, or every layer under a folder.

A layer folder is any folder holding a ``report.json`` with a ``units`` list (written by
``jaxdissect.dissection.results.save_result``; see its docstring for the files). The report reads

* ``report.json`` (required): ``units`` with ``unit``, ``label``, ``iou`` and ``category`` (or the
  reference's ``cat``), optional ``threshold``, ``interpretable``, ``by_category`` and ``image``;
  top-level ``layer``, ``preset``, ``quantile``, ``miniou``, ``iou_rule``, ``num_images``,
  ``categories`` and ``detectors``, each optional;
* ``image/unit<u>.jpg`` or ``.png``: the unit strips, when rendered;
* ``inter.npy``, ``unit_area.npy``, ``concept_area.npy``, ``unit_area_by_category.npy``: counts for
  the CSV, and ``iou.npy`` with ``concepts.csv``: each unit's runner-up concepts, when present.

Missing optional fields fall back: miniou 0.04, the folder name as layer name, detector counts
recomputed from the units (the per-category rule needs ``by_category``; without it that count is
``None``). A ``report.json`` in the published PNAS 2020 form (``{unit, iou, label, cat, image}``)
is therefore readable too.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jaxdissect.dissection.labels import tally_detectors
from jaxdissect.dissection.layer_files import REPORT_FILE, result_problem
from jaxdissect.report.categories import ordered_categories
from jaxdissect.report.strips import strip_filename

DEFAULT_MINIOU = 0.04
STRIP_DIR = "image"
RUNNERS_UP = 3


@dataclass
class LayerReport:
    """One layer's saved results, normalised for the pages.

    ``units``: dicts with ``unit`` (int), ``label``, ``category``, ``iou`` (float),
    ``threshold`` (float or None), ``interpretable`` (bool), ``by_category`` (dict, may be
    empty) and ``image`` (strip path relative to ``folder``, or None). ``detectors``: counts
    under both unique-detector rules (see ``detector_counts``).
    """

    folder: Path
    name: str
    run: str
    report: dict
    units: list[dict]
    miniou: float
    categories: list[str]
    detectors: dict = field(default_factory=dict)

    @property
    def display_categories(self) -> list[str]:
        """``categories`` in report order (``categories`` keeps the saved order, which indexes
        the per-category count arrays)."""
        return ordered_categories(self.categories)

    @property
    def preset(self) -> str:
        return str(self.report.get("preset", "?"))

    def array(self, name: str) -> np.ndarray | None:
        """``<folder>/<name>.npy`` if it exists, else None."""
        path = self.folder / f"{name}.npy"
        return np.load(path) if path.is_file() else None


def _normal_unit(raw: dict, index: int, folder: Path, miniou: float, where: Path) -> dict:
    missing = [key for key in ("unit", "label", "iou") if key not in raw]
    if "category" not in raw and "cat" not in raw:
        missing.append("category")
    if missing:
        raise ValueError(f"{where}: units[{index}] lacks {', '.join(missing)}; a dissection "
                         f"report.json lists unit, label, category and iou for every unit")
    unit, iou = int(raw["unit"]), float(raw["iou"])
    return {
        "unit": unit,
        "label": str(raw["label"]),
        "category": str(raw.get("category", raw.get("cat"))),
        "iou": iou,
        "threshold": None if raw.get("threshold") is None else float(raw["threshold"]),
        "interpretable": bool(raw.get("interpretable", iou > miniou)),
        "by_category": raw.get("by_category") or {},
        "image": find_strip(folder, unit, raw.get("image")),
    }


def find_strip(folder: Path, unit: int, named: str | None = None) -> str | None:
    """The unit's strip path relative to ``folder``: ``named`` if that file exists, else
    ``image/unit<u>.jpg`` or ``.png``, else None."""
    candidates = ([named] if named else []) + [
        f"{STRIP_DIR}/{strip_filename(unit, fmt)}" for fmt in ("jpg", "png")
    ]
    return next((c for c in candidates if (folder / c).is_file()), None)


def load_layer(folder: str | Path, results_dir: str | Path | None = None) -> LayerReport:
    """Read one layer folder; ``run`` is its parent's path relative to ``results_dir``.

    A folder with a manifest must match it (a damaged result is an error naming the file)."""
    folder = Path(folder)
    path = folder / REPORT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no {REPORT_FILE}; is it a dissection result?")
    if (problem := result_problem(folder)) is not None:
        raise ValueError(f"{folder}: {problem}; the result is damaged: run the same dissection "
                         "again, it recomputes damaged layers")
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); re-run the dissection") from None
    if not isinstance(report, dict) or not isinstance(report.get("units"), list):
        raise ValueError(f"{path} has no 'units' list; it is not a dissection report")
    miniou = float(report.get("miniou", DEFAULT_MINIOU))
    units = [_normal_unit(u, i, folder, miniou, path) for i, u in enumerate(report["units"])]
    units.sort(key=lambda u: u["unit"])
    categories = report.get("categories") or ordered_categories(u["category"] for u in units)
    run = "."
    if results_dir is not None and folder.resolve() != Path(results_dir).resolve():
        run = folder.parent.resolve().relative_to(Path(results_dir).resolve()).as_posix()
    layer = LayerReport(folder, str(report.get("layer", folder.name)), run, report, units,
                        miniou, list(categories))
    layer.detectors = report.get("detectors") or detector_counts(units, miniou, layer.categories)
    attach_runners_up(layer)
    return layer


def read_concepts(path: Path) -> tuple[list[str], list[str]] | None:
    """Names and categories indexed by concept number from a ``number,name,category`` CSV
    (concept 0, "none", included), or None when the file is absent or incomplete."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as f:
        rows = {int(r["number"]): (r["name"], r["category"]) for r in csv.DictReader(f)}
    size = max(rows, default=0) + 1
    if any(n not in rows for n in range(1, size)):
        return None
    rows.setdefault(0, ("-", "none"))
    return [rows[n][0] for n in range(size)], [rows[n][1] for n in range(size)]


def attach_runners_up(layer: LayerReport, count: int = RUNNERS_UP) -> None:
    """Set ``unit["runners_up"]``: the next best ``(label, category, iou)`` after the unit's label,
    from ``iou.npy`` and ``concepts.csv`` when saved, else the best of each other category."""
    concepts = read_concepts(layer.folder / "concepts.csv")
    iou = layer.array("iou")
    usable = (concepts is not None and iou is not None and iou.ndim == 2
              and iou.shape[1] == len(concepts[0])
              and all(0 <= u["unit"] < iou.shape[0] for u in layer.units))
    for unit in layer.units:
        if usable:
            row = iou[unit["unit"]]
            order = np.argsort(-row[1:], kind="stable")[: count + 1] + 1
            ranked = [(concepts[0][c], concepts[1][c], float(row[c])) for c in order]
        else:
            ranked = sorted(((best["label"], cat, float(best["iou"]))
                             for cat, best in unit["by_category"].items()),
                            key=lambda item: -item[2])
        unit["runners_up"] = [item for item in ranked if item[0] != unit["label"]
                              and item[2] > 0][:count]


def detector_counts(units: list[dict], miniou: float, categories: list[str]) -> dict:
    """Unique-detector counts under both rules (:func:`jaxdissect.dissection.labels.
    tally_detectors`), from normalised units (when the saved report has none), labels counted
    by name. ``unique_per_category`` is None without ``by_category``."""
    overall = {cat: [u["label"] for u in units if u["interpretable"] and u["category"] == cat]
               for cat in categories}
    per = None
    if units and all(u["by_category"] for u in units):
        per = {cat: [u["by_category"][cat]["label"] for u in units
                     if cat in u["by_category"] and u["by_category"][cat]["iou"] > miniou]
               for cat in categories}
    return tally_detectors(miniou, len(units), sum(u["interpretable"] for u in units), overall,
                           per)


def natural_key(text: str) -> list:
    """Sort key that orders ``conv2`` before ``conv10`` and ``layer4`` after ``layer3``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def find_layers(results_dir: str | Path) -> list[LayerReport]:
    """Every layer folder under ``results_dir`` (itself included), by run, then layer name.

    Hidden folders (a dissection being written) are skipped.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder {results_dir} does not exist")
    folders = [p.parent for p in results_dir.rglob("report.json")
               if not any(part.startswith(".") for part in p.relative_to(results_dir).parts)]
    layers = [load_layer(folder, results_dir) for folder in folders]
    if not layers:
        raise FileNotFoundError(f"no dissection results (report.json) under {results_dir}; "
                                f"run `jaxdissect dissect` first, or point at its output folder")
    return sorted(layers, key=lambda lay: (natural_key(lay.run), natural_key(lay.name)))
