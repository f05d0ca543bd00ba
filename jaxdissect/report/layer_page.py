"""The page of one dissected layer: charts, detector counts and a card per unit.

``write_layer_page`` writes ``<layer folder>/report.html`` (one self-contained file: inline style,
script and SVG; strips are loaded lazily from ``image/``) and the two charts as ``concepts.svg``
and ``iou_hist.svg``. Each card shows the unit number, its label and category, the IoU, the
threshold, the strip and the best concept of each other category (why the label won); the cards
can be sorted by IoU, unit or label and filtered by category, minimum IoU and label text.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from jaxdissect.outputs import write_text
from jaxdissect.report import charts, static
from jaxdissect.report.categories import category_colour
from jaxdissect.report.layers import LayerReport
from jaxdissect.report.run_info import find_run_info, header_html, run_title
from jaxdissect.report.svg import escape

PAGE_NAME = "report.html"
RULE_OVERALL = "distinct best labels (PNAS 2020)"
RULE_PER_CATEGORY = "best within category (NetDissect 2017 tables)"


def page_shell(title: str, crumbs: str, body: str, script: str = "") -> str:
    """A complete HTML document with the shared style (and an optional inline script)."""
    script_tag = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{static.STYLE}</style></head><body>"
        f"<header class=\"top\"><span class=\"brand\">jaxdissect</span>{crumbs}</header>"
        f"<main>{body}</main>{script_tag}</body></html>\n"
    )


def _strip_size(folder: Path, image: str | None) -> tuple[int, int] | None:
    if image is None:
        return None
    with Image.open(folder / image) as strip:  # reads the header only
        return strip.size


def _foot_notes(unit: dict) -> str:
    notes = []
    if unit["threshold"] is not None:
        notes.append(f"threshold {unit['threshold']:.4g}")
    if unit.get("runners_up"):
        notes.append("next: " + " · ".join(f"{label} {iou:.3f}"
                                           for label, _, iou in unit["runners_up"]))
    return "".join(f"<span>{escape(note)}</span>" for note in notes)


def unit_card(unit: dict, folder: Path, top_iou: float) -> str:
    """The HTML card of one unit (a dict as ``LayerReport.units`` holds them)."""
    u, label, cat, iou = unit["unit"], unit["label"], unit["category"], unit["iou"]
    colour = category_colour(cat)
    size = _strip_size(folder, unit["image"])
    if size is None:
        picture = ""
        note = "no strip rendered for this unit"
    else:
        picture = (f"<a href=\"units/unit{u}.html\"><img class=\"strip\" loading=\"lazy\" "
                   f"src=\"{escape(unit['image'])}\" width=\"{size[0]}\" height=\"{size[1]}\" "
                   f"alt=\"top images of unit {u}, masked where it exceeds its threshold\"></a>")
        note = f"strip image missing: {escape(unit['image'])}"
    width = 100.0 * max(iou, 0.0) / top_iou if top_iou > 0 else 0.0
    return (
        f"<article class=\"card{'' if unit['interpretable'] else ' dull'}"
        f"{'' if size else ' missing'}\" data-unit=\"{u}\" data-iou=\"{iou:.6f}\" "
        f"data-label=\"{escape(label)}\" data-cat=\"{escape(cat)}\">"
        f"<div class=\"card-head\"><a class=\"unit\" href=\"units/unit{u}.html\">unit {u}</a>"
        f"<span class=\"label\">{escape(label)}</span>"
        f"<span class=\"cat\" style=\"background:{colour}\">{escape(cat)}</span>"
        f"<span class=\"iou\">IoU {iou:.3f}</span></div>{picture}"
        f"<div class=\"nostrip\">{note}</div><div class=\"card-foot\">"
        f"<div class=\"ioubar\" title=\"IoU relative to the best unit of the layer\">"
        f"<span style=\"width:{width:.1f}%;background:{colour}\"></span></div>"
        f"{_foot_notes(unit)}</div></article>"
    )


def detector_table(layer: LayerReport) -> str:
    """Counts per category: interpretable units, and unique detectors under both rules."""
    overall = layer.detectors["unique_overall"]["by_category"]
    per = layer.detectors.get("unique_per_category") or {}
    per_counts = per.get("by_category", {})
    units_by_cat = {cat: sum(u["interpretable"] and u["category"] == cat for u in layer.units)
                    for cat in layer.display_categories}
    head = (f"<tr><th>category</th><th>units</th><th>unique: {RULE_OVERALL}</th>"
            f"<th>unique: {RULE_PER_CATEGORY}</th></tr>")
    rows = [
        f"<tr><td><span class=\"cat\" style=\"background:{category_colour(cat)}\">"
        f"{escape(cat)}</span></td><td>{units_by_cat.get(cat, 0)}</td>"
        f"<td>{overall.get(cat, 0)}</td><td>{per_counts.get(cat, 'n/a')}</td></tr>"
        for cat in layer.display_categories
    ]
    totals = (layer.detectors["units_above_miniou"], layer.detectors["unique_overall"]["total"],
              per.get("total", "n/a"))
    rows.append("<tr><td class=\"total\">total</td>"
                + "".join(f"<td class=\"total\">{n}</td>" for n in totals) + "</tr>")
    return f"<table class=\"counts\"><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _controls(layer: LayerReport) -> str:
    per_cat = {cat: sum(u["category"] == cat for u in layer.units)
               for cat in layer.display_categories}
    options = "".join(f"<option value=\"{escape(cat)}\">{escape(cat)} ({n})</option>"
                      for cat, n in per_cat.items() if n)
    labels = "".join(f"<option value=\"{escape(label)}\">"
                     for label in sorted({u["label"] for u in layer.units}))
    return (
        "<div class=\"controls\">"
        "<label>sort <select id=\"sort\"><option value=\"iou\">IoU, highest first</option>"
        "<option value=\"unit\">unit number</option><option value=\"label\">label A-Z</option>"
        "</select></label>"
        f"<label>category <select id=\"cat\"><option value=\"\">all</option>{options}</select>"
        "</label>"
        "<label>min IoU <input id=\"min\" type=\"number\" min=\"0\" max=\"1\" step=\"0.01\" "
        "value=\"0\"></label>"
        "<label>label <input id=\"q\" type=\"search\" list=\"labels\" "
        "placeholder='e.g. tree, or \"tree\" exactly'></label>"
        f"<datalist id=\"labels\">{labels}</datalist>"
        "<span class=\"shown\" id=\"shown\"></span></div>"
    )


def _meta(layer: LayerReport) -> str:
    report, units = layer.report, layer.units
    parts = [f"preset <b>{escape(layer.preset)}</b>"]
    if "quantile" in report:
        top = f"<b>{100 * float(report['quantile']):g}%</b>"
        if report.get("threshold_resolution") == "layer":
            parts.append(f"unit on where its upsampled activation exceeds the top {top} of its "
                         "activations at the layer's resolution")
        else:
            parts.append(f"unit on where its upsampled activation is in its top {top}")
    parts.append(f"labelled when IoU &gt; <b>{layer.miniou:g}</b>")
    if "num_images" in report:
        parts.append(f"<b>{int(report['num_images']):,}</b> images")
    interpretable = sum(u["interpretable"] for u in units)
    share = 100.0 * interpretable / len(units) if units else 0.0
    parts.append(f"<b>{interpretable}</b> of <b>{len(units)}</b> units interpretable "
                 f"({share:.0f}%)")
    return "<p class=\"meta\">" + " · ".join(parts) + "</p>"


def _file_links(layer: LayerReport) -> str:
    names = ["report.json", "tally.csv", "units.csv", "concepts.svg", "iou_hist.svg"]
    links = [f"<a href=\"{name}\">{name}</a>" for name in names
             if (layer.folder / name).is_file()]
    return " · ".join(links)


def layer_page_html(layer: LayerReport, summary_href: str | None = None) -> str:
    """The HTML of the layer page (charts inline)."""
    title = f"{layer.name} ({layer.run})" if layer.run != "." else layer.name
    crumbs = (f"<a href=\"{escape(summary_href)}\">all layers</a>" if summary_href else "")
    crumbs += f"<span>{escape(title)}</span>"
    top_iou = max((u["iou"] for u in layer.units), default=0.0)
    cards = "".join(unit_card(u, layer.folder, top_iou) for u in layer.units)
    bars = charts.concept_bargraph_svg(layer.units, layer.miniou)
    histogram = charts.iou_histogram_svg([u["iou"] for u in layer.units], layer.miniou)
    info = find_run_info(layer.folder)
    subtitle = run_title(info) or (layer.run if layer.run != "." else "")
    body = (
        f"<h1>{escape(layer.name)}<small>{escape(subtitle)}</small></h1>"
        f"{header_html(info, layer.report)}{_meta(layer)}<div class=\"panels\">"
        "<figure class=\"panel\"><h3>Interpretable units per concept (click a bar to see "
        f"its units)</h3><div class=\"scroll-x\">{bars}</div></figure>"
        f"<figure class=\"panel\"><h3>Best IoU of every unit</h3>{histogram}</figure>"
        "<div class=\"panel\"><h3>Detectors per category</h3>"
        f"{detector_table(layer)}<p class=\"note\">units: units whose best label (over all "
        "concepts) is in the category and has IoU above the threshold. Unique detectors, "
        f"{RULE_OVERALL}: distinct labels among those units. Unique detectors, "
        f"{RULE_PER_CATEGORY}: per category, distinct best-in-category labels with IoU above "
        "the threshold (a unit may count in several categories).</p>"
        f"<p class=\"note\">files: {_file_links(layer)}</p></div></div>"
        f"<h2>Units</h2>{_controls(layer)}<div class=\"cards\" id=\"cards\">{cards}</div>"
        "<p class=\"empty\" id=\"empty\">No unit matches these filters.</p>"
    )
    page_title = f"{title}: {run_title(info)}" if info else f"{title}: dissection"
    return page_shell(page_title, crumbs, body, static.LAYER_SCRIPT)


def write_layer_page(layer: LayerReport, summary_path: Path | None = None) -> Path:
    """Write ``report.html``, ``concepts.svg`` and ``iou_hist.svg`` into the layer folder."""
    folder = layer.folder
    write_text(folder / "concepts.svg", charts.concept_bargraph_svg(
        layer.units, layer.miniou, f"{layer.name}: interpretable units per concept", True))
    write_text(folder / "iou_hist.svg", charts.iou_histogram_svg(
        [u["iou"] for u in layer.units], layer.miniou, f"{layer.name}: best IoU per unit", True))
    href = None if summary_path is None else os.path.relpath(summary_path, folder)
    path = folder / PAGE_NAME
    return write_text(path, layer_page_html(layer, href))
