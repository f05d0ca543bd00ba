"""Claim: many units of the classifier's last layers are interpretable (PNAS 2020, section 1).

The shipped world classifier is dissected with the world's exact segmentations on 600 fresh
world images (``conftest``); a unit is interpretable when its best IoU over all concepts is
above 0.04 (preset ``pnas2020``: top-1% threshold, pooled IoU).

Measured (600 images, world seeds 3, 5 and 7): conv4_2 (the last conv layer, 96 units) has
58, 58 and 60 interpretable units (60-63%); fc6 (the last hidden layer, 64 units) has 41 on
every seed (64%). The figures hold at 500 and 1,000 images too (58 or 59 of 96 at conv4_2).
The tests ask for half the units, a margin of 10 points below the lowest measurement.

The paper's second part of this claim, that the labels of these units cover most of the
world's object concepts, does not hold for the shipped classifier and is not tested here:
their overall-best labels name 3 to 5 of the 13 objects (car, house, lake, road, sometimes
mountain); even counting a unit for every category in which it passes 0.04 (the CVPR 2017
"unique detectors" rule) 7 of 13 are detected at conv4_2 (house, road, car, lake, mountain,
tree, boat). Sky and ground cover 36% and 42% of the pixels, so a unit that is on at 1% of the
pixels has an IoU of at most 0.01 / 0.36 = 0.028 with either; at conv4_2 the best IoU with sun,
cloud, fence and person is 0.013-0.028.
"""

import numpy as np
import pytest

MIN_INTERPRETABLE_FRACTION = 0.5


@pytest.mark.parametrize("layer", ["conv4_2", "fc6"])
def test_many_last_layer_units_are_interpretable(classifier_exact, layer):
    result = classifier_exact[layer]
    labels = result.labels
    assert labels.miniou == pytest.approx(0.04)
    assert np.array_equal(labels.interpretable, labels.iou > 0.04)
    fraction = labels.interpretable.sum() / result.num_units
    assert fraction >= MIN_INTERPRETABLE_FRACTION, (
        f"{layer}: {labels.interpretable.sum()} of {result.num_units} units interpretable")
    # Interpretable units are labelled with several distinct concepts, not one shared label.
    assert len(set(labels.concept[labels.interpretable].tolist())) >= 5
