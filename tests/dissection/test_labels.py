"""Tests for jaxdissect/dissection/labels.py."""

from types import SimpleNamespace

import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.labels import (
    assign_labels,
    compute_iou,
    detector_counts,
    per_category_iou,
    pooled_iou,
)

VOCAB = ConceptVocabulary.from_names(
    ["tree", "door", "sky", "wood"], ["object", "part", "object", "material"]
)


def counts(inter, unit_area, concept_area, by_category=None):
    return SimpleNamespace(
        inter=np.asarray(inter, np.int64),
        unit_area=np.asarray(unit_area, np.int64),
        concept_area=np.asarray(concept_area, np.int64),
        unit_area_by_category=None if by_category is None else np.asarray(by_category, np.int64),
    )


def test_pooled_iou_by_hand():
    c = counts([[0, 5, 0, 10, 0], [0, 0, 0, 0, 0]], [20, 0], [0, 10, 4, 30, 0])
    iou = pooled_iou(c)
    assert iou.dtype == np.float32 and iou.shape == (2, 5)
    np.testing.assert_allclose(iou[0], [0, 5 / 25, 0, 10 / 40, 0], rtol=1e-7)
    np.testing.assert_array_equal(iou[1], 0)  # a unit that is never on


def test_per_category_iou_uses_the_category_area():
    # categories in order: object (tree, sky), part (door), material (wood)
    c = counts([[0, 5, 2, 10, 1]], [20], [0, 10, 4, 30, 3], by_category=[[15, 6, 4]])
    iou = per_category_iou(c, VOCAB.category_of)
    np.testing.assert_allclose(iou[0], [0, 5 / 20, 2 / 8, 10 / 35, 1 / 6], rtol=1e-7)
    np.testing.assert_array_equal(compute_iou(c, "per_category", VOCAB), iou)
    with pytest.raises(ValueError, match="category_of=vocabulary.category_of"):
        per_category_iou(counts([[0] * 5], [1], [0] * 5), VOCAB.category_of)


def test_labels_ties_and_categories():
    iou = np.array(
        [
            [0.0, 0.10, 0.30, 0.10, 0.05],  # best: door (part); best object: tree
            [0.0, 0.02, 0.01, 0.02, 0.00],  # tie tree/sky at 0.02: tree (smaller number)
            [0.0, 0.00, 0.00, 0.00, 0.00],  # nothing: concept 1, not interpretable
            [0.0, 0.04, 0.00, 0.00, 0.041],  # 0.04 is not above 0.04 (strict)
        ],
        np.float32,
    )
    labels = assign_labels(iou, VOCAB, miniou=0.04)
    np.testing.assert_array_equal(labels.concept, [2, 1, 1, 4])
    assert labels.category == ("part", "object", "object", "material")
    np.testing.assert_array_equal(labels.interpretable, [True, False, False, True])
    assert labels.category_names == ("object", "part", "material")
    np.testing.assert_array_equal(labels.category_concept[0], [1, 2, 4])
    np.testing.assert_allclose(labels.category_iou[0], [0.10, 0.30, 0.05])
    with pytest.raises(ValueError, match="expected \\(units, 5\\)"):
        assign_labels(iou[:, :4], VOCAB, 0.04)


def test_detector_counts_both_rules():
    iou = np.array(
        [
            [0.0, 0.10, 0.30, 0.00, 0.05],  # overall door; per category: tree, door, wood
            [0.0, 0.20, 0.00, 0.00, 0.00],  # tree
            [0.0, 0.00, 0.00, 0.25, 0.00],  # sky
            [0.0, 0.01, 0.00, 0.00, 0.00],  # uninterpretable
        ],
        np.float32,
    )
    tally = detector_counts(assign_labels(iou, VOCAB, 0.04), VOCAB)
    assert tally["units_above_miniou"] == 3
    assert tally["unique_overall"] == {
        "total": 3, "by_category": {"object": 2, "part": 1, "material": 0}}
    assert tally["unique_per_category"] == {
        "total": 4, "by_category": {"object": 2, "part": 1, "material": 1}}
