"""Classifier unit ablation (PNAS 2020, section 2): unit importance per class and removal curves.

* :func:`unit_importance`: for every class, the drop in its balanced accuracy (see
  :mod:`.accuracy`) when each single unit of a layer is zeroed over its whole map. All ``U + 1``
  models (the unedited one first) are evaluated in one pass over the data, ``chunk_size``
  ablations per compiled call (vmap over the ablated unit), data parallel over the devices.
* :func:`removal_curves`: for chosen classes, remove each class's ``k`` most important units
  for ``k`` in ``sizes`` (clipped to the layer width) and, as the complement, every unit but the
  ``keep`` most important; report the class's balanced accuracy and the all-class accuracy for
  each set. Every set of every class is evaluated in one pass over the data.

The paper measures importance on the training split and evaluates removals on the validation
split: give different batches to the two functions. Ranking: importance descending, ties to the
lower unit number. The reference runs one data pass per ablation set; here one pass evaluates
every set, so the cost is one pass per experiment (plus the vmapped tail of the network).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jaxdissect import sharding
from jaxdissect.interventions.accuracy import ClassCounts, Inputs, count_predictions
from jaxdissect.interventions.sweep import layer_width
from jaxdissect.models.base import Net

REMOVAL_SIZES = (1, 2, 3, 4, 5, 20, 64, 128, 256)
KEEP_MOST_IMPORTANT = 20


@dataclass(frozen=True)
class UnitImportance:
    """``baseline`` (C,) balanced accuracy of the unedited model; ``ablated`` (U, C) with unit
    u zeroed; ``importance`` (U, C) = baseline - ablated (float64, NaN for classes without
    images); ``counts``: the raw :class:`ClassCounts` (set 0 unedited, set u + 1 unit u)."""

    baseline: np.ndarray
    ablated: np.ndarray
    importance: np.ndarray
    counts: ClassCounts

    def ranking(self, class_index: int) -> np.ndarray:
        """Units of ``class_index`` from the most to the least important."""
        return rank_units(self.importance[:, class_index])


def rank_units(importance: np.ndarray) -> np.ndarray:
    """int64 (U,): units by importance descending, ties to the lower unit; NaN ranks last."""
    scores = np.nan_to_num(np.asarray(importance, np.float64), nan=-np.inf)
    return np.argsort(-scores, kind="stable")


def _num_units(net: Net, layer: str, batches) -> tuple[int, Iterable]:
    """The layer width, from the model's shapes for the first batch's image size."""
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no batches given")
    image = np.asarray(first["image"]) if "image" in first else None
    if image is None:
        raise ValueError("cannot tell the layer width without an 'image' array; pass num_units")
    units = layer_width(net, layer, (1, *image.shape[1:]))[-1]

    def chained():
        yield first
        yield from iterator

    return units, chained()


def unit_importance(
    net: Net,
    layer: str,
    batches: Iterable[Mapping[str, np.ndarray]],
    *,
    num_units: int | None = None,
    inputs: Inputs | None = None,
    chunk_size: int = 32,
    devices: sharding.Devices = None,
) -> UnitImportance:
    """Every single-unit ablation of ``layer`` in one pass over ``batches`` (see
    :func:`~jaxdissect.interventions.accuracy.count_predictions` for the batch format)."""
    if num_units is None:
        num_units, batches = _num_units(net, layer, batches)
    sets = np.concatenate([np.zeros((1, num_units), bool), np.eye(num_units, dtype=bool)])
    counts = count_predictions(net, layer, sets, batches, inputs=inputs, chunk_size=chunk_size,
                               devices=devices)
    accuracy = counts.balanced_accuracy()
    return UnitImportance(baseline=accuracy[0], ablated=accuracy[1:],
                          importance=accuracy[0][None, :] - accuracy[1:], counts=counts)


@dataclass(frozen=True)
class RemovalSet:
    """One ablation set of a removal curve: ``units`` removed (sorted by importance)."""

    class_index: int
    removed: int
    units: np.ndarray
    complement: bool


def removal_sets(ranking: np.ndarray, class_index: int, sizes: Sequence[int] = REMOVAL_SIZES,
                 keep: int = KEEP_MOST_IMPORTANT) -> list[RemovalSet]:
    """The sets of one class: nothing removed, the top ``k`` for each size (clipped to the
    width, repeated sizes dropped), then everything but the top ``keep`` (when keep < width)."""
    width = len(ranking)
    counts = sorted({0, *(min(int(k), width) for k in sizes)})
    sets = [RemovalSet(class_index, k, np.asarray(ranking[:k]), False) for k in counts]
    if 0 <= keep < width:
        sets.append(RemovalSet(class_index, width - keep, np.asarray(ranking[keep:]), True))
    return sets


@dataclass(frozen=True)
class RemovalCurve:
    """One class's curve: ``removed`` (n,) units removed; ``balanced_accuracy`` (n,) of the
    class; ``accuracy`` (n,) all-class; ``units`` the ranking used; the complement point
    (everything but the top ``keep`` removed) or None; ``random`` (draws, n): the class's
    balanced accuracy with as many random units removed as at each point (the baseline), and
    ``random_complement`` (draws,) at the complement's size; None without random draws."""

    class_index: int
    removed: np.ndarray
    balanced_accuracy: np.ndarray
    accuracy: np.ndarray
    ranking: np.ndarray
    keep: int
    complement: tuple[int, float, float] | None
    random: np.ndarray | None = None
    random_complement: np.ndarray | None = None


