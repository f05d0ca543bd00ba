"""Causal experiments on units: ablation, GAN removal and insertion, adversarial analysis, painting.

Every experiment is a pure function of a model (``Net``), data batches and unit sets, returning
numpy results; a ``*_json`` companion turns them into the JSON the report draws. Edit
experiments run through one loop, :func:`.sweep.sweep`: it places the data on the devices,
pads, evaluates the edits in chunks per compiled call (``Net.apply_edits``), sums exactly per
device and drops the padded edits; an experiment supplies only its measurement.
:mod:`jaxdissect.runs.experiments` runs them from model folders, data specs and dissection
folders (``jaxdissect experiment NAME``).

A new experiment touches three files: its module here (the edits, a ``measure`` for
:func:`.sweep.sweep`, the result JSON with a new ``kind``), its sub-command (one entry of
``EXPERIMENTS`` in :mod:`jaxdissect.commands.experiment`, whose front end is
:func:`jaxdissect.runs.experiments.image_experiment` when the model and images are all it
needs, else a function of its own there) and its figure (one entry of ``KINDS`` in
:mod:`jaxdissect.report.experiment_kinds`).
"""

from jaxdissect.interventions.ablation import (
    removal_curves,
    removal_curves_json,
    unit_importance,
)
from jaxdissect.interventions.accuracy import ClassCounts, count_predictions
from jaxdissect.interventions.adversarial import (
    CarliniWagner,
    adversarial_json,
    carlini_wagner,
    peak_activations,
    unit_peak_change,
)
from jaxdissect.interventions.generator import removal_json, remove_concept_units
from jaxdissect.interventions.insertion import (
    insert_concept_units,
    insertion_json,
    unit_quantiles,
)
from jaxdissect.interventions.painting import brush, erase, paint, paint_many
from jaxdissect.interventions.units import (
    concept_number,
    concept_units,
    labelled_and_random_sets,
    units_by_iou,
)

__all__ = [
    "CarliniWagner",
    "ClassCounts",
    "adversarial_json",
    "brush",
    "carlini_wagner",
    "concept_number",
    "concept_units",
    "count_predictions",
    "erase",
    "insert_concept_units",
    "labelled_and_random_sets",
    "insertion_json",
    "paint",
    "paint_many",
    "peak_activations",
    "removal_curves",
    "removal_curves_json",
    "remove_concept_units",
    "removal_json",
    "unit_importance",
    "unit_peak_change",
    "unit_quantiles",
    "units_by_iou",
]
