"""A page comparing layers and runs: interpretable units and unique detectors, layer by layer.

``write_compare_page(dirs, out)`` reads every layer under each of ``dirs`` (results folders,
run folders or layer folders, as ``jaxdissect report`` reads them), groups them by run (the
folder holding the layer folders, named by its model and data from ``run.json``) and writes one
static page ``out`` with

* a table: per run and layer, the units, the interpretable units (IoU above the threshold) and
  the unique detectors per category under both counting rules, each row linking to its layer
  page (when built);
* the PNAS 2020 layer plot per run: unique detectors per category, stacked, layer by layer
  (all panels on one y scale, so runs can be compared by eye);
* interpretable units per layer, one line per run, against the layer's relative depth.

Nothing is recomputed; the pages of the runs themselves are left as they are.
"""

from __future__ import annotations

import os
from itertools import groupby
from pathlib import Path

from jaxdissect.outputs import write_text
from jaxdissect.report import charts, static, svg
from jaxdissect.report.categories import ordered_categories
from jaxdissect.report.layer_page import PAGE_NAME, page_shell
from jaxdissect.report.layers import LayerReport, find_layers, natural_key
from jaxdissect.report.removal_plot import CURVE_COLOURS
from jaxdissect.report.run_info import find_run_info, run_title
from jaxdissect.report.summary_page import RULES, detector_cells, table_head
from jaxdissect.report.svg import escape

COMPARE_NAME = "compare.html"


def compared_runs(dirs: list[Path]) -> list[tuple[str, list[LayerReport]]]:
    """(name, layers in order) per run found under ``dirs``, each run once."""
    layers: dict[Path, LayerReport] = {}
    for folder in dirs:
        for layer in find_layers(folder):
            layers.setdefault(layer.folder.resolve(), layer)
    ordered = sorted(layers.values(), key=lambda l: (str(l.folder.parent.resolve()),
                                                     natural_key(l.name)))
    runs = []
    for parent, group in groupby(ordered, key=lambda l: l.folder.parent.resolve()):
        title = run_title(find_run_info(parent))
        name = f"{title} ({parent.name})" if title else parent.name
        runs.append((name, list(group)))
    return runs


def _row(name: str, layer: LayerReport, categories: list[str], here: Path) -> str:
    page = layer.folder / PAGE_NAME
    label = escape(layer.name)
    if page.is_file():
        label = f"<a href=\"{escape(os.path.relpath(page, here))}\">{label}</a>"
    units = len(layer.units)
    interpretable = layer.detectors["units_above_miniou"]
    cells = [escape(name), label, str(units),
             f"{interpretable} ({100 * interpretable / units:.0f}%)" if units else "0",
             *detector_cells(layer, categories)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def interpretable_lines_svg(runs: list[tuple[str, list[LayerReport]]]) -> str:
    """Interpretable units per layer, a line per run, x = relative depth (first to last)."""
    width, height, x0, y0 = 560, 260, 56, 20
    plot_w, plot_h = 300, height - y0 - 50
    top = max((l.detectors["units_above_miniou"] for _, ls in runs for l in ls), default=1)
    yticks = svg.nice_ticks(0, max(top, 1), 4)
    yscale = svg.linear_scale((0, yticks[-1]), (y0 + plot_h, y0))
    xscale = svg.linear_scale((0.0, 1.0), (x0, x0 + plot_w))
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, yscale, [0.0, 1.0], yticks,
                    "layer (first to last)", "interpretable units", ["first", "last"])
    for index, (name, layers) in enumerate(runs):
        colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
        depth = [i / (len(layers) - 1) if len(layers) > 1 else 1.0 for i in range(len(layers))]
        points = [(xscale(d), yscale(l.detectors["units_above_miniou"]))
                  for d, l in zip(depth, layers, strict=True)]
        parts = [svg.element("title", escape(name))]
        if len(points) > 1:
            parts.append(svg.element("polyline", points=" ".join(f"{x:.1f},{y:.1f}"
                                                                 for x, y in points),
                                     fill="none", stroke=colour, stroke_width=2))
        for (x, y), layer in zip(points, layers, strict=True):
            tip = svg.element("title", escape(f"{name}, {layer.name}: "
                                              f"{layer.detectors['units_above_miniou']}"))
            parts.append(svg.element("circle", tip, cx=x, cy=y, r=3.5, fill=colour))
            parts.append(svg.text(x + 5, y - 5, layer.name, size=9, colour="#555"))
        body.append(svg.element("g", "".join(parts), class_="curve"))
        legend_y = y0 + 8 + 16 * index
        body.append(svg.element("rect", x=x0 + plot_w + 18, y=legend_y - 8, width=12, height=3,
                                fill=colour))
        body.append(svg.text(x0 + plot_w + 36, legend_y, name[:40], size=10.5))
    return svg.document(width, max(height, y0 + 16 * len(runs) + 20), body,
                        "Interpretable units per layer")


def write_compare_page(dirs, out: str | Path | None = None) -> Path:
    """Write the comparison page of the runs under ``dirs`` to ``out`` (default:
    ``compare.html`` in the current folder); returns its path."""
    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise ValueError("name at least one results folder to compare")
    out = Path(out) if out is not None else Path(COMPARE_NAME)
    here = out.resolve().parent
    runs = compared_runs(dirs)
    layers = [l for _, ls in runs for l in ls]
    categories = ordered_categories(cat for l in layers for cat in l.categories)
    rows = "".join(_row(name, l, categories, here) for name, ls in runs for l in ls)
    rule, rule_name = RULES[0]
    panels = []
    ymax = max((l.detectors[rule]["total"] for l in layers), default=1)
    for name, ls in runs:
        counts = [l.detectors[rule]["by_category"] for l in ls]
        chart = charts.layer_detectors_svg([l.name for l in ls], counts, categories, name,
                                           ymax=ymax)
        panels.append(f"<figure class=\"panel\"><h3>{escape(name)}</h3>{chart}</figure>")
    body = (
        f"<h1>Comparison<small>{len(runs)} run{'s' * (len(runs) != 1)}, {len(layers)} layers"
        f"</small></h1><div class=\"panel scroll-x\"><table class=\"counts\"><thead>"
        f"{table_head(['run', 'layer', 'units', 'interpretable'], categories)}</thead><tbody>"
        f"{rows}</tbody></table></div>"
        f"<h2>Unique detectors per category, layer by layer ({escape(rule_name)})</h2>"
        f"<div class=\"panels\">{''.join(panels)}</div>"
        f"<h2>Interpretable units</h2><div class=\"panels\"><figure class=\"panel\">"
        f"{interpretable_lines_svg(runs)}</figure></div>"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, page_shell("Comparison of dissections", "<span>comparison</span>",
                                      body, static.IMAGES_SCRIPT))
