"""VGG16: layer names and shapes (traced, nothing computed), parameter count, input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.vgg import VGG16


def shapes(module, side, layers):
    x = jax.ShapeDtypeStruct((2, side, side, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    out, acts = jax.eval_shape(lambda v, x: module.apply(v, x, layers=layers), variables, x)
    return variables["params"], out, acts


def test_published_shapes_and_parameter_count():
    params, out, acts = shapes(VGG16(num_classes=1000), 224, VGG16.LAYERS)
    assert set(acts) == set(VGG16.LAYERS)
    assert acts["conv1_1"].shape == (2, 224, 224, 64)
    assert acts["conv5_3"].shape == (2, 14, 14, 512)
    assert acts["pool5"].shape == (2, 7, 7, 512)
    assert acts["fc7"].shape == (2, 1, 1, 4096)
    assert out.shape == (2, 1000)
    assert params["fc6"]["kernel"].shape == (25088, 4096)
    # torchvision's vgg16 has 138,357,544 parameters
    assert sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params)) == 138_357_544


def test_small_pool5_size_and_normalization():
    module = VGG16(num_classes=5, pool5_size=2)
    assert module.normalization.size == 64
    _, out, acts = shapes(module, 64, ("conv5_3",))
    assert list(acts) == ["conv5_3"] and acts["conv5_3"].shape == (2, 4, 4, 512)
    assert out.shape == (2, 5)


def test_bad_layer_and_bad_input_size():
    module = VGG16(num_classes=5, pool5_size=2)
    with pytest.raises(ValueError, match="unknown layer.*conv6_1.*conv1_1, conv1_2"):
        shapes(module, 64, ("conv6_1",))
    with pytest.raises(ValueError, match=r"expects a \(2, 2, 512\) feature map"):
        shapes(module, 96, ())


def test_bfloat16_outputs():
    _, out, acts = shapes(VGG16(num_classes=5, pool5_size=1, dtype=jnp.bfloat16), 32, ("fc6",))
    assert out.dtype == jnp.bfloat16 and acts["fc6"].dtype == jnp.bfloat16
