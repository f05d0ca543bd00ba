"""The causal figures of the ablation experiments, as SVG: removal curves and concept bars.

* :func:`removal_curves_svg`: a value (balanced accuracy, a share of pixels) against the number
  of units removed. Each class (a curve and its single-point "keep top k" complement, grouped by
  ``class`` or by name) gets its own panel with a shared y axis (small multiples: curves of
  several classes often lie on top of each other), drawn with its random-unit baseline when the
  curve carries one (``random_removed`` and ``random``: per point, one value per draw; the grey
  band spans the draws, the dashed line is their mean). The complement is a labelled diamond.
* :func:`concept_ablation_svg`: per class, three bars: unedited, the units labelled with a
  concept removed, and as many random units removed (the mean, a whisker over the draws and a
  dot per draw).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from jaxdissect.report import svg

CURVE_COLOURS = ("#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948",
                 "#9c755f", "#ff9da7", "#bab0ac")
BASELINE = "#8c8c8c"
PANEL_W, PANEL_H, PANEL_GAP, PER_ROW = 300, 230, 16, 3
LEFT, TOP, BOTTOM, RIGHT = 52, 28, 44, 14
LEGEND_WIDTH = 700  # the legend's three entries in one line


def curve_groups(curves: list[dict]) -> list[list[dict]]:
    """Curves grouped by class (``class``, else the name before ``", keep top"``), in order."""
    groups: dict = {}
    for curve in curves:
        key = curve.get("class", curve["name"].split(", keep top")[0])
        groups.setdefault(key, []).append(curve)
    return list(groups.values())


def removal_ticks(values: list[float], log_x: bool) -> list[float]:
    """x ticks: on a log(1 + x) axis 0 and powers of two up to the largest count, then it."""
    if not log_x:
        return svg.nice_ticks(values[0], values[-1], 5)
    ticks = [0] + [2**k for k in range(0, 20) if 2**k <= values[-1]]
    ticks = [t for t in ticks if t >= values[0]]
    if values[-1] not in ticks and values[-1] > 1.3 * ticks[-1]:
        ticks.append(values[-1])
    if len(ticks) > 7:  # keep the labels apart: every other power of two
        ticks = ticks[:1] + ticks[1:-1][1::2] + ticks[-1:]
    return ticks


def _values(curves: list[dict], data: dict) -> list[float]:
    ys = [v for c in curves for v in c["accuracy"]]
    ys += [v for c in curves for draws in c.get("random", []) for v in draws]
    return ys + [line["y"] for line in data.get("reference_lines", [])]


def removal_curves_svg(data: dict, standalone: bool = False) -> str:
    """Small multiples of the removal curves (see the module docstring), with a legend."""
    curves = data["curves"]
    groups = curve_groups(curves)
    log_x = data.get("x_scale", "log") == "log"
    warp = math.log1p if log_x else float
    xs = sorted({n for c in curves for n in (*c["removed"], *c.get("random_removed", []))})
    xticks = removal_ticks(xs, log_x)
    ys = _values(curves, data)
    yticks = svg.nice_ticks(min(0.0, min(ys)), max(ys), 4)
    plot_w, plot_h = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM
    body = []
    for index, group in enumerate(groups):
        x0 = PANEL_GAP / 2 + (index % PER_ROW) * PANEL_W + LEFT
        y0 = (index // PER_ROW) * PANEL_H + TOP
        low, high = warp(min(xs + xticks)), warp(max(xs + xticks))
        xscale = svg.linear_scale((low, high), (x0, x0 + plot_w))
        yscale = svg.linear_scale((yticks[0], yticks[-1]), (y0 + plot_h, y0))
        body += _panel(group, data, lambda n, s=xscale: s(warp(n)), yscale, x0, y0, xticks,
                       yticks, CURVE_COLOURS[index % len(CURVE_COLOURS)])
    columns = min(len(groups), PER_ROW)
    rows = -(-len(groups) // PER_ROW)
    width, legend_y = columns * PANEL_W + PANEL_GAP, rows * PANEL_H + 8
    body += _legend(legend_y, any("random" in c for c in curves),
                    any(c.get("dashed") for c in curves))
    title = data.get("title") or f"Removal curves {data.get('layer', '')}".strip()
    return svg.document(max(width, LEGEND_WIDTH), legend_y + 24, body, title, standalone,
                        class_="plot removal")


def _panel(group, data, x_of: Callable, yscale: Callable, x0, y0, xticks, yticks,
           colour) -> list[str]:
    plot_w, plot_h = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM
    main = next((c for c in group if not c.get("dashed")), group[0])
    body = svg.axes(x0, y0, plot_w, plot_h, x_of, yscale, xticks, yticks,
                    data.get("xlabel", "units removed"), data.get("ylabel", "accuracy"))
    body.append(svg.text(x0, y0 - 10, main["name"], size=12.5, colour=colour,
                         font_weight="600"))
    for line in data.get("reference_lines", []):
        y = yscale(line["y"])
        body.append(svg.element("line", x1=x0, x2=x0 + plot_w, y1=y, y2=y, stroke="#999",
                                stroke_dasharray="2 3"))
        body.append(svg.text(x0 + plot_w - 2, y - 4, line.get("name", ""), size=9.5,
                             anchor="end", colour="#777"))
    for curve in group:
        if curve.get("random"):
            body.append(_baseline(curve, x_of, yscale))
    for curve in group:
        body.append(_keep_point(curve, x_of, yscale, colour) if curve.get("dashed")
                    else _curve(curve, x_of, yscale, colour))
    return body


def _baseline(curve: dict, x_of: Callable, yscale: Callable) -> str:
    """The random-unit baseline: band over the draws, dashed mean (one point: a whisker)."""
    points = [(x_of(n), [float(v) for v in draws])
              for n, draws in zip(curve["random_removed"], curve["random"], strict=True) if draws]
    parts = [svg.element("title", svg.escape(
        f"{curve['name']}: as many random units removed (" + "; ".join(
            f"{n}: mean {sum(d) / len(d):.3g}, range {min(d):.3g}-{max(d):.3g}"
            for n, d in zip(curve["random_removed"], curve["random"], strict=True) if d) + ")"))]
    means = [(x, yscale(sum(d) / len(d))) for x, d in points]
    if len(points) > 1:
        upper = " ".join(f"{x:.1f},{yscale(max(d)):.1f}" for x, d in points)
        lower = " ".join(f"{x:.1f},{yscale(min(d)):.1f}" for x, d in reversed(points))
        parts.append(svg.element("polygon", points=f"{upper} {lower}", fill=BASELINE,
                                 fill_opacity=0.22, stroke="none"))
        parts.append(svg.element("polyline", points=" ".join(f"{x:.1f},{y:.1f}" for x, y in means),
                                 fill="none", stroke=BASELINE, stroke_width=1.6,
                                 stroke_dasharray="5 3"))
    for (x, d), (_, mean) in zip(points, means, strict=True):
        parts.append(svg.element("line", x1=x, x2=x, y1=yscale(min(d)), y2=yscale(max(d)),
                                 stroke=BASELINE, stroke_width=1.2))
        parts.append(svg.element("circle", cx=x, cy=mean, r=2.6, fill="#fff", stroke=BASELINE,
                                 stroke_width=1.4))
    return svg.element("g", "".join(parts), class_="baseline")


def _curve(curve: dict, x_of: Callable, yscale: Callable, colour: str) -> str:
    pairs = list(zip(curve["removed"], curve["accuracy"], strict=True))
    points = [(x_of(n), yscale(v)) for n, v in pairs]
    parts = [svg.element("title", svg.escape(curve["name"]))]
    if len(points) > 1:
        parts.append(svg.element("polyline", points=" ".join(f"{x:.1f},{y:.1f}"
                                                             for x, y in points),
                                 fill="none", stroke=colour, stroke_width=2.2))
    for (x, y), (n, v) in zip(points, pairs, strict=True):
        tip = svg.element("title", svg.escape(f"{curve['name']}: {n} removed -> {v:.4g}"))
        parts.append(svg.element("circle", tip, cx=x, cy=y, r=3.3, fill=colour))
    return svg.element("g", "".join(parts), class_="curve")


def _keep_point(curve: dict, x_of: Callable, yscale: Callable, colour: str) -> str:
    """The complement (every unit but the top k removed): a diamond with its label."""
    n, v = curve["removed"][0], curve["accuracy"][0]
    x, y = x_of(n), yscale(v)
    keep = curve.get("keep")
    label = f"keep top {keep}: {v:.2f}" if keep is not None else f"{curve['name']}: {v:.2f}"
    tip = svg.element("title", svg.escape(f"{curve['name']} ({n} removed) -> {v:.4g}"))
    diamond = svg.element("rect", tip, x=x - 4.5, y=y - 4.5, width=9, height=9, fill="#fff",
                          stroke=colour, stroke_width=2, transform=f"rotate(45 {x:.1f} {y:.1f})")
    text = svg.text(x - 8, y - 8, label, size=10.5, anchor="end", colour=colour,
                    font_weight="600")
    return svg.element("g", svg.element("title", svg.escape(curve["name"])) + diamond + text,
                       class_="curve keep")


def _legend(y: float, baseline: bool, keep: bool) -> list[str]:
    x = PANEL_GAP / 2 + LEFT
    parts = [svg.element("line", x1=x, x2=x + 22, y1=y, y2=y, stroke="#444", stroke_width=2.2),
             svg.text(x + 28, y + 4, "most important units removed first", size=10.5)]
    x += 250
    if baseline:
        parts += [svg.element("rect", x=x, y=y - 5, width=22, height=10, fill=BASELINE,
                              fill_opacity=0.22),
                  svg.element("line", x1=x, x2=x + 22, y1=y, y2=y, stroke=BASELINE,
                              stroke_dasharray="5 3", stroke_width=1.6),
                  svg.text(x + 28, y + 4, "as many random units (mean, range)", size=10.5)]
        x += 240
    if keep:
        parts += [svg.element("rect", x=x + 6, y=y - 4.5, width=9, height=9, fill="#fff",
                              stroke="#444", stroke_width=2,
                              transform=f"rotate(45 {x + 10.5:.1f} {y:.1f})"),
                  svg.text(x + 22, y + 4, "all but the top k removed", size=10.5)]
    return parts


def concept_ablation_svg(entry: dict, standalone: bool = False) -> str:
    """Per class: unedited, the concept's units removed, as many random units removed."""
    classes, concept = entry["classes"], entry["concept"]
    count = len(entry.get("units", []))
    group_w, bar_w, x0, y0, plot_h = 150, 34, 56, 34, 170
    width = x0 + group_w * max(len(classes), 1) + 20
    values = [v for c in classes for v in (c["unedited"], c["concept_removed"],
                                           *c["random_removed"])]
    yticks = svg.nice_ticks(0.0, max(values + [1.0]), 4)
    yscale = svg.linear_scale((0.0, yticks[-1]), (y0 + plot_h, y0))
    centres = [x0 + group_w * (i + 0.5) for i in range(len(classes))]
    body = svg.axes(x0, y0, group_w * len(classes), plot_h, lambda i: centres[i], yscale,
                    list(range(len(classes))), yticks, "class", "balanced accuracy",
                    xtick_labels=[c["name"] for c in classes])
    body.append(svg.text(x0, 16, f"Removing the {count} units labelled {concept} against "
                         f"{count} random units ({len(classes[0]['random_removed'])} draws)",
                         size=12))
    for centre, c in zip(centres, classes, strict=True):
        randoms = c["random_removed"]
        mean = sum(randoms) / len(randoms) if randoms else float("nan")
        bars = (("unedited", c["unedited"], "#bab0ac"),
                (f"{concept} units removed", c["concept_removed"], "#e15759"),
                ("random units removed (mean)", mean, "#76b7b2"))
        for k, (name, value, fill) in enumerate(bars):
            left = centre - 1.5 * bar_w + k * bar_w + 2
            if value != value:  # no draws
                continue
            tip = svg.element("title", svg.escape(f"{c['name']}, {name}: {value:.3f}"))
            rect = svg.element("rect", x=left, y=yscale(value), width=bar_w - 4,
                               height=yscale(0) - yscale(value), fill=fill)
            body.append(svg.element("g", tip + rect, class_="bar"))
            body.append(svg.text(left + (bar_w - 4) / 2, yscale(value) - 4, f"{value:.2f}",
                                 size=9.5, anchor="middle", colour="#333"))
        if randoms:
            middle = centre + 0.5 * bar_w
            body.append(svg.element("line", x1=middle, x2=middle, y1=yscale(min(randoms)),
                                    y2=yscale(max(randoms)), stroke="#333", stroke_width=1.3))
            for v in randoms:
                body.append(svg.element("circle", cx=middle, cy=yscale(v), r=2.2, fill="#333"))
    legend = (("unedited", "#bab0ac"), (f"{concept} units removed", "#e15759"),
              ("random units removed: mean, range, draws", "#76b7b2"))
    for k, (name, fill) in enumerate(legend):
        ly = y0 + plot_h + 50 + 16 * k
        body.append(svg.element("rect", x=x0, y=ly - 9, width=11, height=11, fill=fill))
        body.append(svg.text(x0 + 16, ly, name, size=10.5))
    title = f"{entry.get('layer', '')}: units labelled {concept} vs random units".strip(": ")
    return svg.document(max(width, 420), y0 + plot_h + 50 + 16 * 3, body, title, standalone,
                        class_="plot concept")
