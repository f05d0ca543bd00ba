"""The ProGAN converter without torch: layouts, sizes from the tensors, strict errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.proggan import ProgressiveGenerator
from ports.common import flax_param_shapes, torch_shape
from ports.proggan import convert, layout, matches, name_table, rename_legacy, sizes_from_state

SIZES = (32, 32, 16, 8)


def fake_state(sizes=SIZES, seed=0):
    """Random tensors with the published names and torch shapes."""
    rng = np.random.default_rng(seed)
    shapes = flax_param_shapes(ProgressiveGenerator(sizes=sizes),
                               jax.ShapeDtypeStruct((1, sizes[0]), jnp.float32))
    return {k: rng.standard_normal(torch_shape(shapes[p])).astype(np.float32)
            for k, p in name_table(sizes).items()}


def test_sizes_and_names_come_from_the_tensors():
    state = fake_state()
    assert sizes_from_state(state) == SIZES
    params, meta = convert(state)
    assert meta == {"sizes": [32, 32, 16, 8], "resolution": 16,
                    "layers": [f"layer{i}" for i in range(1, 7)]}
    assert set(params) == {f"layer{i}" for i in range(1, 7)} | {"output_16x16"}
    np.testing.assert_array_equal(params["layer3"]["conv"]["kernel"],
                                  state["layer3.conv.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(params["output_16x16"]["wscale"]["b"],
                                  state["output_16x16.wscale.b"])


def test_layout_moves_every_conv_axis():
    w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    hwio = layout(("layer1", "conv", "kernel"), w)
    assert hwio.shape == (4, 5, 3, 2) and hwio[1, 2, 0, 1] == w[1, 0, 1, 2]
    b = np.arange(3.0)
    assert layout(("layer1", "wscale", "b"), b) is b


def test_detection_and_legacy_names():
    state = fake_state()
    legacy = {k.replace("output_16x16", "output"): v for k, v in state.items()}
    legacy = {(f"features.{int(k.split('.')[0][5:]) - 1}." + k.split(".", 1)[1]
               if k.startswith("layer") else k): v for k, v in legacy.items()}
    assert matches(state) and matches(legacy)
    assert not matches({"conv1.weight": 0, "fc.weight": 0})
    assert set(rename_legacy(legacy)) == set(state)


def test_strict_errors_list_every_problem():
    state = fake_state()
    del state["layer2.wscale.b"]
    state["layer4.conv.weight"] = np.zeros((16, 16, 3, 1), np.float32)
    state["scene.fc.weight"] = np.zeros(3)
    with pytest.raises(ValueError) as err:
        convert(state)
    msg = str(err.value)
    assert "1 missing: layer2.wscale.b" in msg
    assert "1 unexpected: scene.fc.weight" in msg
    assert "layer4.conv.weight [16, 16, 3, 1] (expected [16, 16, 3, 3])" in msg


def test_wrong_output_resolution_and_gaps_are_reported():
    state = fake_state()
    state["output_32x32.conv.weight"] = state.pop("output_16x16.conv.weight")
    with pytest.raises(ValueError, match="missing: output_16x16.conv.weight.*unexpected"):
        convert(state)
    state = fake_state()
    del state["layer5.conv.weight"], state["layer5.wscale.b"]
    with pytest.raises(ValueError, match="without gaps"):
        convert(state)


def test_1024_schedule_converts_with_its_output_name():
    sizes = (8,) * 5 + (4, 4, 4, 4, 2)  # the CelebA-HQ schedule's shape at tiny widths
    params, meta = convert(fake_state(sizes))
    assert meta["resolution"] == 1024 and len(meta["layers"]) == 18
    assert params["output_1024x1024"]["conv"]["kernel"].shape == (1, 1, 2, 3)
    assert params["layer18"]["conv"]["kernel"].shape == (3, 3, 2, 2)
