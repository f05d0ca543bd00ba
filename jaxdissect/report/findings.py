"""An experiment's finding in a few lines of text: what ``jaxdissect experiment`` prints at the
end, and what the report shows above each experiment's figure.

:func:`~.experiment_kinds.summary_lines` reads a checked experiment result and calls, for
its kind, one of the functions here, which say what moved and what the random-unit baseline did:

* removal curves of a classifier: per class, the balanced accuracy unedited, after removing its
  most important units (a few sizes), with only the top k kept, each against as many random
  units when the baseline was measured; then the units labelled with a concept against random;
* removal curves of a generator (a ``concept``): the share of concept pixels left;
* insertion by context: where inserting adds the most and the fewest pixels;
* adversarial: the attack's success and the units that moved most.
"""

from __future__ import annotations

from collections.abc import Sequence

from jaxdissect.report.removal_plot import curve_groups

MAX_POINTS = 4


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _random_at(curve: dict, n: int) -> list[float] | None:
    for k, draws in zip(curve.get("random_removed", []), curve.get("random", []), strict=False):
        if k == n and draws:
            return [float(v) for v in draws]
    return None


def _spread(draws: list[float], fmt: str) -> str:
    low, high = format(min(draws), fmt), format(max(draws), fmt)
    return f" ({low}-{high})" if low != high else ""


def _against(value: float, draws: list[float] | None, fmt: str) -> str:
    text = format(value, fmt)
    if draws:
        text += f" (random: {format(_mean(draws), fmt)}{_spread(draws, fmt)})"
    return text


def _points(curve: dict) -> list[int]:
    """The sizes to quote: those with a random baseline, else a few spread over the curve."""
    sizes = [n for n in curve["removed"] if n > 0]
    with_random = [n for n in sizes if _random_at(curve, n)]
    chosen = with_random or sizes
    if len(chosen) > MAX_POINTS:
        step = (len(chosen) - 1) / (MAX_POINTS - 1)
        chosen = [chosen[round(i * step)] for i in range(MAX_POINTS)]
    return chosen


def _classifier_lines(data: dict) -> list[str]:
    lines = []
    for group in curve_groups(data["curves"]):
        curve = next((c for c in group if not c.get("dashed")), group[0])
        values = dict(zip(curve["removed"], curve["accuracy"], strict=True))
        parts = [f"{values[0]:.2f} unedited"] if 0 in values else []
        parts += [f"with {n} removed {_against(values[n], _random_at(curve, n), '.2f')}"
                  for n in _points(curve)]
        for keep in (c for c in group if c.get("dashed")):
            n, v = keep["removed"][0], keep["accuracy"][0]
            parts.append(f"with only its top {keep.get('keep', '?')} kept "
                         f"{_against(v, _random_at(keep, n), '.2f')}")
        lines.append(f"{curve['name']}: " + "; ".join(parts))
    entry = data.get("concept_ablation")
    if entry:
        count = len(entry.get("units", []))
        if not count:
            lines.append(f"no unit of {entry.get('layer', 'the layer')} is labelled "
                         f"{entry['concept']}")
        for c in entry.get("classes", []) if count else []:
            draws = c["random_removed"]
            lines.append(f"{c['name']}: removing the {count} units labelled {entry['concept']}: "
                         f"{c['unedited']:.2f} -> {c['concept_removed']:.2f}; {count} random "
                         f"units: {_mean(draws):.2f} on average{_spread(draws, '.2f')}")
    return lines


def _change(left: float, concept: str = "") -> str:
    """A fraction of pixels left, in words: "57% of the tree pixels gone", "10% more"."""
    pixels = f" of the {concept} pixels" if concept else ""
    if left <= 1:
        return f"{100 * (1 - left):.0f}%{pixels} gone"
    return f"{100 * (left - 1):.0f}% more{f' {concept} pixels' if concept else ''}"


def removal_lines(data: dict) -> list[str]:
    """Removal curves of a generator (they name a ``concept``) or of a classifier."""
    return _generator_lines(data) if data.get("concept") else _classifier_lines(data)


def _generator_lines(data: dict) -> list[str]:
    curve, concept = data["curves"][0], data["concept"]
    values = dict(zip(curve["removed"], curve["accuracy"], strict=True))
    lines = []
    for n in _points(curve):
        draws = _random_at(curve, n)
        lines.append(f"{n} {concept} units removed: {_change(values[n], concept)}"
                     + (f" ({n} random units: {_change(_mean(draws))})" if draws else ""))
    labelled = data.get("labelled_units")
    if labelled is not None:
        lines.append(f"{len(labelled)} units of {data.get('layer', 'the layer')} are labelled "
                     f"{concept}")
    return lines


def insertion_lines(data: dict) -> list[str]:
    rates = sorted(((c["new_pixels"] / c["locations"] if c["locations"] else 0.0, c["label"],
                     c["locations"]) for c in data["contexts"]), key=lambda r: (-r[0], r[1]))
    concept = data["concept"]
    if not rates:
        return [f"no insertion of {concept} units was measured"]
    shown = rates[:3] + [r for r in rates[3:][-2:]]
    lines = [f"inserting {len(data.get('units', []))} {concept} units at one cell of "
             f"{data.get('layer', 'the layer')}: new {concept} pixels per insertion, by what the "
             f"scene shows there"]
    random = {c["label"]: c["random_new_pixels"] for c in data["contexts"]
              if c.get("random_new_pixels")}

    def versus(label, locations):
        draws = random.get(label)
        if not draws or not locations:
            return ""
        mean = sum(draws) / len(draws) / locations
        return f"; {len(data.get('units', []))} random units: {mean:.2f}"

    return lines + [f"{label}: {rate:.2f} ({locations:,} insertions{versus(label, locations)})"
                    for rate, label, locations in shown]


def adversarial_lines(data: dict) -> list[str]:
    lines = []
    if "success_rate" in data:
        lines.append(f"attack {data['source']} -> {data['target']}: "
                     f"{100 * float(data['success_rate']):.0f}% of the images reached the target")
    for unit in data["units"][:5]:
        label = f" ({unit['label']})" if unit.get("label") else ""
        lines.append(f"unit {unit['unit']}{label}: peak activation {float(unit['change']):+.3g}")
    draws = data.get("random")
    if draws and "top_mean_abs_change" in data:
        lines.append(f"the {len(data['units'])} units that change most move by "
                     f"{float(data['top_mean_abs_change']):.3g} on average; as many random "
                     f"units by {sum(draws) / len(draws):.3g} ({len(draws)} draws)")
    return lines
