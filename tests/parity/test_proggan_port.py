"""The ProGAN converter without torch: layouts, sizes from the tensors, strict errors."""

import numpy as np
import pytest

from ports.proggan import (
    convert,
    expected_shapes,
    matches,
    oihw_to_hwio,
    rename_legacy,
    sizes_from_state,
)

SIZES = (32, 32, 16, 8)


def fake_state(sizes=SIZES, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in expected_shapes(sizes).items()}


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


def test_oihw_to_hwio_moves_every_axis():
    w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    hwio = oihw_to_hwio(w)
    assert hwio.shape == (4, 5, 3, 2) and hwio[1, 2, 0, 1] == w[1, 0, 1, 2]


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
    assert "missing ['layer2.wscale.b']" in msg
    assert "unexpected ['scene.fc.weight']" in msg
    assert "layer4.conv.weight has shape (16, 16, 3, 1), expected (16, 16, 3, 3)" in msg


def test_wrong_output_resolution_and_gaps_are_reported():
    state = fake_state()
    state["output_32x32.conv.weight"] = state.pop("output_16x16.conv.weight")
    with pytest.raises(ValueError, match="missing .*output_16x16.conv.weight.*unexpected"):
        convert(state)
    state = fake_state()
    del state["layer5.conv.weight"], state["layer5.wscale.b"]
    with pytest.raises(ValueError, match="without gaps"):
        convert(state)
