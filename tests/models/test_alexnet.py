"""Caffe AlexNet: the input size that pool sizes imply, published shapes, grouped kernels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.alexnet import AlexNet, input_size


def test_input_size():
    assert input_size(6) == 227
    assert AlexNet().normalization.size == 227
    assert [input_size(s) for s in (1, 2)] == [67, 99]


def test_published_shapes_and_parameter_count():
    module = AlexNet(num_classes=1000)
    x = jax.ShapeDtypeStruct((2, 227, 227, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    out, acts = jax.eval_shape(
        lambda v, x: module.apply(v, x, layers=AlexNet.LAYERS), variables, x
    )
    assert acts["conv1"].shape == (2, 55, 55, 96)
    assert acts["conv2"].shape == (2, 27, 27, 256)
    assert acts["conv5"].shape == (2, 13, 13, 256)
    assert acts["pool5"].shape == (2, 6, 6, 256)
    assert out.shape == (2, 1000)
    params = variables["params"]
    assert params["conv2"]["kernel"].shape == (5, 5, 48, 256)  # 2 groups
    assert params["conv4"]["kernel"].shape == (3, 3, 192, 384)
    assert params["fc6"]["kernel"].shape == (9216, 4096)
    # the grouped Caffe AlexNet with 1000 classes has 60,965,224 parameters
    assert sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params)) == 60_965_224


def test_unknown_layer_lists_valid_ones():
    module = AlexNet(pool5_size=1)
    x = jnp.zeros((1, 67, 67, 3))
    with pytest.raises(ValueError, match="conv1, conv2, conv3, conv4, conv5, pool5, fc6, fc7"):
        jax.eval_shape(lambda x: module.init(jax.random.key(0), x, layers=("conv6",)), x)