def removal_curves(
    net: Net,
    layer: str,
    importance: np.ndarray,
    batches: Iterable[Mapping[str, np.ndarray]],
    classes: Sequence[int],
    *,
    sizes: Sequence[int] = REMOVAL_SIZES,
    keep: int = KEEP_MOST_IMPORTANT,
    inputs: Inputs | None = None,
    chunk_size: int = 32,
    devices: sharding.Devices = None,
    random_draws: int = 0,
    seed: int = 0,
) -> list[RemovalCurve]:
    """Removal curves of ``classes`` from ``importance`` (U, C) (e.g. measured on another
    split), evaluated on ``batches`` in one pass. With ``random_draws``, each size removed
    (and the complement's) is also evaluated on that many sets of random units (drawn
    uniformly without replacement, ``numpy.random.default_rng(seed)``, shared by the classes),
    in the same pass: the baseline the curves are read against."""
    importance = np.asarray(importance, np.float64)
    if importance.ndim != 2:
        raise ValueError(f"importance must be (units, classes), got shape {importance.shape}")
    width, num_classes = importance.shape
    for c in classes:
        if not 0 <= int(c) < num_classes:
            raise ValueError(f"class {c} is out of range for {num_classes} classes")
    sets = [s for c in classes for s in removal_sets(rank_units(importance[:, c]), int(c),
                                                      sizes, keep)]
    random_sizes = sorted({s.removed for s in sets if s.removed > 0}) if random_draws else []
    masks = np.zeros((len(sets) + len(random_sizes) * random_draws, width), bool)
    for row, s in enumerate(sets):
        masks[row, s.units] = True
    rng = np.random.default_rng(seed)
    for row in range(len(sets), len(masks)):
        size = random_sizes[(row - len(sets)) // random_draws]
        masks[row, rng.choice(width, size, replace=False)] = True
    counts = count_predictions(net, layer, masks, batches, inputs=inputs,
                               chunk_size=chunk_size, devices=devices)
    curves = _curves(sets, counts, importance, classes, keep)
    if not random_draws:
        return curves
    balanced = counts.balanced_accuracy()[len(sets):].reshape(len(random_sizes), random_draws, -1)
    by_size = {k: balanced[i] for i, k in enumerate(random_sizes)}  # k -> (draws, C)
    return [_with_random(curve, by_size, random_draws) for curve in curves]


def _with_random(curve: RemovalCurve, by_size: dict, draws: int) -> RemovalCurve:
    c = curve.class_index
    columns = [np.full(draws, curve.balanced_accuracy[0]) if k == 0 else by_size[int(k)][:, c]
               for k in curve.removed]
    complement = None if curve.complement is None else by_size[curve.complement[0]][:, c]
    return dataclasses.replace(curve, random=np.stack(columns, axis=1),
                               random_complement=complement)


def _curves(sets, counts: ClassCounts, importance, classes, keep) -> list[RemovalCurve]:
    balanced, overall = counts.balanced_accuracy(), counts.accuracy()
    curves = []
    for c in classes:
        rows = [i for i, s in enumerate(sets) if s.class_index == int(c)]
        main = [i for i in rows if not sets[i].complement]
        extra = [i for i in rows if sets[i].complement]
        if np.isnan(balanced[main[0], c]):
            raise ValueError(f"class {c} has no images in the evaluation data (or only images "
                             "of it); its balanced accuracy is undefined")
        complement = None
        if extra:
            i = extra[0]
            complement = (sets[i].removed, float(balanced[i, c]), float(overall[i]))
        curves.append(RemovalCurve(
            class_index=int(c), removed=np.array([sets[i].removed for i in main]),
            balanced_accuracy=balanced[main, c], accuracy=overall[main],
            ranking=rank_units(importance[:, c]), keep=keep, complement=complement))
    return curves


def removal_curves_json(curves: Sequence[RemovalCurve], class_names: Sequence[str],
                        layer: str, title: str | None = None) -> dict:
    """The ``removal_curves`` result (:mod:`jaxdissect.report.experiment_kinds`): per class a
    solid curve of balanced accuracy and a dashed single point for the complement. Beyond the
    plot schema, each curve carries ``overall_accuracy`` (all-class accuracy of each point),
    ``class`` and ``units`` (the most important units, in order, as many as the largest set
    removed; for the complement ``kept_units``, the units left in place, and ``keep``, how
    many). With random draws each curve also carries ``random``: per point, the class's
    balanced accuracy for each draw of as many random units."""
    out = []
    for curve in curves:
        name = class_names[curve.class_index]
        top = int(curve.removed.max()) if curve.removed.size else 0
        out.append({
            "name": name, "class": curve.class_index,
            "removed": [int(k) for k in curve.removed],
            "accuracy": [float(v) for v in curve.balanced_accuracy],
            "overall_accuracy": [float(v) for v in curve.accuracy],
            "units": [int(u) for u in curve.ranking[:top]],
        })
        if curve.random is not None:
            out[-1]["random"] = curve.random.T.tolist()  # per point, the draws
            out[-1]["random_removed"] = out[-1]["removed"]
        if curve.complement is not None:
            removed, balanced, overall = curve.complement
            out.append({"name": f"{name}, keep top {curve.keep}", "class": curve.class_index,
                        "removed": [removed], "accuracy": [balanced],
                        "overall_accuracy": [overall], "dashed": True, "keep": curve.keep,
                        "kept_units": [int(u) for u in curve.ranking[:curve.keep]]})
            if curve.random_complement is not None:
                out[-1].update(random=[curve.random_complement.tolist()],
                               random_removed=[removed])
    return {
        "kind": "removal_curves",
        "title": title or f"{layer}: removing each class's most important units",
        "layer": layer, "xlabel": "units removed", "ylabel": "balanced accuracy",
        "x_scale": "log", "reference_lines": [{"name": "chance", "y": 0.5}], "curves": out,
    }


def concept_ablation(net: Net, layer: str, labels, concept: int, batches, classes: Sequence[int],
                     class_names: Sequence[str], concept_name: str, *, draws: int = 5,
                     seed: int = 0, inputs: Inputs | None = None, chunk_size: int = 32,
                     devices: sharding.Devices = None) -> dict:
    """The units labelled ``concept`` (a dissection's
    :class:`~jaxdissect.dissection.labels.UnitLabels` of ``layer``) removed together, against
    ``draws`` sets of as many random units (:func:`~.units.labelled_and_random_sets`), in one
    pass over ``batches``. Returns the ``concept_ablation`` entry of the ablation JSON:
    ``concept``, ``units``, ``draws`` and per class of ``classes`` its balanced accuracy
    ``unedited``, ``concept_removed`` and ``random_removed`` (one value per draw)."""
    from jaxdissect.interventions.units import labelled_and_random_sets

    sets = labelled_and_random_sets(labels, concept, draws, seed)
    counts = count_predictions(net, layer, sets, batches, inputs=inputs, chunk_size=chunk_size,
                               devices=devices)
    accuracy = counts.balanced_accuracy()
    return {"concept": concept_name, "layer": layer, "draws": draws, "seed": seed,
            "units": [int(u) for u in np.flatnonzero(sets[1])],
            "classes": [{"name": class_names[c], "class": int(c),
                         "unedited": float(accuracy[0, c]),
                         "concept_removed": float(accuracy[1, c]),
                         "random_removed": [float(v) for v in accuracy[2:, c]]}
                        for c in classes]}


def unit_effects_json(importance: UnitImportance, class_names: Sequence[str],
                      top: int = 5) -> dict:
    """What zeroing each unit alone did, for the report's unit pages: ``classes`` with their
    unedited balanced accuracy (``baseline``), and per unit (``units[u]``) the ``top`` classes
    whose balanced accuracy dropped most, as ``[class number, accuracy with the unit zeroed]``
    pairs (largest drop first; classes without images left out)."""
    drop = np.nan_to_num(np.asarray(importance.importance, np.float64), nan=-np.inf)
    units = []
    for u in range(drop.shape[0]):
        order = np.argsort(-drop[u], kind="stable")[:top]
        units.append([[int(c), round(float(importance.ablated[u, c]), 5)] for c in order
                      if np.isfinite(drop[u, c])])
    return {"classes": list(class_names),
            "baseline": [None if np.isnan(v) else round(float(v), 5)
                         for v in importance.baseline], "units": units}
