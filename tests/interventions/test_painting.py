"""Tests of jaxdissect/interventions/painting.py: strokes change only their region."""

import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import make_generator

from jaxdissect.interventions.painting import brush, erase, paint, paint_many


def setup(rng):
    net = make_generator(seed=4, units=4)
    z = jnp.asarray(rng.normal(size=(3, 3)), jnp.float32)
    iou = np.array([[0, 0.1, 0.0], [0, 0.5, 0.0], [0, 0.0, 0.3], [0, 0.2, 0.0]])
    region = np.zeros((4, 4), bool)
    region[1:3, 0:2] = True
    return net, z, iou, region


def test_painting_changes_only_the_region_and_the_brush_units(rng):
    net, z, iou, region = setup(rng)
    door = brush(iou, concept=1, layer="layer1", values=np.array([7.0, 8, 9, 10]), count=2)
    assert list(door.units) == [1, 3]
    before_img, before = net(z, layers=["layer1"])
    after_img, after = paint(net, z, door, region, layers=["layer1"])
    before, after = np.asarray(before["layer1"]), np.asarray(after["layer1"])
    changed = before != after
    assert not changed[:, ~region].any()
    assert not changed[..., [0, 2]].any()
    np.testing.assert_array_equal(after[:, region][..., 1], 8.0)
    np.testing.assert_array_equal(after[:, region][..., 3], 10.0)
    # The toy generator paints each cell's 4x4 block: pixels change only under the region.
    pixel_region = np.repeat(np.repeat(region, 4, 0), 4, 1)
    image_changed = np.asarray(before_img != after_img).any(axis=(0, 3))
    assert image_changed.any() and not image_changed[~pixel_region].any()


def test_erasing_zeroes_the_units_in_the_region(rng):
    net, z, iou, region = setup(rng)
    tree = brush(iou, concept=2, layer="layer1", values=5.0, count=1)
    _, acts = erase(net, z, tree, region, layers=["layer1"])
    _, plain = net(z, layers=["layer1"])
    acts, plain = np.asarray(acts["layer1"]), np.asarray(plain["layer1"])
    np.testing.assert_array_equal(acts[:, region][..., 2], 0.0)
    np.testing.assert_array_equal(acts[:, ~region], plain[:, ~region])


def test_paint_many_equals_strokes_one_by_one(rng):
    net, z, iou, region = setup(rng)
    door = brush(iou, 1, "layer1", 6.0, count=2)
    strokes = [(door, region, False), (door, ~region, True)]
    images, _ = paint_many(net, z, strokes)
    for k, (b, r, e) in enumerate(strokes):
        single, _ = paint(net, z, b, r, erase=e)
        np.testing.assert_allclose(np.asarray(images[k]), np.asarray(single), rtol=1e-6)
    with pytest.raises(ValueError, match="map is"):
        paint(net, z, door, np.ones((3, 3), bool))
