"""Tests for jaxdissect/runs/unit_images.py: each unit's top images and its own maps on them."""

import jax
import numpy as np
from world_fixtures import SIZE, tiny_world_classifier

from jaxdissect import sharding
from jaxdissect.runs.models import load_studied_model
from jaxdissect.runs.unit_images import top_image_maps
from jaxdissect.world.source import WorldRows


def test_strip_maps_are_each_units_activation_on_its_top_images(tmp_path):
    model = load_studied_model(tiny_world_classifier(tmp_path / "m"))
    source = WorldRows(11, size=SIZE)
    rng = np.random.default_rng(0)
    tops = {"conv3_2": rng.integers(0, 11, size=(6, 4)), "conv4_2": rng.integers(0, 11, (6, 3))}
    everything = source.read_batch(list(range(11)))[0]
    _, acts = model.net(model.normalization(everything["image"]), layers=tuple(tops))
    units = np.array([1, 4, 5])  # a chunk of units: each gets its own channel
    for layer, top in tops.items():
        top = top[units][:, :3]
        images, maps = top_image_maps(model, source, layer, top, units, batch_size=8,
                                      mesh=sharding.make_mesh())
        assert images.shape == (3, 3, SIZE, SIZE, 3)
        assert maps.shape == (3, 3, *acts[layer].shape[1:3])
        for i, u in enumerate(units):
            for k in range(3):
                np.testing.assert_array_equal(images[i, k], everything["image"][top[i, k]])
                np.testing.assert_allclose(maps[i, k], np.asarray(acts[layer])[top[i, k], :, :, u],
                                           rtol=1e-5, atol=1e-5)
    assert jax.device_count() == 8
