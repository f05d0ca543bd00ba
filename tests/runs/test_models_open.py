"""Tests for jaxdissect/runs/models.py: the studied model, its kind, sizes and forward."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.runs.models import load_studied_model, rgb_and_acts, to_uint8, to_unit_range


def test_shipped_world_models_load_as_classifier_and_generator():
    classifier = load_studied_model("world:classifier")
    assert classifier.kind == "classifier" and classifier.image_size() == 64
    assert classifier.default_layer == "conv4_2"
    generator = load_studied_model("world:generator")
    assert generator.kind == "generator" and generator.image_size() == 32
    assert generator.latent_dim == generator.net.meta["sizes"]["sizes"][0]
    assert generator.default_layer == "layer4"
    assert classifier.identity()["checkpoint_sha256"] != generator.identity()["checkpoint_sha256"]


def test_forward_gives_rgb_in_unit_range_and_the_layers():
    generator = load_studied_model("world:generator")
    z = np.random.default_rng(0).standard_normal((3, generator.latent_dim))
    rgb, acts = rgb_and_acts(generator, generator.net.params, {"z": z.astype(np.float32)},
                             ("layer4",))
    assert rgb.shape == (3, 32, 32, 3) and rgb.dtype == jnp.float32
    assert acts["layer4"].shape[:3] == (3, 8, 8)


def test_uint8_round_trip_is_exact():
    values = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=-1)
    np.testing.assert_array_equal(np.asarray(to_uint8(to_unit_range(values))), values)


def test_bad_models_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model folder .*nothing not found"):
        load_studied_model(tmp_path / "nothing")
    with pytest.raises(ValueError, match="dtype='float16'"):
        load_studied_model("world:classifier", dtype="float16")
    with pytest.raises(ValueError, match="unknown world model"):
        load_studied_model("world:critic")
    with pytest.raises(ValueError, match=r"unknown layer.*fc9.*conv1_1"):
        load_studied_model("world:classifier").check_layers(["fc9"])
