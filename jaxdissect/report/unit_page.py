"""A page per unit: its top images up close, its IoU with the best concepts of each category,
its activation distribution with the threshold, and what removing it did.

``write_unit_pages(layer, experiments)`` writes ``<layer folder>/units/unit<u>.html`` for every
unit (the layer page's cards link to them). Each page holds

* the unit's top 20 images (``image/unit<u>_top.jpg``) masked as the published pages show them:
  outside the unit's mask dimmed, with the outline (``image/unit<u>_outline.png``, an overlay a
  checkbox switches off); the card strip when no gallery was rendered;
* for each category, the concepts of highest IoU with the unit (``iou.npy`` and
  ``concepts.csv``; else the best per category from ``report.json``);
* the distribution of the values the unit's threshold was taken from (``act_hist.npz``: positive
  values on a log axis, the share of values at or below zero in words) with the threshold marked;
* from the experiments on the same layer in the same run: what zeroing the unit alone did to each
  class (``unit_effects``), and the unit sets of removal and insertion experiments it is part of.

Pages are plain HTML with inline SVG and only a few lines each, so writing them costs a few
milliseconds per unit (measured in the tests for 512 units).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from jaxdissect.outputs import write_text
from jaxdissect.report import static, svg
from jaxdissect.report.categories import category_colour
from jaxdissect.report.experiment_kinds import KINDS
from jaxdissect.report.layer_page import page_shell
from jaxdissect.report.layers import STRIP_DIR, LayerReport, read_concepts
from jaxdissect.report.run_info import find_run_info, header_html, run_title
from jaxdissect.report.strips import gallery_filenames
from jaxdissect.report.svg import escape

UNIT_DIR = "units"
PER_CATEGORY = 5
HIST_NAME = "act_hist.npz"


def unit_page_name(unit: int) -> str:
    return f"{UNIT_DIR}/unit{int(unit)}.html"


def load_value_histogram(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(edges float (n + 1,), counts int64 (U, n)) from ``act_hist.npz``, or None."""
    path = folder / HIST_NAME
    if not path.is_file():
        return None
    with np.load(path) as saved:
        return np.asarray(saved["edges"], np.float64), np.asarray(saved["counts"], np.int64)


def value_histogram_svg(edges: np.ndarray, counts: np.ndarray, threshold: float | None,
                        quantile: float | None) -> str:
    """The unit's positive values on a log x axis (bars per bin, log count), threshold marked."""
    total = int(counts.sum())
    positive = (edges[:-1] > 0) & (counts > 0)
    width, height, x0, y0 = 520, 210, 56, 26
    plot_w, plot_h = width - x0 - 16, height - y0 - 44
    if not positive.any() or total == 0:
        return svg.document(360, 40, [svg.text(10, 24, "No positive values.", size=13)],
                            "Activation distribution")
    first, last = np.flatnonzero(positive)[[0, -1]]
    lo, hi = math.log10(edges[first]), math.log10(edges[last + 1])
    if threshold is not None and threshold > 0:
        lo, hi = min(lo, math.log10(threshold)), max(hi, math.log10(threshold))
    xscale = svg.linear_scale((lo, hi), (x0, x0 + plot_w))
    top = math.log10(max(int(counts[first:last + 1].max()), 1)) + 0.2
    yticks = [float(k) for k in range(0, int(top) + 1)]
    yscale = svg.linear_scale((0.0, max(top, 1.0)), (y0 + plot_h, y0))
    xticks = list(range(math.floor(lo), math.ceil(hi) + 1))
    xticks = [t for t in xticks if lo - 1e-9 <= t <= hi + 1e-9] or [lo]
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, yscale, xticks, [],
                    "activation (log scale)", "values (log scale)",
                    xtick_labels=[f"{10.0 ** t:g}" for t in xticks])
    for tick in yticks:
        body.append(svg.text(x0 - 6, yscale(tick) + 4, f"{10 ** tick:g}" if tick < 4 else
                             f"1e{int(tick)}", size=9.5, anchor="end"))
    # Bars as two paths (below and above the threshold): one element each, cheap to write for
    # thousands of units.
    bins = np.arange(first, last + 1)
    bins = bins[(counts[bins] > 0) & (edges[bins] > 0)]
    left = x0 + (np.log10(edges[bins]) - lo) * plot_w / (hi - lo or 1.0)
    right = x0 + (np.log10(edges[bins + 1]) - lo) * plot_w / (hi - lo or 1.0)
    tops = y0 + plot_h - (np.log10(counts[bins]) + 0.05) * plot_h / max(top, 1.0)
    above = edges[bins] >= threshold if threshold is not None else np.zeros(len(bins), bool)
    for chosen, fill in ((~above, "#bab0ac"), (above, "#4e79a7")):
        if chosen.any():
            d = "".join(f"M{l:.1f} {y0 + plot_h:.1f}V{t:.1f}H{max(r - 0.4, l + 0.8):.1f}"
                        f"V{y0 + plot_h:.1f}z" for l, r, t in zip(left[chosen], right[chosen],
                                                                   tops[chosen], strict=True))
            body.append(svg.element("path", d=d, fill=fill))
    zero_share = 1.0 - counts[edges[:-1] > 0].sum() / total
    body.append(svg.text(x0 + plot_w, 14, f"{100 * zero_share:.1f}% of values are 0 or below "
                         f"(not drawn); {total:,} values", size=10.5, anchor="end",
                         colour="#555"))
    if threshold is not None and threshold > 0:
        x = xscale(math.log10(threshold))
        share = f" (top {100 * quantile:g}%)" if quantile else ""
        body.append(svg.element("line", x1=x, x2=x, y1=y0, y2=y0 + plot_h, stroke="#e15759",
                                stroke_width=1.6, stroke_dasharray="4 3"))
        body.append(svg.text(x - 4, y0 + 12, f"threshold {threshold:.4g}{share}", size=10.5,
                             anchor="end", colour="#c03030", font_weight="600"))
    return svg.document(width, height, body, "Activation distribution", class_="histogram")


