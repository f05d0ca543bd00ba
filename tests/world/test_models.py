"""Tests for jaxdissect/world/models.py: layer names, shapes, edits, label decoding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.base import Net
from jaxdissect.models.edits import ablate
from jaxdissect.world.models import (
    HEAD_CONCEPTS,
    WORLD_NORMALIZATION,
    WorldSegmenter,
    WorldVGG,
    labels_from_logits,
)
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.vocabulary import OBJECT_NUMBER, PART_NUMBER, name_colours


@pytest.fixture(scope="module")
def images():
    return render_world(WorldConfig(), np.arange(5))["image"]


def test_classifier_layers_and_shapes(images, make_params):
    module = WorldVGG(widths=(4, 8, 8, 12), fc_width=6)
    params = make_params(module, jnp.zeros((1, 64, 64, 3)))
    net = Net(module, params)
    logits, acts = net(WORLD_NORMALIZATION(images), layers=module.LAYERS)
    assert logits.shape == (5, 9)
    assert acts["conv1_2"].shape == (5, 64, 64, 4)
    assert acts["conv4_2"].shape == (5, 8, 8, 12)
    assert acts["fc6"].shape == (5, 1, 1, 6)
    assert all((a >= 0).all() for a in acts.values())  # post-ReLU


def test_classifier_ablation_zeroes_the_units_and_changes_the_output(images, make_params):
    module = WorldVGG(widths=(4, 8, 8, 12), fc_width=6)
    params = make_params(module, jnp.zeros((1, 64, 64, 3)), seed=1)
    net = Net(module, params)
    x = WORLD_NORMALIZATION(images)
    base, _ = net(x)
    edited, acts = net(x, layers=["conv4_2"], edits={"conv4_2": ablate(range(12), 12)})
    assert not np.asarray(acts["conv4_2"]).any()
    assert not np.allclose(base, edited)


def test_classifier_rejects_wrong_input_size():
    module = WorldVGG()
    with pytest.raises(ValueError, match="expects"):
        module.init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))


def test_segmenter_heads_and_layers(images, make_params):
    module = WorldSegmenter(widths=(4, 6, 8, 8))
    params = make_params(module, jnp.zeros((1, 64, 64, 3)))
    logits, acts = Net(module, params)(WORLD_NORMALIZATION(images), layers=module.LAYERS)
    for head, table in HEAD_CONCEPTS.items():
        assert logits[head].shape == (5, 32, 32, len(table))
    assert acts["enc4"].shape == (5, 8, 8, 8) and acts["dec2"].shape == (5, 32, 32, 6)


def test_labels_keep_parts_inside_owners_and_name_colours(images):
    n, h = 5, 32
    rng = np.random.default_rng(0)
    logits = {k: jnp.asarray(rng.normal(size=(n, h, h, len(t))), jnp.float32)
              for k, t in HEAD_CONCEPTS.items()}
    seg = np.asarray(labels_from_logits(logits, jnp.asarray(images)))
    assert seg.shape == (n, 4, h, h) and seg.dtype == np.int32
    roof = seg[:, 2] == PART_NUMBER["roof"]
    assert (seg[:, 0][roof] == OBJECT_NUMBER["house"]).all()
    np.testing.assert_array_equal(seg[:, 3], name_colours(images[:, 1::2, 1::2]))
