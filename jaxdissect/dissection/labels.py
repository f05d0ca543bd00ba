"""From intersection counts to IoU, unit labels and detector tallies (host side, numpy).

IoU is pooled over the whole data set: ``IoU[u, c] = I / (A_u + L_c - I)`` from the integer
counts, 0 where the denominator is 0 (a concept never seen has IoU 0). Under the
``per_category`` rule (NetDissect 2017) ``A_u`` is replaced by the unit's on-area counted only
in images that carry a label of c's category.

A unit's label is the argmax of IoU over all concepts 1..C-1 jointly (ties: the smallest
concept number); it is interpretable when that IoU is strictly above ``miniou``. Labels per
category (the best concept within each category) are kept too, for the 2017 counting rule.

Two counting rules for "unique detectors" (see :func:`detector_counts`):

* ``unique_per_category`` (the published 2017 tables): for each category, the distinct labels
  among units whose best label *within that category* has IoU > miniou; a unit may count in
  several categories; the total is the sum over categories.
* ``unique_overall``: the distinct overall-best labels among interpretable units, grouped by the
  label's category (the PNAS 2020 counts such as "51 objects, 22 parts"). It is never larger.

``units_above_miniou`` counts units whose overall best IoU is above miniou.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jaxdissect.concepts import ConceptVocabulary


def _safe_ratio(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    inter = inter.astype(np.float64)
    union = union.astype(np.float64)
    out = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return out.astype(np.float32)


def pooled_iou(counts) -> np.ndarray:
    """float32 (U, C) from a counts result (``inter`` (U, C), ``unit_area`` (U,),
    ``concept_area`` (C,), integers)."""
    inter = np.asarray(counts.inter, np.int64)
    union = np.asarray(counts.unit_area, np.int64)[:, None] + np.asarray(
        counts.concept_area, np.int64)[None, :] - inter
    return _safe_ratio(inter, union)


def per_category_iou(counts, category_of: np.ndarray) -> np.ndarray:
    """float32 (U, C); the unit area of column c is ``unit_area_by_category[:, category_of[c]]``."""
    by_category = getattr(counts, "unit_area_by_category", None)
    if by_category is None:
        raise ValueError(
            "per-category IoU needs unit_area_by_category: count with IoUCounts(..., "
            "category_of=vocabulary.category_of)"
        )
    inter = np.asarray(counts.inter, np.int64)
    unit_area = np.asarray(by_category, np.int64)[:, np.asarray(category_of)]
    union = unit_area + np.asarray(counts.concept_area, np.int64)[None, :] - inter
    return _safe_ratio(inter, union)


def compute_iou(counts, rule: str, vocabulary: ConceptVocabulary) -> np.ndarray:
    """The IoU matrix of a :class:`~jaxdissect.dissection.presets.DissectConfig` ``iou_rule``."""
    if rule == "pooled":
        return pooled_iou(counts)
    if rule == "per_category":
        return per_category_iou(counts, vocabulary.category_of)
    raise ValueError(f"unknown iou rule {rule!r}; choose pooled or per_category")


@dataclass(frozen=True)
class UnitLabels:
    """Labels of U units.

    concept: int64 (U,) best concept over all concepts; iou: float32 (U,) its IoU;
    category: tuple of U category names; interpretable: bool (U,) (iou > miniou);
    category_names: the vocabulary's categories in report order (ncat of them);
    category_concept: int64 (U, ncat) best concept within each category; category_iou: float32
    (U, ncat) its IoU.
    """

    concept: np.ndarray
    iou: np.ndarray
    category: tuple[str, ...]
    interpretable: np.ndarray
    category_names: tuple[str, ...]
    category_concept: np.ndarray
    category_iou: np.ndarray
    miniou: float


def _best(iou: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sub = iou[:, columns]
    pick = np.argmax(sub, axis=1)  # first maximum: the smallest concept number wins ties
    return columns[pick].astype(np.int64), sub[np.arange(len(sub)), pick]


def assign_labels(iou: np.ndarray, vocabulary: ConceptVocabulary, miniou: float) -> UnitLabels:
    """Label every unit from its IoU row. ``iou`` float32 (U, C) with C = vocabulary size."""
    iou = np.asarray(iou, np.float32)
    if iou.ndim != 2 or iou.shape[1] != vocabulary.num_concepts:
        raise ValueError(
            f"iou has shape {iou.shape}; expected (units, {vocabulary.num_concepts}) for this "
            "vocabulary"
        )
    concepts = np.arange(1, vocabulary.num_concepts)
    concept, best = _best(iou, concepts)
    category_of = vocabulary.category_of
    per_concept, per_iou = [], []
    for k in range(len(vocabulary.category_names)):
        c, v = _best(iou, concepts[category_of[1:] == k])
        per_concept.append(c)
        per_iou.append(v)
    return UnitLabels(
        concept=concept,
        iou=best.astype(np.float32),
        category=tuple(vocabulary.categories[c] for c in concept),
        interpretable=best > miniou,
        category_names=vocabulary.category_names,
        category_concept=np.stack(per_concept, axis=1),
        category_iou=np.stack(per_iou, axis=1).astype(np.float32),
        miniou=float(miniou),
    )


def detector_counts(labels: UnitLabels, vocabulary: ConceptVocabulary) -> dict:
    """Tallies under both counting rules (see the module docstring), as a JSON-ready dict."""
    category = np.asarray(labels.category, dtype=object)
    overall = {cat: labels.concept[labels.interpretable & (category == cat)].tolist()
               for cat in labels.category_names}
    per_category = {
        cat: labels.category_concept[labels.category_iou[:, k] > labels.miniou, k].tolist()
        for k, cat in enumerate(labels.category_names)}
    return tally_detectors(labels.miniou, len(labels.concept), int(labels.interpretable.sum()),
                           overall, per_category)


def tally_detectors(miniou: float, units: int, above: int, overall: dict,
                    per_category: dict | None) -> dict:
    """The detector tallies (``report.json`` ``detectors``) from what each rule counts:
    ``overall`` {category: the overall-best labels of interpretable units}, ``per_category``
    {category: the best labels within it that pass miniou} (None: not known); each label
    counts once per category. ``above``: the number of interpretable units."""
    unique_overall = {cat: len(set(found)) for cat, found in overall.items()}
    counts = {
        "miniou": miniou,
        "units": units,
        "units_above_miniou": above,
        "unique_overall": {"total": sum(unique_overall.values()), "by_category": unique_overall},
        "unique_per_category": None,
    }
    if per_category is not None:
        unique = {cat: len(set(found)) for cat, found in per_category.items()}
        counts["unique_per_category"] = {"total": sum(unique.values()), "by_category": unique}
    return counts
