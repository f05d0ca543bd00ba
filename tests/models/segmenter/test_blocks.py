"""Decoder blocks: ConvBN + ReLU and the class heads."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.segmenter.blocks import ConvBN, Head


def test_convbn_is_conv_then_inference_batchnorm(rng):
    x = jnp.asarray(rng.standard_normal((2, 5, 5, 3)), jnp.float32)
    block = ConvBN(4, 3)
    params = block.init(jax.random.key(0), x)["params"]
    params["bn"] = {"scale": jnp.full(4, 2.0), "bias": jnp.full(4, 0.5), "mean": jnp.full(4, 1.0),
                    "var": jnp.full(4, 3.0)}
    y = block.apply({"params": params}, x)
    conv = jax.lax.conv_general_dilated(x, params["conv"]["kernel"], (1, 1), ((1, 1), (1, 1)),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    np.testing.assert_allclose(y, (conv - 1.0) / np.sqrt(3.0 + 1e-5) * 2.0 + 0.5, rtol=1e-5,
                               atol=1e-5)


def test_head_names_and_shapes():
    head = Head(8, 5)
    variables = jax.eval_shape(head.init, jax.random.key(0), jnp.zeros((1, 4, 4, 8)))
    p = variables["params"]
    assert set(p) == {"cbr", "classifier"} and p["classifier"]["bias"].shape == (5,)
    assert p["cbr"]["conv"]["kernel"].shape == (3, 3, 8, 8)
