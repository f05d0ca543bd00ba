"""Plots of the intervention experiments that draw bars (SVG): insertion by context and the
adversarial unit change. The removal curves are drawn by :mod:`.removal_plot`; which plot draws
which kind of result, and the JSON schema of each, is the table of :mod:`.experiment_kinds`.
"""

from __future__ import annotations

from jaxdissect.report import svg


def insertion_context_svg(data: dict, standalone: bool = False) -> str:
    """Horizontal bars: new concept pixels per insertion, by the original label at the location."""
    def rate(pixels, locations):
        return pixels / locations if locations else 0.0

    rows = [(c["label"], rate(c["new_pixels"], c["locations"]), c["locations"],
             [rate(d, c["locations"]) for d in c.get("random_new_pixels") or []])
            for c in data["contexts"]]
    rows = sorted(rows, key=lambda row: (-row[1], row[0]))[: int(data.get("max_contexts", 20))]
    baseline = any(row[3] for row in rows)
    concept = data["concept"]
    row_h, x0, y0, plot_w = 20, 150, 30, 360
    height = y0 + row_h * max(len(rows), 1) + (64 if baseline else 50)
    top = max((max([mean, *draws]) for _, mean, _, draws in rows), default=0.0) or 1.0
    xticks = svg.nice_ticks(0.0, top, 5)
    xscale = svg.linear_scale((0.0, xticks[-1]), (x0, x0 + plot_w))
    plot_h = row_h * max(len(rows), 1)
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, lambda v: v, xticks, [],
                    f"new {concept} pixels per insertion", "")
    body.append(svg.text(x0, 16, f"Where inserting '{concept}' units adds {concept} "
                         f"(original label at the location)", size=12))
    if baseline:
        n = len(data.get("random_units") or []) or max(len(row[3]) for row in rows)
        body.append(svg.element("rect", x=x0 + plot_w - 150, y=y0 + plot_h + 47, width=10,
                                height=6, fill="#bab0ac"))
        body.append(svg.text(x0 + plot_w - 136, y0 + plot_h + 53,
                             f"as many random units ({n} set{'s' * (n != 1)})", size=10))
    for index, (label, mean, locations, draws) in enumerate(rows):
        top_y = y0 + index * row_h + 3
        high = row_h - 6 - (5 if draws else 0)
        bar = svg.element("rect", x=x0, y=top_y, width=max(xscale(mean) - x0, 0.5),
                          height=high, fill="#4e79a7")
        tip_text = f"{label}: {mean:.4g} new pixels per insertion, {locations:g} insertions"
        if draws:
            low, average, peak = min(draws), sum(draws) / len(draws), max(draws)
            tip_text += f"; random units: {average:.4g} (range {low:.4g}-{peak:.4g})"
            bar += svg.element("rect", x=x0, y=top_y + high + 1,
                               width=max(xscale(average) - x0, 0.5), height=4, fill="#bab0ac")
            if peak > low:
                bar += svg.element("line", x1=xscale(low), x2=xscale(peak), y1=top_y + high + 3,
                                   y2=top_y + high + 3, stroke="#555", stroke_width=1)
        tip = svg.element("title", svg.escape(tip_text))
        body.append(svg.element("g", tip + bar))
        body.append(svg.text(x0 - 6, top_y + row_h - 10, label, anchor="end"))
        body.append(svg.text(xscale(mean) + 4, top_y + row_h - 10, f"{mean:.3g}", size=10,
                             colour="#555"))
    title = data.get("title") or f"Inserting {concept} units at {data.get('layer', '?')}"
    return svg.document(x0 + plot_w + 70, height, body, title, standalone, class_="plot")


def adversarial_svg(data: dict, standalone: bool = False) -> str:
    """Bars around zero: the change of each unit's peak activation under the attack."""
    title = data.get("title") or (f"Peak activation change at {data.get('layer', '?')}, "
                                  f"{data['source']} -> {data['target']}")
    draws = data.get("random") or []
    return unit_change_svg(data["units"][: int(data.get("max_units", 20))],
                           f"Attack {data['source']} -> {data['target']}: units that change most",
                           "change of the unit's peak activation", title, standalone,
                           baseline=sum(draws) / len(draws) if draws else None,
                           baseline_label=f"mean |change| of as many random units "
                                          f"({len(draws)} draw{'s' * (len(draws) != 1)})")


def unit_change_svg(units: list[dict], heading: str, xlabel: str, title: str,
                    standalone: bool = False, baseline: float | None = None,
                    baseline_label: str = "") -> str:
    """Bars around zero, one per entry of ``units`` (``unit``, ``change``, optional ``label``),
    in the order given, increases to the right; ``baseline`` (a size of change, e.g. that of
    random units) is drawn as dashed lines at plus and minus it."""
    rows = [(f"unit {u['unit']}" + (f" {u['label']}" if u.get("label") else ""),
             float(u["change"])) for u in units]
    row_h, x0, y0, plot_w = 20, 150, 30, 360
    plot_h = row_h * max(len(rows), 1)
    reach = max([abs(change) for _, change in rows] + [abs(baseline or 0.0)]) or 1.0
    xticks = svg.nice_ticks(-reach, reach, 6)
    xscale = svg.linear_scale((xticks[0], xticks[-1]), (x0, x0 + plot_w))
    body = svg.axes(x0, y0, plot_w, plot_h, xscale, lambda v: v, xticks, [], xlabel, "")
    body.append(svg.text(x0, 16, heading, size=12))
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
    if baseline is not None:
        tip = svg.element("title", svg.escape(f"{baseline_label}: {baseline:.4g}"))
        for value in (-abs(baseline), abs(baseline)):
            body.append(svg.element("g", tip + svg.element(
                "line", x1=xscale(value), y1=y0, x2=xscale(value), y2=y0 + plot_h,
                stroke="#555", stroke_dasharray="4 3")))
        body.append(svg.text(x0, y0 + plot_h + 58, f"dashed: {baseline_label}", size=10))
    height = y0 + plot_h + (64 if baseline is not None else 50)
    return svg.document(x0 + plot_w + 30, height, body, title, standalone,
                        class_="plot")
