"""Plots of the intervention experiments (SVG), from plain JSON result files.

The experiments write one JSON file each into ``<results dir>/experiments/``; the summary page
draws every file found there, and ``experiment_svg`` draws one. Three kinds are understood.

Removal curves (ablation: accuracy as units are removed; also the GAN tree-removal curve)::

    {
      "kind": "removal_curves",
      "title": "VGG16 Places365 conv5_3: removing each class's most important units",  (optional)
      "layer": "conv5_3",                                       (optional)
      "xlabel": "units removed",                                (optional)
      "ylabel": "balanced accuracy",                            (optional)
      "x_scale": "log",          (optional: "linear", or "log" for log(1 + x); default "log")
      "reference_lines": [{"name": "chance", "y": 0.5}],         (optional)
      "curves": [
        {"name": "ski resort", "removed": [0, 1, 2, 3, 4, 5, 20], "accuracy": [0.814, ...]},
        {"name": "ski resort, keep top 20", "removed": [492], "accuracy": [0.777],
         "dashed": true}                                         ("dashed" optional)
      ]
    }

``removed[i]`` is the number of units removed (an integer >= 0) and ``accuracy[i]`` the measured
value (any scale: a fraction, a pixel share); a curve with one point is drawn as a marker (a
``dashed`` one as the labelled "keep top ``keep``" point). Optional per curve: ``class`` (groups
a curve with its complement into one panel), ``keep``, and the random-unit baseline
``random_removed`` (sizes) with ``random`` (per size, one value per draw). Optional at the top:
``concept_ablation`` (the units labelled with a concept against as many random units, see
:func:`jaxdissect.interventions.ablation.concept_ablation`), ``unit_effects`` (what zeroing each
unit alone did, for the unit pages), ``pictures`` (:mod:`jaxdissect.report.pictures`) and
``finding`` (one sentence).

Insertion context (new object pixels, grouped by the original label where units were inserted)::

    {
      "kind": "insertion_context",
      "concept": "door", "layer": "layer4",
      "title": "...",                                           (optional)
      "units": [12, 85, ...],                                    (optional: the units set)
      "max_contexts": 20,                                        (optional: bars shown)
      "contexts": [
        {"label": "window", "new_pixels": 1200345, "locations": 20311},
        {"label": "sky", "new_pixels": 1034, "locations": 151000}
      ]
    }

``new_pixels`` is the number of output pixels that newly show ``concept`` after insertions at
locations whose original label was ``label``, and ``locations`` how many insertions that was; the
bars show new pixels per insertion, largest first.

Adversarial unit change (how each unit's peak activation moves under a targeted attack; written
by ``jaxdissect.interventions.adversarial_json``)::

    {
      "kind": "adversarial_unit_change",
      "layer": "conv5_3", "source": "ski_resort", "target": "bedroom",
      "success_rate": 0.98, "mean_l2": 0.41,                     (optional)
      "units": [
        {"unit": 261, "change": -53.2, "label": "snow"},          ("label" optional)
        {"unit": 157, "change": 43.5}
      ]
    }

``change`` is the mean change of the unit's peak activation (adversarial minus original); the
bars are drawn in the order given (the units that change most first), increases to the right.
"""

from __future__ import annotations

import json
from pathlib import Path

from jaxdissect.report import svg
from jaxdissect.report.removal_plot import concept_ablation_svg, removal_curves_svg

__all__ = ["concept_ablation_svg", "experiment_svg", "load_experiment", "removal_curves_svg"]

KINDS = ("removal_curves", "insertion_context", "adversarial_unit_change")


