"""ResNets: published layer shapes for both naming schemes and parameter counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.resnet import (
    RESNET50_STAGES,
    ResNet,
    ResNetTorch7,
)


def traced(module, side=224):
    x = jax.ShapeDtypeStruct((2, side, side, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    out, acts = jax.eval_shape(
        lambda v, x: module.apply(v, x, layers=type(module).LAYERS), variables, x
    )
    params = variables["params"]
    # torch counts BN weight/bias as parameters, running statistics as buffers
    count = sum(
        int(np.prod(leaf.shape))
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
        if path[-1].key not in ("mean", "var")
    )
    return out, acts, count


def test_resnet18_shapes_and_count():
    out, acts, count = traced(ResNet(num_classes=1000))
    assert {k: v.shape[1:] for k, v in acts.items()} == {
        "conv1": (112, 112, 64), "layer1": (56, 56, 64), "layer2": (28, 28, 128),
        "layer3": (14, 14, 256), "layer4": (7, 7, 512)}
    assert out.shape == (2, 1000)
    assert count == 11_689_512  # torchvision resnet18


def test_resnet50_count():
    _, acts, count = traced(ResNet(RESNET50_STAGES, True, num_classes=1000))
    assert acts["layer4"].shape == (2, 7, 7, 2048)
    assert count == 25_557_032  # torchvision resnet50


def test_resnet152_torch7_names_and_shapes():
    out, acts, count = traced(ResNetTorch7(num_classes=365))
    assert {k: v.shape[1:] for k, v in acts.items()} == {
        "0": (112, 112, 64), "4": (56, 56, 256), "5": (28, 28, 512),
        "6": (14, 14, 1024), "7": (7, 7, 2048)}
    assert out.shape == (2, 365)
    assert count == 60_192_808 - 2049 * 635  # torchvision resnet152, 365 classes, not 1000


def init_shapes(module, side, layers=()):
    x = jnp.zeros((1, side, side, 3))
    return jax.eval_shape(lambda x: module.init(jax.random.key(0), x, layers=layers), x)


def test_layer_names_are_checked():
    with pytest.raises(ValueError, match="dissectable layers are: 0, 4, 5, 6, 7"):
        init_shapes(ResNetTorch7(stage_sizes=(1, 1, 1, 1)), 32, ("layer4",))
    with pytest.raises(ValueError, match="a ResNet has 4 stages"):
        init_shapes(ResNet(stage_sizes=(1, 1)), 32)