def concept_table(unit: dict, layer: LayerReport, iou_row: np.ndarray | None,
                  concepts: tuple[list[str], list[str]] | None) -> str:
    """Per category (report order), the unit's concepts of highest IoU with bars."""
    rows = []
    for cat in layer.display_categories:
        if iou_row is not None and concepts is not None:
            members = [c for c in range(1, len(concepts[0])) if concepts[1][c] == cat]
            ranked = sorted(members, key=lambda c: -float(iou_row[c]))[:PER_CATEGORY]
            best = [(concepts[0][c], float(iou_row[c])) for c in ranked if iou_row[c] > 0]
        else:
            entry = unit["by_category"].get(cat)
            best = [(entry["label"], float(entry["iou"]))] if entry else []
        cells = "".join(
            f"<span class=\"concept{' over' if v > layer.miniou else ''}\" title=\"IoU "
            f"{v:.4f}\"><span class=\"bar\" style=\"width:{min(100.0, 250.0 * v):.0f}px;"
            f"background:{category_colour(cat)}\"></span>{escape(name)} {v:.3f}</span>"
            for name, v in best) or "<span class=\"dim\">none above 0</span>"
        rows.append(f"<tr><td><span class=\"cat\" style=\"background:{category_colour(cat)}\">"
                    f"{escape(cat)}</span></td><td class=\"concepts\">{cells}</td></tr>")
    return (f"<table class=\"counts unit-concepts\"><tbody>{''.join(rows)}</tbody></table>"
            f"<p class=\"note\">Bars: IoU; bold: above the labelling threshold "
            f"{layer.miniou:g}.</p>")


def layer_experiments(layer: LayerReport, experiments: list[tuple[Path, dict]]) -> list:
    """The experiments on ``layer``'s units: same layer name, written in a run folder at or
    above the layer's folder."""
    mine = []
    folder = layer.folder.resolve()
    for path, data in experiments:
        run = path.parent.parent.resolve()
        if data.get("layer") == layer.name and (run == folder or run in folder.parents):
            mine.append((path, data))
    return mine


def _effect_lines(unit: int, experiments: list[tuple[Path, dict]]) -> list[str]:
    lines = []
    for path, data in experiments:
        name = escape(data.get("title") or path.stem)
        effects = data.get("unit_effects")
        if effects and unit < len(effects.get("units", [])):
            classes, base = effects["classes"], effects["baseline"]
            moved = ", ".join(f"{escape(classes[c])} {base[c]:.2f} &rarr; {v:.2f}"
                              for c, v in effects["units"][unit][:3] if base[c] is not None)
            lines.append(f"Zeroing this unit alone ({name}): {moved or 'no class measured'}.")
        for curve in data.get("curves", []) if data["kind"] == "removal_curves" else []:
            ranking = curve.get("units") or []
            if unit in ranking and not data.get("concept"):
                lines.append(f"Ranked {ranking.index(unit) + 1} of the units most important to "
                             f"{escape(curve['name'])} ({name}).")
        entry = data.get("concept_ablation")
        if entry and unit in entry.get("units", []):
            moved = "; ".join(f"{escape(c['name'])} {c['unedited']:.2f} &rarr; "
                              f"{c['concept_removed']:.2f}" for c in entry["classes"])
            lines.append(f"One of the {len(entry['units'])} units labelled "
                         f"{escape(entry['concept'])}; removed together: {moved}.")
        units = data.get("units") or []
        if data.get("concept") and unit in units[:len(units)]:
            lines.append(f"Rank {units.index(unit) + 1} among the {escape(data['concept'])} "
                         f"units {KINDS[data['kind']].units_were} in {name}.")
    return lines


