"""The two charts of a layer page, as SVG text: the concept bar graph and the IoU histogram.

* ``concept_bargraph_svg``: for each concept, the number of interpretable units (best IoU > miniou,
  strict) whose label it is; bars grouped by category in report order (``categories``), the
  tallest first within a group; each group is headed by its category and its number of distinct
  concepts, as in the published figures. Each bar is a ``<g class="bar" data-label=...>`` so the
  page can filter the unit cards by clicking it.
* ``iou_histogram_svg``: the distribution of every unit's best IoU, the bins above the
  interpretability threshold in colour and a dashed line at the threshold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from jaxdissect.report import svg
from jaxdissect.report.categories import category_colour, ordered_categories

BAR_WIDTH, BAR_GAP, GROUP_GAP = 14, 3, 14
PLOT_HEIGHT, LABEL_ROOM, HEADER_ROOM, LEFT = 140, 120, 40, 52
HEADING_CHAR = 7.5  # approximate width of a heading character, in pixels


def concept_counts(units: Sequence[dict], miniou: float) -> dict[str, list[tuple[str, int]]]:
    """Per category (report order), ``(label, number of units)`` for interpretable units,
    the largest count first, then by label. ``units`` hold ``label``, ``category``, ``iou``."""
    counts = Counter(
        (u["category"], u["label"]) for u in units if u["iou"] is not None and u["iou"] > miniou
    )
    grouped = {}
    for category in ordered_categories(cat for cat, _ in counts):
        pairs = [(label, n) for (cat, label), n in counts.items() if cat == category]
        grouped[category] = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return grouped


def concept_bargraph_svg(units: Sequence[dict], miniou: float, title: str = "",
                         standalone: bool = False) -> str:
    """The bar graph of interpretable units per concept, grouped by category (SVG text)."""
    grouped = concept_counts(units, miniou)
    top = max((n for pairs in grouped.values() for _, n in pairs), default=0)
    if top == 0:
        body = [svg.text(10, 24, f"No unit has IoU > {miniou:g}.", size=13)]
        return svg.document(360, 40, body, title or "Interpretable units per concept", standalone)
    best = best_units(units, miniou)
    y0 = HEADER_ROOM
    bottom = y0 + PLOT_HEIGHT
    yticks = svg.nice_ticks(0, top, 4 if top > 3 else top)
    yscale = svg.linear_scale((0, yticks[-1]), (bottom, y0 + 12))
    body = svg.axes(LEFT, y0, 0, PLOT_HEIGHT, lambda x: x, yscale, [], yticks, "", "units")
    x = LEFT + 8
    for category, pairs in grouped.items():
        colour = category_colour(category)
        bars_width = len(pairs) * (BAR_WIDTH + BAR_GAP) - BAR_GAP
        heading = f"{category} ({len(pairs)})"
        body.append(svg.element("rect", x=x, y=8, width=bars_width, height=3, fill=colour))
        body.append(svg.text(x, 26, heading, size=12, colour=colour, font_weight="600"))
        start = x
        for label, count in pairs:
            body.append(_bar(x, yscale(count), bottom, label, category, count, colour,
                             best.get((category, label))))
            x += BAR_WIDTH + BAR_GAP
        # Leave room for the heading when a category has only a few bars.
        x = max(x - BAR_GAP, start + HEADING_CHAR * len(heading)) + GROUP_GAP
    width = max(x + 10, 200)
    body.append(svg.element("line", x1=LEFT, x2=x, y1=bottom, y2=bottom, stroke=svg.AXIS_COLOUR))
    height = bottom + LABEL_ROOM
    return svg.document(width, height, body, title or "Interpretable units per concept",
                        standalone, class_="bargraph")


def best_units(units: Sequence[dict], miniou: float) -> dict[tuple[str, str], dict]:
    """For each (category, label) of an interpretable unit, the unit with the highest IoU."""
    best: dict[tuple[str, str], dict] = {}
    for unit in units:
        key = (unit["category"], unit["label"])
        if unit["iou"] is not None and unit["iou"] > miniou and (
                key not in best or unit["iou"] > best[key]["iou"]):
            best[key] = unit
    return best


def _bar(x: float, y: float, bottom: float, label: str, category: str, count: int,
         colour: str, best: dict | None) -> str:
    middle = x + BAR_WIDTH / 2
    tip = f"{label} ({category}): {count} unit{'s' * (count != 1)}"
    if best is not None:
        tip += f"; best: unit {best['unit']}, IoU {best['iou']:.3f}"
    parts = [
        svg.element("title", svg.escape(tip)),
        svg.element("rect", x=x, y=y, width=BAR_WIDTH, height=bottom - y, fill=colour, rx=1.5),
        svg.text(middle, y - 3, count, size=9 if count < 100 else 7.5, anchor="middle",
                 colour="#444"),
        svg.text(middle + 4, bottom + 6, label, size=11, anchor="end",
                 transform=f"rotate(-90 {middle + 4:g} {bottom + 6:g})"),
    ]
    return svg.element("g", "".join(parts), class_="bar", data_label=label, data_cat=category)


def iou_histogram_svg(ious: Sequence[float] | np.ndarray, miniou: float, title: str = "",
                      standalone: bool = False) -> str:
    """A histogram of the units' best IoU with the threshold ``miniou`` marked (SVG text)."""
    ious = np.asarray([v for v in ious if v is not None], dtype=np.float64)
    highest = float(ious.max()) if ious.size else 0.0
    step = 0.01 if highest <= 0.3 else 0.02
    edges = np.arange(0.0, max(highest, miniou) + 2 * step, step)
    counts, _ = np.histogram(ious, bins=edges)
    width, height, x0, y0 = 520, 240, 52, 24
    plot_w, plot_h = width - x0 - 16, height - y0 - 50
    xticks = svg.nice_ticks(0.0, float(edges[-1]), 6)
    yticks = svg.nice_ticks(0.0, float(max(counts.max(initial=0), 1)), 4)
    xscale = svg.linear_scale((0.0, xticks[-1]), (x0, x0 + plot_w))
    yscale = svg.linear_scale((0.0, yticks[-1]), (y0 + plot_h, y0))
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, yscale, xticks, yticks, "best IoU", "units")
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count == 0:
            continue
        fill = "#4e79a7" if left >= miniou - 1e-12 else "#bab0ac"
        bar = svg.element("rect", x=xscale(left) + 0.5, y=yscale(count),
                          width=max(xscale(right) - xscale(left) - 1, 1),
                          height=yscale(0) - yscale(count), fill=fill)
        tip = svg.element("title", f"IoU {left:.2f}-{right:.2f}: {count} units")
        body.append(svg.element("g", tip + bar))
    interpretable = int((ious > miniou).sum())
    line_x = xscale(miniou)
    body.append(svg.element("line", x1=line_x, x2=line_x, y1=y0, y2=y0 + plot_h,
                            stroke="#e15759", stroke_dasharray="4 3"))
    body.append(svg.text(x0 + plot_w, 13, f"IoU > {miniou:g} (dashed line): {interpretable} "
                         f"of {ious.size} units", size=11, anchor="end", colour="#c03030"))
    return svg.document(width, height, body, title or "Distribution of best IoU", standalone,
                        class_="histogram")


