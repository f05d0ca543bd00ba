"""Result files in published layouts: ``report.json`` (PNAS 2020) and ``tally.csv`` (NetDissect).

``report.json``: the published form is ``{"header": {"name", "image"}, "units": [{"unit", "iou",
"label", "cat", "image"}]}``. The dissection writes ``category``; ``publish_report_json`` adds
``cat`` beside it, ``image`` where a strip exists, and a ``header``, keeping every other field, so
tools written for the reference read our folders.

``tally.csv``: the column layout of NetDissect (CVPR 2017) ``<layer>-result.csv`` and
NetDissect-Lite ``tally.csv``: ``unit, category, label, score``, then for each category ``c``
(in report order: object, part, material, texture, colour, scene) ``c-label, c-truth,
c-activation, c-intersect, c-iou``: the unit's best concept within ``c``, that concept's pixel
count, the unit's on-pixel count, their intersection, and the IoU. Rows are sorted by score,
highest first; ``category, label, score`` are the unit's best over all categories.

Differences from the reference: units are numbered from 0 (as everywhere in jaxdissect; the
reference CSV starts at 1); ``c-activation`` is the unit's on-area counted in images carrying a
label of ``c`` (the reference's rule) only when the dissection used the ``per_category`` IoU
rule, and the whole-data-set on-area under the ``pooled`` rule, so that ``iou = intersect /
(activation + truth - intersect)`` holds on every row; count columns are left empty when the
count arrays were not saved.
"""

from __future__ import annotations

import csv
from pathlib import Path

from jaxdissect.dissection.layer_files import write_report_json
from jaxdissect.outputs import write_file
from jaxdissect.report.layers import LayerReport

CSV_NAME = "tally.csv"
FIELDS_PER_CATEGORY = ("label", "truth", "activation", "intersect", "iou")


def publish_report_json(layer: LayerReport, chart: str = "concepts.svg") -> bool:
    """Add the published fields (``cat``, ``image``, ``header``) to ``report.json`` where missing.

    Rewrites the file atomically, only when something changed; returns whether it did.
    """
    report = layer.report
    changed = False
    images = {u["unit"]: u["image"] for u in layer.units}
    for unit in report["units"]:
        if "cat" not in unit and "category" in unit:
            unit["cat"] = unit["category"]
            changed = True
        image = images.get(int(unit["unit"]))
        if image and unit.get("image") != image:
            unit["image"] = image
            changed = True
    if "header" not in report:
        name = " ".join(str(p) for p in (report.get("model"), layer.name, layer.preset) if p)
        report["header"] = {"name": name, "image": chart}
        changed = True
    if changed:
        write_report_json(layer.folder, report)
    return changed


def csv_fields(categories: list[str]) -> list[str]:
    """The header: ``unit, category, label, score`` then five columns per category."""
    fields = ["unit", "category", "label", "score"]
    for cat in categories:
        fields += [f"{cat}-{name}" for name in FIELDS_PER_CATEGORY]
    return fields


def _count_arrays(layer: LayerReport) -> dict:
    arrays = {name: layer.array(name) for name in ("inter", "unit_area", "concept_area",
                                                    "unit_area_by_category")}
    if layer.report.get("iou_rule") != "per_category":
        arrays["unit_area_by_category"] = None
    return arrays


def _category_cells(unit: dict, cat: str, position: int, arrays: dict) -> dict:
    best = unit["by_category"].get(cat)
    if best is None:
        return {}
    cells = {f"{cat}-label": best["label"], f"{cat}-iou": f"{float(best['iou']):.6f}"}
    concept, u = best.get("concept"), unit["unit"]
    inter, truth = arrays["inter"], arrays["concept_area"]
    if concept is None or inter is None or truth is None:
        return cells
    by_category, area = arrays["unit_area_by_category"], arrays["unit_area"]
    activation = by_category[u, position] if by_category is not None else (
        area[u] if area is not None else "")
    cells.update({f"{cat}-truth": int(truth[concept]), f"{cat}-intersect": int(inter[u, concept]),
                  f"{cat}-activation": "" if activation == "" else int(activation)})
    return cells


def write_tally_csv(layer: LayerReport, path: str | Path | None = None) -> Path:
    """Write the NetDissect-layout CSV of ``layer`` (default ``<folder>/tally.csv``)."""
    path = Path(path) if path is not None else layer.folder / CSV_NAME
    positions = {cat: index for index, cat in enumerate(layer.categories)}
    categories = layer.display_categories
    arrays = _count_arrays(layer)
    ordered = sorted(layer.units, key=lambda u: (-u["iou"], u["unit"]))
    rows = []
    for unit in ordered:
        row = {"unit": unit["unit"], "category": unit["category"], "label": unit["label"],
               "score": f"{unit['iou']:.6f}"}
        for cat in categories:
            row.update(_category_cells(unit, cat, positions[cat], arrays))
        rows.append(row)

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, csv_fields(categories), restval="")
            writer.writeheader()
            writer.writerows(rows)

    return write_file(path, write)
