"""Tests for jaxdissect/pipeline/strips.py: each unit's top images and its own maps on them."""

from types import SimpleNamespace

import jax
import numpy as np
from world_fixtures import SIZE, tiny_world_classifier

from jaxdissect import sharding
from jaxdissect.pipeline.models import load_studied_model
from jaxdissect.pipeline.probe import WorldRows
from jaxdissect.pipeline.strips import top_image_maps


def test_strip_maps_are_each_units_activation_on_its_top_images(tmp_path):
    model = load_studied_model(tiny_world_classifier(tmp_path / "m"))
    source = WorldRows(11, size=SIZE)
    rng = np.random.default_rng(0)
    tops = {"conv3_2": rng.integers(0, 11, size=(6, 4)), "conv4_2": rng.integers(0, 11, (6, 3))}
    tops["conv3_2"][:, 3] = -1  # an unfilled slot: strips show the filled ones only
    results = {l: SimpleNamespace(topk_indices=t) for l, t in tops.items()}
    images, maps = top_image_maps(model, source, results, count=5, batch_size=8,
                                  mesh=sharding.make_mesh())
    everything = source.read_batch(list(range(11)))[0]
    _, acts = model.net(model.normalization(everything["image"]), layers=tuple(tops))
    shown = 3  # the fewest filled slots of any unit
    for layer, top in tops.items():
        assert images[layer].shape == (6, shown, SIZE, SIZE, 3)
        assert maps[layer].shape == (6, shown, *acts[layer].shape[1:3])
        for u in range(6):
            for k in range(shown):
                np.testing.assert_array_equal(images[layer][u, k],
                                              everything["image"][top[u, k]])
                np.testing.assert_allclose(maps[layer][u, k],
                                           np.asarray(acts[layer])[top[u, k], :, :, u],
                                           rtol=1e-5, atol=1e-5)
    assert jax.device_count() == 8
