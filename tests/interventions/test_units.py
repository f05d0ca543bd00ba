"""Tests of jaxdissect/interventions/units.py: units by IoU and concept names."""

import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.interventions.units import (
    concept_number,
    concept_units,
    labelled_and_random_sets,
    units_by_iou,
)


def test_units_by_iou_rank_highest_first_ties_to_lower_unit():
    iou = np.array([[0, 0.1, 0.5], [0, 0.3, 0.5], [0, np.nan, 0.9], [0, 0.3, 0.0]])
    assert list(units_by_iou(iou, 1)) == [1, 3, 0, 2]
    assert list(concept_units(iou, 2, 2)) == [2, 0]
    with pytest.raises(ValueError, match="out of range"):
        units_by_iou(iou, 3)
    with pytest.raises(ValueError, match="only 4 units"):
        concept_units(iou, 1, 5)


def test_concept_number_by_name_or_number_with_suggestions():
    vocabulary = ConceptVocabulary.from_names(["tree", "door", "doorway"])
    assert concept_number(vocabulary, "door") == 2
    assert concept_number(vocabulary, "3") == 3
    with pytest.raises(ValueError, match="close names: door"):
        concept_number(vocabulary, "dor")
    with pytest.raises(ValueError, match="out of range"):
        concept_number(vocabulary, 4)


def test_labelled_and_random_sets():
    class Labels:  # the two fields of UnitLabels the sets read
        interpretable = np.array([True, True, False, True, True, False, True, True])
        concept = np.array([3, 5, 3, 3, 2, 3, 1, 3])

    sets = labelled_and_random_sets(Labels, 3, draws=4)
    assert sets.shape == (6, 8) and sets.dtype == bool
    assert not sets[0].any()
    assert list(np.flatnonzero(sets[1])) == [0, 3, 7]  # interpretable and labelled 3
    assert list(sets[2:].sum(axis=1)) == [3, 3, 3, 3]
    again = labelled_and_random_sets(Labels, 3, draws=4)
    np.testing.assert_array_equal(sets, again)  # seeded
    assert not labelled_and_random_sets(Labels, 4, draws=1)[1:].any()  # no unit: empty sets