def load_experiment(path: str | Path) -> dict:
    """Read and check one experiment result file; errors name the file and the missing key."""
    path = Path(path)
    data = json.loads(path.read_text())
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise ValueError(f"{path}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "removal_curves":
        _require(path, data, "curves", list)
        for i, curve in enumerate(data["curves"]):
            _require(path, curve, "name", str, f"curves[{i}]")
            _require(path, curve, "removed", list, f"curves[{i}]")
            _require(path, curve, "accuracy", list, f"curves[{i}]")
            if len(curve["removed"]) != len(curve["accuracy"]) or not curve["removed"]:
                raise ValueError(f"{path}: curves[{i}] needs as many 'removed' as 'accuracy' "
                                 f"values, at least one")
    elif kind == "adversarial_unit_change":
        for key in ("source", "target"):
            _require(path, data, key, str)
        _require(path, data, "units", list)
        for i, unit in enumerate(data["units"]):
            _require(path, unit, "unit", int, f"units[{i}]")
            _require(path, unit, "change", (int, float), f"units[{i}]")
    else:
        _require(path, data, "concept", str)
        _require(path, data, "contexts", list)
        for i, context in enumerate(data["contexts"]):
            for key, kind_of in (("label", str), ("new_pixels", (int, float)),
                                 ("locations", (int, float))):
                _require(path, context, key, kind_of, f"contexts[{i}]")
    return data


def _require(path: Path, data: dict, key: str, kind_of: type | tuple, where: str = "") -> None:
    if not isinstance(data, dict) or not isinstance(data.get(key), kind_of):
        place = f"{where}." if where else ""
        raise ValueError(f"{path}: missing or malformed '{place}{key}' (see the schema in "
                         f"jaxdissect/report/plots.py)")


def experiment_svg(data: dict, standalone: bool = False) -> str:
    """The plot of one checked experiment result (``load_experiment``), as SVG text."""
    if data["kind"] == "removal_curves":
        return removal_curves_svg(data, standalone)
    if data["kind"] == "adversarial_unit_change":
        return adversarial_svg(data, standalone)
    return insertion_context_svg(data, standalone)


def insertion_context_svg(data: dict, standalone: bool = False) -> str:
    """Horizontal bars: new concept pixels per insertion, by the original label at the location."""
    rows = [(c["label"], c["new_pixels"] / c["locations"] if c["locations"] else 0.0,
             c["locations"]) for c in data["contexts"]]
    rows = sorted(rows, key=lambda row: (-row[1], row[0]))[: int(data.get("max_contexts", 20))]
    concept = data["concept"]
    row_h, x0, y0, plot_w = 20, 150, 30, 360
    height = y0 + row_h * max(len(rows), 1) + 50
    top = max((mean for _, mean, _ in rows), default=0.0) or 1.0
    xticks = svg.nice_ticks(0.0, top, 5)
    xscale = svg.linear_scale((0.0, xticks[-1]), (x0, x0 + plot_w))
    plot_h = row_h * max(len(rows), 1)
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, lambda v: v, xticks, [],
                    f"new {concept} pixels per insertion", "")
    body.append(svg.text(x0, 16, f"Where inserting '{concept}' units adds {concept} "
                         f"(original label at the location)", size=12))
    for index, (label, mean, locations) in enumerate(rows):
        top_y = y0 + index * row_h + 3
        bar = svg.element("rect", x=x0, y=top_y, width=max(xscale(mean) - x0, 0.5),
                          height=row_h - 6, fill="#4e79a7")
        tip = svg.element("title", svg.escape(f"{label}: {mean:.4g} new pixels per insertion, "
                                              f"{locations:g} insertions"))
        body.append(svg.element("g", tip + bar))
        body.append(svg.text(x0 - 6, top_y + row_h - 10, label, anchor="end"))
        body.append(svg.text(xscale(mean) + 4, top_y + row_h - 10, f"{mean:.3g}", size=10,
                             colour="#555"))
    title = data.get("title") or f"Inserting {concept} units at {data.get('layer', '?')}"
    return svg.document(x0 + plot_w + 70, height, body, title, standalone, class_="plot")


def adversarial_svg(data: dict, standalone: bool = False) -> str:
    """Bars around zero: the change of each unit's peak activation under the attack."""
    rows = [(f"unit {u['unit']}" + (f" {u['label']}" if u.get("label") else ""),
             float(u["change"])) for u in data["units"][: int(data.get("max_units", 20))]]
    row_h, x0, y0, plot_w = 20, 150, 30, 360
    plot_h = row_h * max(len(rows), 1)
    reach = max((abs(change) for _, change in rows), default=0.0) or 1.0
    xticks = svg.nice_ticks(-reach, reach, 6)
    xscale = svg.linear_scale((xticks[0], xticks[-1]), (x0, x0 + plot_w))
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, lambda v: v, xticks, [],
                    "change of the unit's peak activation", "")
    body.append(svg.text(x0, 16, f"Attack {data['source']} -> {data['target']}: units that "
                         "change most", size=12))
    zero = xscale(0.0)
    body.append(svg.element("line", x1=zero, y1=y0, x2=zero, y2=y0 + plot_h, stroke="#888"))
    for index, (label, change) in enumerate(rows):
        top_y = y0 + index * row_h + 3
        left, right = sorted((zero, xscale(change)))
        bar = svg.element("rect", x=left, y=top_y, width=max(right - left, 0.5),
                          height=row_h - 6, fill="#59a14f" if change >= 0 else "#e15759")
        tip = svg.element("title", svg.escape(f"{label}: {change:+.4g}"))
        body.append(svg.element("g", tip + bar))
        body.append(svg.text(x0 - 6, top_y + row_h - 10, label, anchor="end"))
    title = data.get("title") or (f"Peak activation change at {data.get('layer', '?')}, "
                                  f"{data['source']} -> {data['target']}")
    return svg.document(x0 + plot_w + 30, y0 + plot_h + 50, body, title, standalone,
                        class_="plot")
