"""A one-screen text summary of dissected layers: what the units detect, and where to look.

Per layer: interpretable units out of all (best IoU above miniou), how many of them per
category, the number of distinct concepts they detect, and the best few detectors as
``unit 12 house (0.31)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from jaxdissect.dissection.results import LayerResult

TOP_DETECTORS = 4


def category_counts(result: LayerResult) -> dict[str, int]:
    """Interpretable units per category (of their best label), in report order."""
    labels = result.labels
    counted = Counter(labels.category[u] for u in np.flatnonzero(labels.interpretable))
    return {c: counted[c] for c in labels.category_names if counted[c]}


def best_detectors(result: LayerResult, count: int = TOP_DETECTORS) -> list[tuple[int, str, float]]:
    """(unit, label, IoU) of the ``count`` interpretable units of highest IoU (ties: lower
    unit)."""
    labels = result.labels
    order = np.argsort(-labels.iou.astype(np.float64), kind="stable")
    chosen = [int(u) for u in order if labels.interpretable[u]][:count]
    names = result.vocabulary.names
    return [(u, names[int(labels.concept[u])], float(labels.iou[u])) for u in chosen]


def layer_lines(result: LayerResult, count: int = TOP_DETECTORS) -> list[str]:
    """Two lines for one layer (see the module docstring)."""
    labels = result.labels
    interpretable = int(labels.interpretable.sum())
    cats = ", ".join(f"{n} {c}" for c, n in category_counts(result).items()) or "none"
    distinct = len(set(labels.concept[labels.interpretable].tolist()))
    first = (f"{result.layer}: {interpretable}/{result.num_units} units interpretable "
             f"(IoU > {labels.miniou:g}): {cats}; {distinct} distinct concepts")
    best = best_detectors(result, count)
    if not best:
        return [first]
    shown = ", ".join(f"unit {u} {name} ({iou:.2f})" for u, name, iou in best)
    return [first, f"  best: {shown}"]


def summary_text(results: Mapping[str, LayerResult], report: str | None = None,
                 reused: list[str] | tuple = ()) -> str:
    """The summary of several layers, with the report's location."""
    lines = []
    for result in results.values():
        lines += layer_lines(result)
    if reused:
        lines.append(f"reused without recomputing: {', '.join(reused)} (same settings)")
    if report:
        lines.append(f"report: {report}")
    return "\n".join(lines)
