"""The summary page of a results folder: every run and layer, and the experiment plots.

Per run (a folder holding layer folders), a table with one row per layer: preset, units,
units with IoU above the threshold, unique detectors per category under both counting rules
(named on the page; see ``layers.detector_counts``) and a link to the layer page; plus stacked bar
charts of the unique detectors per layer. Below, every experiment result found in
``<results dir>/experiments/*.json`` (schema in ``plots``) is drawn and also saved as ``.svg``.
"""

from __future__ import annotations

import os
from itertools import groupby
from pathlib import Path

from jaxdissect.outputs import write_text
from jaxdissect.report import charts, static
from jaxdissect.report.categories import category_colour, ordered_categories
from jaxdissect.report.experiment_figures import experiment_sections
from jaxdissect.report.layer_page import PAGE_NAME, RULE_OVERALL, RULE_PER_CATEGORY, page_shell
from jaxdissect.report.layers import LayerReport
from jaxdissect.report.run_info import find_run_info, header_html, run_title
from jaxdissect.report.svg import escape

SUMMARY_NAME = "index.html"
RULES = (("unique_overall", RULE_OVERALL), ("unique_per_category", RULE_PER_CATEGORY))
LEADING = ["layer", "preset", "units", "IoU &gt; t"]


def table_head(leading: list[str], categories: list[str]) -> str:
    """Two header rows: the ``leading`` columns, then both unique-detector rules by category."""
    span = len(categories) + 1
    groups = "".join(f"<th colspan=\"{span}\">unique detectors: {escape(name)}</th>"
                     for _, name in RULES)
    cats = "".join(f"<th><span class=\"cat\" style=\"background:{category_colour(c)}\">"
                   f"{escape(c)}</span></th>" for c in categories)
    lead = "".join(f"<th rowspan=\"2\">{name}</th>" for name in leading)
    return f"<tr>{lead}{groups}</tr><tr>{(cats + '<th>total</th>') * len(RULES)}</tr>"


def detector_cells(layer: LayerReport, categories: list[str]) -> list[str]:
    """The unique detectors of ``layer`` per category and in total, under both rules."""
    cells = []
    for rule, _ in RULES:
        counts = layer.detectors.get(rule)
        by_category = counts["by_category"] if counts else {}
        cells += [str(by_category.get(cat, "n/a" if counts is None else 0))
                  for cat in categories]
        cells.append(f"<b>{counts['total']}</b>" if counts else "n/a")
    return cells


def _table_row(layer: LayerReport, categories: list[str], here: Path) -> str:
    href = os.path.relpath(layer.folder / PAGE_NAME, here)
    cells = [f"<a href=\"{escape(href)}\">{escape(layer.name)}</a>", escape(layer.preset),
             str(len(layer.units)), str(layer.detectors["units_above_miniou"]),
             *detector_cells(layer, categories)]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def run_section(run: str, layers: list[LayerReport], here: Path) -> str:
    """The table and charts of one run's layers."""
    categories = ordered_categories(cat for layer in layers for cat in layer.categories)
    rows = "".join(_table_row(layer, categories, here) for layer in layers)
    names = [layer.name for layer in layers]
    figures = []
    for rule, rule_name in RULES:
        counts = [layer.detectors.get(rule) for layer in layers]
        if all(c is not None for c in counts):
            svg = charts.layer_detectors_svg(names, [c["by_category"] for c in counts],
                                             categories, f"Unique detectors: {rule_name}")
            figures.append(f"<figure class=\"panel\"><h3>Unique detectors: "
                           f"{escape(rule_name)}</h3>{svg}</figure>")
    title = "this folder" if run == "." else run
    miniou = sorted({f"{layer.miniou:g}" for layer in layers})
    info = find_run_info(layers[0].folder.parent)
    described = run_title(info)
    heading = escape(title) + (f"<small>{escape(described)}</small>" if described else "")
    return (
        f"<h2>{heading}</h2>{header_html(info) if info else ''}"
        f"<div class=\"panels\"><div class=\"panel scroll-x\">"
        f"<table class=\"counts\"><thead>{table_head(LEADING, categories)}</thead><tbody>{rows}"
        f"</tbody></table><p class=\"note\">IoU &gt; t: units whose best label has IoU above "
        f"the threshold t = {', '.join(miniou)}.</p></div>{''.join(figures)}</div>"
    )


def write_summary_page(results_dir: Path, layers: list[LayerReport]) -> Path:
    """Write ``<results_dir>/index.html`` for ``layers`` (sorted by run) and the experiments."""
    results_dir = Path(results_dir)
    runs = [(run, list(group)) for run, group in groupby(layers, key=lambda lay: lay.run)]
    sections = "".join(run_section(run, group, results_dir) for run, group in runs)
    info = find_run_info(results_dir)
    title = run_title(info) or "Dissection results"
    body = (
        f"<h1>{escape(title)}<small>{escape(results_dir.resolve().name)}</small></h1>"
        f"{header_html(info) if info and len(runs) > 1 else ''}"
        f"<p class=\"meta\"><b>{len(runs)}</b> run{'s' * (len(runs) != 1)} · "
        f"<b>{len(layers)}</b> layer{'s' * (len(layers) != 1)}</p>"
        f"{sections}{experiment_sections(results_dir)}"
        f"<p class=\"note\">Unique detectors, {escape(RULE_OVERALL)}: the distinct labels among "
        "units whose best label over all concepts has IoU above the threshold, grouped by the "
        f"label's category. Unique detectors, {escape(RULE_PER_CATEGORY)}: for each category, "
        "the distinct labels among units whose best label within that category has IoU above "
        "the threshold (a unit may count in several categories); the total sums the categories. "
        "The second is never smaller.</p>"
    )
    path = results_dir / SUMMARY_NAME
    return write_text(path, page_shell(title, "<span>all layers</span>", body,
                                       static.IMAGES_SCRIPT))