def _gallery(layer: LayerReport, unit: dict) -> str:
    top, outline = gallery_filenames(unit["unit"])
    folder = layer.folder / STRIP_DIR
    if (folder / top).is_file():
        with Image.open(folder / top) as picture:  # reads the header only
            width, height = picture.size
        scale = 2 if width < 400 else 1  # small images (a 64-pixel world) shown enlarged
        return (f"<label class=\"toggle\"><input type=\"checkbox\" id=\"outline\" checked> "
                f"outline the unit's mask</label><div class=\"gallery\" id=\"gallery\" "
                f"style=\"width:{width * scale}px;aspect-ratio:{width}/{height}\">"
                f"<img src=\"../{STRIP_DIR}/{top}\" alt=\"top images of unit {unit['unit']}\">"
                f"<img class=\"outline\" src=\"../{STRIP_DIR}/{outline}\" alt=\"\"></div>")
    if unit["image"]:
        return f"<img class=\"strip\" src=\"../{escape(unit['image'])}\" alt=\"top images\">"
    return "<p class=\"note\">No images rendered for this unit.</p>"


def unit_page_html(layer: LayerReport, unit: dict, context: dict) -> str:
    u = unit["unit"]
    colour = category_colour(unit["category"])
    hist = context["hist"]
    dist = ""
    if hist is not None and u < hist[1].shape[0]:
        dist = value_histogram_svg(hist[0], hist[1][u], unit["threshold"],
                                   layer.report.get("quantile"))
    elif unit["threshold"] is not None:
        dist = f"<p class=\"note\">threshold {unit['threshold']:.4g} (no distribution saved)</p>"
    effects = _effect_lines(u, context["experiments"])
    effect_html = ("".join(f"<li>{line}</li>" for line in effects) if effects else
                   "<li class=\"dim\">No experiment on this layer names this unit.</li>")
    numbers = context["numbers"]
    at = numbers.index(u)
    nav = " ".join(f"<a href=\"unit{numbers[i]}.html\">{text}</a>" for i, text in
                   ((at - 1, "&larr; previous"), (at + 1, "next &rarr;")) if 0 <= i < len(numbers))
    body = (
        f"<h1>unit {u}<small><span class=\"cat\" style=\"background:{colour}\">"
        f"{escape(unit['category'])}</span> {escape(unit['label'])} &middot; IoU "
        f"{unit['iou']:.3f}{'' if unit['interpretable'] else ' (below threshold)'}</small></h1>"
        f"{context['header']}<p class=\"meta\">{nav}</p>"
        f"<div class=\"panels\"><figure class=\"panel\"><h3>Top images</h3>"
        f"{_gallery(layer, unit)}</figure><div class=\"panel\"><h3>IoU with the best concepts "
        f"of each category</h3>"
        f"{concept_table(unit, layer, context['iou_row'](u), context['concepts'])}"
        f"</div><figure class=\"panel\"><h3>Activation distribution</h3>{dist}</figure>"
        f"<div class=\"panel\"><h3>Experiments</h3><ul class=\"findings\">{effect_html}</ul>"
        f"</div></div>")
    crumbs = context["crumbs"] + f"<span>unit {u}</span>"
    return page_shell(f"unit {u} of {context['title']}", crumbs, body, static.UNIT_SCRIPT)


def write_unit_pages(layer: LayerReport, experiments: list[tuple[Path, dict]],
                     summary_path: Path | None = None) -> int:
    """Write ``units/unit<u>.html`` for every unit of ``layer``; returns how many."""
    folder = layer.folder / UNIT_DIR
    folder.mkdir(exist_ok=True)
    iou = layer.array("iou")
    concepts = read_concepts(layer.folder / "concepts.csv")
    usable = iou is not None and concepts is not None and iou.ndim == 2 and (
        iou.shape[1] == len(concepts[0]))
    info = find_run_info(layer.folder)
    title = f"{layer.name}" + (f", {run_title(info)}" if info else "")
    crumbs = ""
    if summary_path is not None:
        crumbs += f"<a href=\"{escape(os.path.relpath(summary_path, folder))}\">all layers</a>"
    crumbs += f"<a href=\"../report.html\">{escape(layer.name)}</a>"
    context = {
        "hist": load_value_histogram(layer.folder),
        "iou_row": (lambda u: iou[u] if u < iou.shape[0] else None) if usable else (
            lambda u: None),
        "concepts": concepts if usable else None, "header": header_html(info, layer.report),
        "experiments": layer_experiments(layer, experiments), "title": title,
        "crumbs": crumbs, "numbers": [u["unit"] for u in layer.units],
    }
    for unit in layer.units:
        write_text(folder / f"unit{unit['unit']}.html", unit_page_html(layer, unit, context))
    return len(layer.units)
