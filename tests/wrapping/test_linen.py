"""Tests of jaxdissect/wrapping/linen.py and capture.py: a flax.linen module, unchanged, read
and edited by module path."""

import jax.numpy as jnp
import numpy as np
import pytest
from user_models import (
    SIZE,
    SmallCNN,
    build,
    build_feature_map,
    inputs,
    linen_cnn,
    linen_vit,
)

import jaxdissect
from jaxdissect.interventions.accuracy import class_count


def test_layers_are_module_paths_with_shapes():
    rows = {name: (shape, kind) for name, shape, kind in jaxdissect.layers(build())}
    assert rows == {"stem/Conv_0": ((16, 16, 4), "map"), "stem": ((16, 16, 4), "map"),
                    "body/Conv_0": ((8, 8, 6), "map"), "body": ((8, 8, 6), "map"),
                    "head": ((3,), "vector (a 1x1 map)")}
    assert build().meta["default_layer"] == "body"


def test_capture_equals_linen_intermediates():
    module, variables = linen_cnn()
    net = build()
    x = inputs()
    out, acts = net(x, layers=["body", "stem/Conv_0", "head"])
    expected, state = module.apply(variables, x, capture_intermediates=True)
    inter = state["intermediates"]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_allclose(acts["body"], inter["body"]["__call__"][0], rtol=1e-6)
    np.testing.assert_allclose(acts["stem/Conv_0"], inter["stem"]["Conv_0"]["__call__"][0],
                               rtol=1e-6)
    # a method other than __call__ of a submodule is named path.method; the root's are not
    assert "stem.embed" not in net.layer_names
    assert acts["head"].shape == (5, 1, 1, 3)


def test_ablation_at_a_path_changes_the_forward_downstream():
    module, variables = linen_cnn()
    net = build()
    x = inputs()
    units = [1, 4]
    out, acts = net(x, layers=["body"], edits={"body": jaxdissect.ablate(units, 6)})
    _, clean = net(x, layers=["body"])
    keep = np.ones(6, np.float32)
    keep[units] = 0
    np.testing.assert_allclose(acts["body"], clean["body"] * keep, rtol=1e-6)
    head = variables["params"]["head"]
    expected = (clean["body"] * keep).mean((1, 2)) @ head["kernel"] + head["bias"]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # many edits in one compiled call agree with one at a time
    stacked = jaxdissect.stack_edits([{"body": jaxdissect.ablate(units, 6)},
                                      {"body": jaxdissect.ablate([0], 6)}])
    outs, _ = net.apply_edits(x, stacked)
    np.testing.assert_allclose(outs[0], out, rtol=1e-6)


def test_other_methods_and_call_kwargs():
    module, variables = linen_cnn()
    net = jaxdissect.wrap(module, variables["params"], method="embed",
                          normalization=jaxdissect.Normalization(size=SIZE))
    assert net.layer_names == ["stem/Conv_0", "stem"]
    vit, variables = linen_vit()
    net = jaxdissect.wrap(vit, variables, normalization=jaxdissect.Normalization(size=SIZE))
    assert "drop_1" in net.layer_names


def test_token_layers_are_patch_grids_with_the_class_token_apart():
    vit, variables = linen_vit()
    net = jaxdissect.wrap(vit, variables, normalization=jaxdissect.Normalization(size=SIZE))
    table = {name: kind for name, _, kind in jaxdissect.layers(net)}
    assert table["mlp_1"].startswith("tokens: 1 leading token(s)") and "4x4" in table["mlp_1"]
    x = inputs()
    out, acts = net(x, layers=["mlp_0", "mlp_0#prefix", "patchify"])
    tokens = vit.apply(variables, x, capture_intermediates=True)[1]["intermediates"]
    raw = tokens["mlp_0"]["__call__"][0]
    assert acts["mlp_0"].shape == (5, 4, 4, 8) and acts["mlp_0#prefix"].shape == (5, 1, 8)
    np.testing.assert_allclose(acts["mlp_0"], raw[:, 1:].reshape(5, 4, 4, 8),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["mlp_0#prefix"], raw[:, :1], rtol=1e-5, atol=1e-6)
    # an edit writes the map back into the tokens; the class token is untouched
    where = jnp.zeros((4, 4)).at[:2].set(1.0)
    edit = jaxdissect.insert([2], 5.0, where, 8)
    edited_out, edited = net(x, layers=["mlp_0", "mlp_0#prefix"], edits={"mlp_0": edit})
    np.testing.assert_allclose(edited["mlp_0"][:, :2, :, 2], 5.0)
    np.testing.assert_allclose(edited["mlp_0"][:, 2:], acts["mlp_0"][:, 2:], rtol=1e-6)
    np.testing.assert_allclose(edited["mlp_0#prefix"], acts["mlp_0#prefix"], rtol=1e-6)
    assert not np.allclose(edited_out, out)
    grid = jaxdissect.wrap(vit, variables, normalization=jaxdissect.Normalization(size=SIZE),
                           patch_size=4)
    assert grid.module.layouts["mlp_0"].grid == (4, 4)


def test_unknown_paths_list_the_nearest():
    with pytest.raises(ValueError,
                       match=r"unknown layer\(s\) \['body/conv_0'\].*nearest: body/Conv_0"):
        build()(inputs(), layers=["body/conv_0"])
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['stems'\].*nearest: stem"):
        build()(inputs(), edits={"stems": jaxdissect.ablate([0], 4)})


def test_shapes_without_a_layout_say_what_can_be_dissected():
    vit, variables = linen_vit()
    net = jaxdissect.wrap(vit, variables, normalization=jaxdissect.Normalization(size=SIZE),
                          grid=(3, 3))
    # with a 3x3 grid given, the 17 tokens are 8 leading tokens and the grid
    assert net.module.layouts["mlp_0"].prefix == 8
    odd = jaxdissect.wrap(lambda p, x: {"scores": x.reshape(x.shape[0], 2, 2, -1, 3)[..., 0, :],
                                        "tokens": x.reshape(x.shape[0], -1, 12)[:, :7]},
                          None, normalization=jaxdissect.Normalization(size=SIZE))
    with pytest.raises(ValueError, match=r"'tokens'.*7 tokens are no square patch grid.*"
                       r"dissectable shapes are \(N, H, W, C\) feature maps"):
        odd(inputs(), layers=["tokens"])
    assert odd.layer_names == ["scores"]


def test_classifier_experiments_refuse_other_outputs():
    assert class_count(build()) == 3
    with pytest.raises(ValueError, match=r"FeatureMap outputs shape \(N, 16, 16, 4\), not "
                       "class scores"):
        class_count(build_feature_map())


def test_wrap_needs_a_normalisation_or_a_latent_size():
    module, variables = linen_cnn()
    with pytest.raises(ValueError, match="normalization=jaxdissect.Normalization"):
        jaxdissect.wrap(module, variables)
    with pytest.raises(ValueError, match="latent_dim"):
        jaxdissect.wrap(module, variables, inputs="latent")
    with pytest.raises(ValueError, match="its variables"):
        jaxdissect.wrap(SmallCNN(), normalization=jaxdissect.Normalization(size=SIZE))
