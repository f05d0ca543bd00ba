"""Unit edits against editing the torch activation by hand (forward hooks), many edits in one
compiled call against one by one, and bfloat16 against float32 on the top-1 prediction."""

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_nets as T  # noqa: E402

from jaxdissect.checkpoint import load  # noqa: E402
from jaxdissect.models.edits import ablate, insert, stack_edits  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def vgg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vgg_edits")
    model = T.randomize(T.vgg16(num_classes=10, pool5_size=2), seed=7)
    return model, T.save_and_convert(model, tmp), tmp / "converted"


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resnet_edits")
    model = T.randomize(T.resnet18(num_classes=10), seed=8, image_size=64)
    return model, T.save_and_convert(model, tmp), tmp / "converted"


def images(n, side=64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, side, side, 3)).astype(np.float32)


def mask(shape, seed):
    return (np.random.default_rng(seed).random(shape) < 0.4).astype(np.float32)


def assert_same_as_torch(model, net, edits, layers):
    x = images(3)
    ref_out, ref_acts = T.run_with_hooks(model, x, layers, edits)
    plain_out, _ = T.run_with_hooks(model, x)
    out, acts = net(x, layers=layers, edits=edits)
    assert T.rel_err(ref_out, plain_out) > 1e-3  # the edit changes the output
    assert T.rel_err(out, ref_out) < TOL
    for name in layers:
        assert T.rel_err(acts[name], ref_acts[name]) < TOL, name


def test_vgg_ablate_and_insert_match_torch(vgg):
    model, net, _ = vgg
    edits = {
        "conv4_3": insert([1, 5, 7, 300], 4.0, mask((8, 8), 0), 512),
        "conv5_3": ablate([0, 2, 10, 511], 512),
        "fc6": ablate(np.arange(0, 4096, 3), 4096),
    }
    assert_same_as_torch(model, net, edits, ["conv4_3", "conv5_3", "pool5", "fc7"])


def test_resnet_ablate_and_insert_match_torch(resnet18):
    model, net, _ = resnet18
    values = np.linspace(0.5, 3.0, 256).astype(np.float32)
    edits = {
        "conv1": ablate(np.arange(0, 64, 2), 64),
        "layer3": insert(np.arange(40), values, mask((4, 4), 1), 256),
    }
    assert_same_as_torch(model, net, edits, ["conv1", "layer2", "layer3", "layer4"])


def test_stacked_edits_equal_one_by_one(vgg):
    _, net, _ = vgg
    x = images(3, seed=1)
    edit_list = [
        {"conv5_3": ablate(units, 512), "conv4_3": insert(units, 2.0 + i, mask((8, 8), i), 512)}
        for i, units in enumerate(([3], [0, 1, 2, 3], list(range(100, 300))))
    ]
    outs, acts = net.apply_edits(x, stack_edits(edit_list), layers=["conv5_3"])
    assert outs.shape == (3, 3, 10) and acts["conv5_3"].shape == (3, 3, 4, 4, 512)
    for i, edits in enumerate(edit_list):
        out_i, acts_i = net(x, layers=["conv5_3"], edits=edits)
        assert T.rel_err(outs[i], out_i) < 1e-6
        assert T.rel_err(acts["conv5_3"][i], acts_i["conv5_3"]) < 1e-6
    assert T.rel_err(outs[0], outs[2]) > 1e-3  # different edits, different results


@pytest.mark.parametrize("fixture,layer", [("vgg", "conv5_3"), ("resnet18", "layer4")])
def test_bfloat16_keeps_top1(request, fixture, layer):
    _, net, dest = request.getfixturevalue(fixture)
    net16 = load(dest, dtype=jnp.bfloat16)
    x = images(32, seed=2)
    out32, acts32 = net(x, layers=[layer])
    out16, acts16 = net16(x, layers=[layer])
    assert out16.dtype == jnp.bfloat16 and acts16[layer].dtype == jnp.bfloat16
    agree = float(np.mean(np.argmax(out32, -1) == np.argmax(np.asarray(out16, np.float32), -1)))
    print(f"{fixture} bfloat16 top-1 agreement {agree:.3f}, {layer} rel. error "
          f"{T.rel_err(np.asarray(acts16[layer], np.float32), acts32[layer]):.4f}")
    assert agree >= 0.9
    assert T.rel_err(np.asarray(acts16[layer], np.float32), acts32[layer]) < 0.05
