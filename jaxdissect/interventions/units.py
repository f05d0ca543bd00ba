"""Choosing units for a concept from a dissection: rank by IoU, resolve concept names.

The experiments that act on a concept (GAN removal and insertion, semantic painting) use the
units whose IoU with it is highest (the dissection's ``iou.npy``, (U, C)). Ties go to the lower
unit number so that the choice is reproducible.
"""

from __future__ import annotations

import difflib

import numpy as np

from jaxdissect.concepts import ConceptVocabulary


def units_by_iou(iou: np.ndarray, concept: int) -> np.ndarray:
    """int64 (U,): units from the highest IoU with ``concept`` to the lowest (ties: lower unit).

    ``iou``: float (U, C), C counting concept 0 (none).
    """
    iou = np.asarray(iou)
    if iou.ndim != 2:
        raise ValueError(f"iou must be (units, concepts), got shape {iou.shape}")
    if not 0 < int(concept) < iou.shape[1]:
        raise ValueError(f"concept {concept} is out of range: the dissection has concepts "
                         f"1..{iou.shape[1] - 1}")
    scores = np.nan_to_num(iou[:, int(concept)].astype(np.float64), nan=-np.inf)
    return np.argsort(-scores, kind="stable")


def labelled_and_random_sets(labels, concept: int, draws: int, seed: int = 0) -> np.ndarray:
    """Ablation sets for "the units labelled ``concept`` against as many random units": bool
    (2 + draws, U). Row 0 is empty (the unedited model), row 1 the interpretable units whose
    best concept is ``concept`` (``labels``: a dissection's
    :class:`~jaxdissect.dissection.labels.UnitLabels`), then ``draws`` sets of as many units drawn
    uniformly without replacement (``numpy.random.default_rng(seed)``)."""
    units = np.asarray(labels.interpretable & (labels.concept == int(concept)), bool)
    rows = [np.zeros_like(units), units]
    rng = np.random.default_rng(seed)
    for _ in range(draws):
        random_set = np.zeros_like(units)
        random_set[rng.choice(len(units), int(units.sum()), replace=False)] = True
        rows.append(random_set)
    return np.stack(rows)


def concept_units(iou: np.ndarray, concept: int, count: int) -> np.ndarray:
    """The ``count`` units with the highest IoU with ``concept`` (int64, best first)."""
    if count < 1:
        raise ValueError(f"count={count}: choose at least one unit")
    ranked = units_by_iou(iou, concept)
    if count > len(ranked):
        raise ValueError(f"count={count} but the layer has only {len(ranked)} units")
    return ranked[:count]


def concept_number(vocabulary: ConceptVocabulary, concept: str | int) -> int:
    """The number of ``concept`` (a name, or a number as int or digits) in ``vocabulary``;
    an unknown name is an error suggesting the closest names."""
    if isinstance(concept, int) or str(concept).isdigit():
        number = int(concept)
        if not 0 < number < vocabulary.num_concepts:
            raise ValueError(f"concept number {number} is out of range 1.."
                             f"{vocabulary.num_concepts - 1}")
        return number
    names = list(vocabulary.names[1:])
    if concept not in names:
        close = difflib.get_close_matches(str(concept), names, n=5)
        hint = f"; close names: {', '.join(close)}" if close else ""
        raise ValueError(f"unknown concept {concept!r} in a vocabulary of "
                         f"{vocabulary.num_concepts - 1} concepts{hint}")
    return vocabulary.number(str(concept))
