"""A few SVG building blocks for the report's charts: elements, documents, scales, axes, ticks.

Charts are written as plain SVG text by this package (no plotting library), so they can be inlined
in the HTML pages (which then work offline) or saved as ``.svg`` files. Text uses the generic
``sans-serif`` family, so no font is downloaded.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"
AXIS_COLOUR = "#555"
GRID_COLOUR = "#e3e3e3"


def escape(text: object) -> str:
    """Text made safe for SVG and HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def element(tag: str, content: str | None = None, **attrs: object) -> str:
    """``<tag a="v">content</tag>``; attribute names use ``_`` for ``-`` (``font_size``), a trailing
    ``_`` is dropped (``class_``), and attributes whose value is None are left out."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None:
            continue
        key = name.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = f"{value:.2f}".rstrip("0").rstrip(".")
        parts.append(f'{key}="{escape(value)}"')
    opening = " ".join(parts)
    if content is None:
        return f"<{opening}/>"
    return f"<{opening}>{content}</{tag}>"


def document(width: float, height: float, body: Sequence[str], title: str,
             standalone: bool = False, class_: str | None = None) -> str:
    """An ``<svg>`` of the given size holding ``body``; ``standalone`` adds the XML declaration
    that a separate ``.svg`` file needs."""
    content = element("title", escape(title)) + "".join(body)
    svg = element(
        "svg", content, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
        viewBox=f"0 0 {width:g} {height:g}", role="img", class_=class_, style=FONT,
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n") if standalone else svg


def text(x: float, y: float, content: object, size: float = 11, anchor: str = "start",
         colour: str = "#222", **attrs: object) -> str:
    """A text label at (x, y) (baseline)."""
    return element("text", escape(content), x=x, y=y, font_size=size, text_anchor=anchor,
                   fill=colour, **attrs)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 times 10^k), the first at or below
    ``low`` and the last at or above ``high``, so an axis from first to last shows all data."""
    if not high > low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def format_tick(value: float) -> str:
    """A short tick label: integers without decimals, others with at most 3 significant digits."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3g}"


def linear_scale(domain: tuple[float, float], span: tuple[float, float]) -> Callable:
    """A function mapping [domain] linearly onto [span] (pixels)."""
    (d0, d1), (s0, s1) = domain, span
    width = (d1 - d0) or 1.0
    return lambda value: s0 + (value - d0) * (s1 - s0) / width


def axes(x0: float, y0: float, width: float, height: float, xscale: Callable, yscale: Callable,
         xticks: Sequence[float], yticks: Sequence[float], xlabel: str, ylabel: str,
         xtick_labels: Sequence[str] | None = None) -> list[str]:
    """Horizontal grid lines at ``yticks``, both axes with tick labels, and the axis titles.

    The plot area is ``[x0, x0 + width] x [y0, y0 + height]`` (SVG y grows downwards); leave
    ``x0 >= 48`` for the tick labels and the vertical axis title.
    """
    bottom = y0 + height
    parts = []
    for tick in yticks:
        y = yscale(tick)
        parts.append(element("line", x1=x0, x2=x0 + width, y1=y, y2=y, stroke=GRID_COLOUR))
        parts.append(text(x0 - 6, y + 4, format_tick(tick), size=10, anchor="end"))
    labels = xtick_labels or [format_tick(t) for t in xticks]
    for tick, label in zip(xticks, labels, strict=True):
        x = xscale(tick)
        parts.append(element("line", x1=x, x2=x, y1=bottom, y2=bottom + 4, stroke=AXIS_COLOUR))
        parts.append(text(x, bottom + 16, label, size=10, anchor="middle"))
    parts.append(element("path", d=f"M{x0:g},{y0:g}V{bottom:g}H{x0 + width:g}", fill="none",
                         stroke=AXIS_COLOUR))
    parts.append(text(x0 + width / 2, bottom + 34, xlabel, anchor="middle"))
    middle = y0 + height / 2
    parts.append(text(x0 - 32, middle, ylabel, anchor="middle",
                      transform=f"rotate(-90 {x0 - 32:g} {middle:g})"))
    return parts
