"""Claim: ablating the units that detect a class's defining object hurts that class far more
than ablating as many random units (PNAS 2020, section 2).

Units are labelled by the shared exact dissection (``conftest``: 600 world images of
``PROBE_SEED``); the effect is measured on 600 other fresh world images (``EVAL_SEED``), every
ablation set of a layer in one pass (:func:`jaxdissect.interventions.count_predictions`).
Zeroing a unit removes its whole map; the score is the class's balanced accuracy (one-vs-rest
from the 9-way argmax). The class is ``farm``, which the world draws as a village (houses and a
road) with a fence, so the fence is the one thing that tells the two apart; the units are those
labelled ``fence``. The random control draws ``RANDOM_DRAWS`` sets of the same size from all
the layer's units (numpy seed 0) and averages their drops.

Measured (600 + 600 images; seed pairs 3/4, 5/6, 7/8):

* ``conv4_2``, the last conv layer the paper's protocol names: 15/16/13 fence units drop farm
  by 0.190/0.216/0.074, random sets by 0.001/0.002/0.001 on average (single draws at most
  0.026). The layer is redundant for other classes: removing its 7-10 car or lake units moves
  street or lake by at most 0.014, so they are not tested.
* ``fc6``, the last hidden layer: 12/11/14 fence units drop farm by 0.500 on every seed pair
  (every farm image becomes a village), random sets by at most 0.002 on average.

With about 65 farm images, the sampling error of a balanced accuracy is about 0.03. The tests
ask for a drop of 0.05 and a gap to the random mean of 0.04 at conv4_2 (the lowest measured
pair, 0.074, is the weak case), and 0.3 and 0.25 at fc6.
"""

import numpy as np
import pytest
from science_settings import BATCH, DEVICES, EVAL_SEED, PROBE_IMAGES

from jaxdissect.data.batching import batches
from jaxdissect.interventions import count_predictions, labelled_and_random_sets
from jaxdissect.world.layout import SCENE_CLASSES
from jaxdissect.world.source import WorldRows
from jaxdissect.world.vocabulary import OBJECT_NUMBER

CLASS, OBJECT = "farm", "fence"
RANDOM_DRAWS = 20
# layer: (least drop of the class's balanced accuracy, least gap to the random sets' mean)
LAYERS = {"conv4_2": (0.05, 0.04), "fc6": (0.3, 0.25)}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_object_units_matter_far_more_than_random_units(world_classifier, classifier_exact,
                                                        layer):
    result = classifier_exact[layer]
    # row 0 unedited, row 1 the fence units, then RANDOM_DRAWS random sets as large
    sets = labelled_and_random_sets(result.labels, OBJECT_NUMBER[OBJECT], RANDOM_DRAWS)
    assert sets[1].sum() >= 3, f"{sets[1].sum()} {OBJECT} units; the claim needs some"
    data = batches(WorldRows(PROBE_IMAGES, seed=EVAL_SEED), BATCH)
    counts = count_predictions(world_classifier.net, layer, sets, data, devices=DEVICES)
    accuracy = counts.balanced_accuracy()[:, SCENE_CLASSES.index(CLASS)]
    baseline = accuracy[0]
    assert baseline > 0.95
    object_drop = baseline - accuracy[1]
    random_drop = float(np.mean(baseline - accuracy[2:]))
    least_drop, least_gap = LAYERS[layer]
    assert object_drop >= least_drop, f"{layer}: {object_drop:.3f}"
    assert object_drop - random_drop >= least_gap, (
        f"{layer}: {object_drop:.3f} vs {random_drop:.3f}")
