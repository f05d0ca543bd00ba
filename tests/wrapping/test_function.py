"""Tests of jaxdissect/wrapping/function.py: a plain function's named activations, read-only."""

import jax.numpy as jnp
import numpy as np
import pytest
from user_models import SIZE, inputs

import jaxdissect


def features(params, x):
    a = jnp.tanh(x @ params["w"])
    return {"early": a, "late": a.mean(axis=(1, 2))}


def test_plain_function_is_read_but_not_edited():
    params = {"w": jnp.ones((3, 5)) / 3}
    net = jaxdissect.wrap(features, params, normalization=jaxdissect.Normalization(size=SIZE))
    assert net.layer_names == ["early", "late"]
    out, acts = net(inputs(), layers=["early", "late"])
    assert out is None
    np.testing.assert_allclose(acts["early"], jnp.tanh(inputs() @ params["w"]), rtol=1e-6)
    assert acts["late"].shape == (5, 1, 1, 5)
    with pytest.raises(ValueError, match="plain function.*not edited.*wrap a flax.linen or "
                       "flax.nnx module"):
        net(inputs(), edits={"early": jaxdissect.ablate([0], 5)})
