"""The deep-stem ResNet encoders: strides, dilation, projection shortcuts, parameter names."""

import jax
import jax.numpy as jnp

from jaxdissect.models.segmenter.encoder import DeepStemResNet, _block_geometry


def shapes(module, size):
    x = jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    return [o.shape for o in jax.eval_shape(module.apply, variables, x)], variables["params"]


def test_resnet50_output_stride_32_with_projection_in_every_stage():
    (l1, l2, l3, l4), params = shapes(DeepStemResNet(), 256)
    assert (l1, l2, l3, l4) == ((1, 64, 64, 256), (1, 32, 32, 512), (1, 16, 16, 1024),
                                (1, 8, 8, 2048))
    assert params["conv1"]["kernel"].shape == (3, 3, 3, 64)
    assert params["conv3"]["kernel"].shape == (3, 3, 64, 128)
    assert params["layer1_0"]["downsample_conv"]["kernel"].shape == (1, 1, 128, 256)
    assert "downsample_conv" not in params["layer1_1"] and len(params) == 6 + 16


def test_dilated_resnet18_output_stride_8():
    enc = DeepStemResNet(stage_sizes=(2, 2, 2, 2), bottleneck=False, dilated8=True)
    outs, params = shapes(enc, 64)
    assert [o[1:3] for o in outs] == [(16, 16), (8, 8), (8, 8), (8, 8)]
    assert params["layer1_0"]["downsample_conv"]["kernel"].shape == (1, 1, 128, 64)
    assert _block_geometry(2, 0, True) == (1, 1, 2) and _block_geometry(3, 1, True) == (1, 4, 4)
    assert _block_geometry(1, 0, True) == (2, 1, 1) and _block_geometry(3, 0, False) == (2, 1, 1)
