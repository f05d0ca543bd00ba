"""The demo's intervention experiments on the world models, one of each kind, as plot JSON.

* classifier unit ablation (:mod:`jaxdissect.interventions.ablation`): unit importance per class
  on training-seed world images, removal curves of a few classes on held-out images;
* generator concept-unit removal (:mod:`jaxdissect.interventions.generator`) and insertion by
  context (:mod:`jaxdissect.interventions.insertion`), for the concept with the most units in
  the dissected generator layer, with the world segmenter in the loop.

Each function returns the JSON of :mod:`jaxdissect.report.experiment_kinds` (read by the report
page) and one sentence saying what it found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxdissect.data.batching import batches
from jaxdissect.dissection.results import LayerResult
from jaxdissect.interventions import ablation
from jaxdissect.models.segmenter.segment import Segmenter
from jaxdissect.runs.demo_settings import HELD_OUT_SEED, TRAIN_SEED, DemoSettings
from jaxdissect.runs.experiments import insertion_experiment, removal_experiment
from jaxdissect.runs.models import StudiedModel
from jaxdissect.world.source import WorldRows
from jaxdissect.world.vocabulary import OBJECT_NUMBER


def classifier_ablation(model: StudiedModel, settings: DemoSettings, labels=None, devices=None):
    """Removal curves of ``settings.ablation_classes`` at ``settings.ablation_layer``; with the
    layer's :class:`~jaxdissect.dissection.labels.UnitLabels`, also the first class's accuracy
    with the units labelled ``settings.ablation_object`` removed, against random sets."""
    train = WorldRows(settings.ablation_images, seed=TRAIN_SEED)
    test = WorldRows(settings.ablation_images, seed=HELD_OUT_SEED)
    names = list(train.classes)
    classes = [names.index(c) for c in settings.ablation_classes]
    layer, size = settings.ablation_layer, settings.batch_size
    importance = ablation.unit_importance(model.net, layer, batches(train, size),
                                          devices=devices)
    curves = ablation.removal_curves(model.net, layer, importance.importance,
                                     batches(test, size), classes, devices=devices,
                                     random_draws=RANDOM_DRAWS)
    result = ablation.removal_curves_json(curves, names, layer)
    result.update(importance_data=f"world:{settings.ablation_images} seed {TRAIN_SEED}",
                  eval_data=f"world:{settings.ablation_images} seed {HELD_OUT_SEED}",
                  unit_effects=ablation.unit_effects_json(importance, names))
    finding = _ablation_finding(curves[0], names, layer)
    if labels is not None:
        result["concept_ablation"] = ablation.concept_ablation(
            model.net, layer, labels, OBJECT_NUMBER[settings.ablation_object],
            batches(test, size), classes, names, settings.ablation_object,
            draws=OBJECT_RANDOM_DRAWS, devices=devices)
        finding += _object_finding(result["concept_ablation"])
    return result, finding


OBJECT_RANDOM_DRAWS = 5
RANDOM_DRAWS = 3  # random-unit baselines of the removal curves


def _object_finding(found: dict) -> str:
    count, first = len(found["units"]), found["classes"][0]
    if not count:
        return f"; no unit is labelled {found['concept']}"
    return (f"; removing instead its {count} units labelled {found['concept']} moves it to "
            f"{first['concept_removed']:.2f} ({count} random units: "
            f"{np.mean(first['random_removed']):.2f} on average)")


def _ablation_finding(curve: ablation.RemovalCurve, names: list[str], layer: str) -> str:
    """The largest removal short of the whole layer, and the keep-top-k complement."""
    width = len(curve.ranking)
    at = max(i for i, k in enumerate(curve.removed) if k < width)
    name, acc = names[curve.class_index], curve.balanced_accuracy
    finding = (f"removing the {int(curve.removed[at])} most important of {width} {layer} units "
               f"for {name} moves its balanced accuracy from {acc[0]:.2f} to {acc[at]:.2f}")
    if curve.complement is not None:
        finding += (f"; with only its {curve.keep} most important units left it is "
                    f"{curve.complement[1]:.2f}")
    return finding


def generator_concept(result: LayerResult) -> tuple[str, int]:
    """The object (else any) concept labelling the most interpretable units of ``result``
    (ties: the higher best IoU), and that number of units."""
    labels, names = result.labels, result.vocabulary.names
    chosen = np.flatnonzero(labels.interpretable)
    if chosen.size == 0:
        raise ValueError(f"{result.layer}: no interpretable unit, so no concept to remove")
    objects = [u for u in chosen if labels.category[u] == "object"]
    pool = objects or list(chosen)
    concepts = sorted({int(labels.concept[u]) for u in pool},
                      key=lambda c: (-int((labels.concept[pool] == c).sum()),
                                     -float(labels.iou[pool][labels.concept[pool] == c].max())))
    best = concepts[0]
    return names[best], int((labels.concept[chosen] == best).sum())


def generator_removal(model: StudiedModel, layer_dir: Path, result: LayerResult,
                      segment: Segmenter, settings: DemoSettings, devices=None,
                      pictures: Path | None = None):
    """Zero 0..K units of highest IoU with the chosen concept; concept pixels left (and
    generated scenes before and after, saved in ``pictures``)."""
    concept, count = generator_concept(result)
    max_units = min(max(settings.removal_max_units, count), result.num_units)
    out = removal_experiment(model.net, str(layer_dir), concept, segmenter=segment,
                             samples=settings.removal_samples, seed=HELD_OUT_SEED,
                             max_units=max_units,
                             batch_size=min(settings.batch_size, settings.removal_samples),
                             devices=devices, random_draws=RANDOM_DRAWS, pictures=pictures)
    left = out["curves"][0]["accuracy"][count]
    finding = (f"removing the {count} {concept} units of {result.layer} removes "
               f"{100 * (1 - left):.0f}% of the {concept} pixels in generated images")
    return out, finding


def generator_insertion(model: StudiedModel, layer_dir: Path, result: LayerResult,
                        segment: Segmenter, settings: DemoSettings, devices=None,
                        pictures: Path | None = None):
    """Insert the chosen concept's top units at every cell; new pixels by context (and
    scenes before and after an insertion in a few contexts, saved in ``pictures``)."""
    concept, _ = generator_concept(result)
    units = min(settings.insertion_units, result.num_units)
    out = insertion_experiment(model.net, str(layer_dir), concept, segmenter=segment,
                               samples=settings.insertion_samples, seed=HELD_OUT_SEED,
                               units=units, quantile_samples=settings.quantile_samples,
                               batch_size=min(settings.batch_size, settings.insertion_samples),
                               devices=devices, pictures=pictures)
    rates = [(c["new_pixels"] / max(c["locations"], 1), c["label"],
              np.mean(c["random_new_pixels"]) / max(c["locations"], 1)
              if c.get("random_new_pixels") else None) for c in out["contexts"]]
    if not rates:
        return out, f"inserting {concept} units at {result.layer} changed nothing"
    rates.sort(key=lambda rate: (rate[0], rate[1]), reverse=True)
    most, least = rates[0], rates[-1]
    finding = (f"inserting {units} {concept} units at one {result.layer} cell adds "
               f"{most[0]:.1f} {concept} pixels on average where the scene shows {most[1]}, "
               f"{least[0]:.1f} where it shows {least[1]}")
    if most[2] is not None:
        finding += f" ({units} random units: {most[2]:.1f} where it shows {most[1]})"
    return out, finding
