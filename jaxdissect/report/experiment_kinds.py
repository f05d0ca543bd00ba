"""The kinds of experiment result the report draws, in one table keyed by the JSON's ``kind``.

The experiments write one JSON file each into ``<results dir>/experiments/``; the summary page
draws every file found there (:mod:`.experiment_figures`) and ``jaxdissect experiment`` prints
its finding. For each kind, :data:`KINDS` says how a file is checked, drawn and put in words:
:func:`load_experiment`, :func:`experiment_svg` and :func:`summary_lines` look the kind up
there. A new kind of result is one entry (its check, its plot, its lines), plus the schema
below. Three kinds are understood.

Removal curves (ablation: accuracy as units are removed; also the GAN tree-removal curve)::

    {
      "kind": "removal_curves",
      "title": "VGG16 Places365 conv5_3: removing each class's most important units",  (optional)
      "layer": "conv5_3",                                       (optional)
      "xlabel": "units removed",                                (optional)
      "ylabel": "balanced accuracy",                            (optional)
      "x_scale": "log",          (optional: "linear", or "log" for log(1 + x); default "log")
      "reference_lines": [{"name": "chance", "y": 0.5}],         (optional)
      "curves": [
        {"name": "ski resort", "removed": [0, 1, 2, 3, 4, 5, 20], "accuracy": [0.814, ...]},
        {"name": "ski resort, keep top 20", "removed": [492], "accuracy": [0.777],
         "dashed": true}                                         ("dashed" optional)
      ]
    }

``removed[i]`` is the number of units removed (an integer >= 0) and ``accuracy[i]`` the measured
value (any scale: a fraction, a pixel share); a curve with one point is drawn as a marker (a
``dashed`` one as the labelled "keep top ``keep``" point). Optional per curve: ``class`` (groups
a curve with its complement into one panel), ``keep``, and the random-unit baseline
``random_removed`` (sizes) with ``random`` (per size, one value per draw). Optional at the top:
``concept_ablation`` (the units labelled with a concept against as many random units, see
:func:`jaxdissect.interventions.ablation.concept_ablation`), ``unit_effects`` (what zeroing each
unit alone did, for the unit pages), ``pictures`` (:mod:`jaxdissect.report.pictures`) and
``finding`` (one sentence).

Insertion context (new object pixels, grouped by the original label where units were inserted)::

    {
      "kind": "insertion_context",
      "concept": "door", "layer": "layer4",
      "title": "...",                                           (optional)
      "units": [12, 85, ...],                                    (optional: the units set)
      "max_contexts": 20,                                        (optional: bars shown)
      "contexts": [
        {"label": "window", "new_pixels": 1200345, "locations": 20311,
         "random_new_pixels": [1021, 877]},                      (optional: the baseline)
        {"label": "sky", "new_pixels": 1034, "locations": 151000}
      ],
      "random_units": [[3, 40, ...], [7, 19, ...]]              (optional: the baseline's sets)
    }

``new_pixels`` is the number of output pixels that newly show ``concept`` after insertions at
locations whose original label was ``label``, and ``locations`` how many insertions that was; the
bars show new pixels per insertion, largest first. ``random_new_pixels`` gives the same count for
each set of ``random_units`` (as many units, drawn at random, inserted at the same cells of the
same samples): drawn as a grey bar under each context's bar, their mean, with the range.

Adversarial unit change (how each unit's peak activation moves under a targeted attack; written
by ``jaxdissect.interventions.adversarial_json``)::

    {
      "kind": "adversarial_unit_change",
      "layer": "conv5_3", "source": "ski_resort", "target": "bedroom",
      "success_rate": 0.98, "mean_l2": 0.41,                     (optional)
      "units": [
        {"unit": 261, "change": -53.2, "label": "snow"},          ("label" optional)
        {"unit": 157, "change": 43.5}
      ]
    }

``change`` is the mean change of the unit's peak activation (adversarial minus original); the
bars are drawn in the order given (the units that change most first), increases to the right.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jaxdissect.report import findings, plots
from jaxdissect.report.removal_plot import removal_curves_svg


@dataclass(frozen=True)
class ExperimentKind:
    """How the report handles one kind: ``check(path, data)`` raises ValueError naming the
    file and the missing or malformed key; ``svg(data, standalone)`` draws it; ``lines(data)``
    says what it found; ``units_were`` is what the experiment did to its ``units`` (words for
    the unit pages)."""

    check: Callable[[Path, dict], None]
    svg: Callable[[dict, bool], str]
    lines: Callable[[dict], list[str]]
    units_were: str = "removed"


def _require(path: Path, data: dict, key: str, kind_of: type | tuple, where: str = "") -> None:
    if not isinstance(data, dict) or not isinstance(data.get(key), kind_of):
        place = f"{where}." if where else ""
        raise ValueError(f"{path}: missing or malformed '{place}{key}' (see the schema in "
                         f"jaxdissect/report/experiment_kinds.py)")


def _check_removal(path: Path, data: dict) -> None:
    _require(path, data, "curves", list)
    for i, curve in enumerate(data["curves"]):
        _require(path, curve, "name", str, f"curves[{i}]")
        _require(path, curve, "removed", list, f"curves[{i}]")
        _require(path, curve, "accuracy", list, f"curves[{i}]")
        if len(curve["removed"]) != len(curve["accuracy"]) or not curve["removed"]:
            raise ValueError(f"{path}: curves[{i}] needs as many 'removed' as 'accuracy' "
                             f"values, at least one")


def _check_insertion(path: Path, data: dict) -> None:
    _require(path, data, "concept", str)
    _require(path, data, "contexts", list)
    for i, context in enumerate(data["contexts"]):
        for key, kind_of in (("label", str), ("new_pixels", (int, float)),
                             ("locations", (int, float))):
            _require(path, context, key, kind_of, f"contexts[{i}]")
        draws = context.get("random_new_pixels")
        if draws is not None and (not isinstance(draws, list) or not all(
                isinstance(d, (int, float)) for d in draws)):
            raise ValueError(f"{path}: contexts[{i}].random_new_pixels must be a list of "
                             "numbers (one per random unit set)")


def _check_adversarial(path: Path, data: dict) -> None:
    for key in ("source", "target"):
        _require(path, data, key, str)
    _require(path, data, "units", list)
    for i, unit in enumerate(data["units"]):
        _require(path, unit, "unit", int, f"units[{i}]")
        _require(path, unit, "change", (int, float), f"units[{i}]")
    draws = data.get("random")
    if draws is not None and (not isinstance(draws, list) or not all(
            isinstance(d, (int, float)) for d in draws)):
        raise ValueError(f"{path}: random must be a list of numbers (the mean absolute change "
                         "of each random unit set)")


KINDS: dict[str, ExperimentKind] = {
    "removal_curves": ExperimentKind(_check_removal, removal_curves_svg, findings.removal_lines),
    "insertion_context": ExperimentKind(_check_insertion, plots.insertion_context_svg,
                                        findings.insertion_lines, units_were="inserted"),
    "adversarial_unit_change": ExperimentKind(_check_adversarial, plots.adversarial_svg,
                                              findings.adversarial_lines),
}


def load_experiment(path: str | Path) -> dict:
    """Read and check one experiment result file; errors name the file and the missing key."""
    path = Path(path)
    data = json.loads(path.read_text())
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in KINDS:
        raise ValueError(f"{path}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    KINDS[kind].check(path, data)
    return data


def experiment_svg(data: dict, standalone: bool = False) -> str:
    """The plot of one checked experiment result (:func:`load_experiment`), as SVG text."""
    return KINDS[data["kind"]].svg(data, standalone)


def summary_lines(data: dict) -> list[str]:
    """A few lines saying what a checked experiment result found (:mod:`.findings`)."""
    return KINDS[data["kind"]].lines(data)