def layer_detectors_svg(layer_names: Sequence[str], counts: Sequence[dict[str, int]],
                        categories: Sequence[str], title: str, standalone: bool = False,
                        ymax: int = 1) -> str:
    """Stacked bars, one per layer: unique detectors per category (``counts[i][category]``),
    categories stacked in report order with a legend; the y axis reaches at least ``ymax``."""
    totals = [sum(c.get(cat, 0) for cat in categories) for c in counts]
    x0, y0, plot_h, step = 52, 16, 150, 46
    width = x0 + step * len(layer_names) + 130
    yticks = svg.nice_ticks(0, max(max(totals, default=0), ymax, 1), 4)
    yscale = svg.linear_scale((0, yticks[-1]), (y0 + plot_h, y0))
    centres = {name: x0 + step * (i + 0.5) for i, name in enumerate(layer_names)}
    body = svg.axes(x0, y0, step * len(layer_names), plot_h, lambda i: centres[layer_names[i]],
                    yscale, list(range(len(layer_names))), yticks, "layer", "unique detectors",
                    xtick_labels=list(layer_names))
    for name, layer_counts, total in zip(layer_names, counts, totals, strict=True):
        base = 0
        for cat in categories:
            n = layer_counts.get(cat, 0)
            if n:
                rect = svg.element("rect", x=centres[name] - 14, y=yscale(base + n), width=28,
                                   height=yscale(base) - yscale(base + n),
                                   fill=category_colour(cat))
                tip = svg.element("title", svg.escape(f"{name}, {cat}: {n}"))
                body.append(svg.element("g", tip + rect))
            base += n
        body.append(svg.text(centres[name], yscale(total) - 4, total, size=10, anchor="middle"))
    for i, cat in enumerate(categories):
        legend_x, legend_y = x0 + step * len(layer_names) + 20, y0 + 6 + 17 * i
        body.append(svg.element("rect", x=legend_x, y=legend_y - 9, width=11, height=11,
                                fill=category_colour(cat)))
        body.append(svg.text(legend_x + 16, legend_y, cat))
    height = max(y0 + plot_h + 44, y0 + 17 * len(categories) + 10)
    return svg.document(width, height, body, title, standalone, class_="stacked")
