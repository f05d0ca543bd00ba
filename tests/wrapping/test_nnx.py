"""Tests of jaxdissect/wrapping/nnx.py: a flax.nnx module, unchanged, read and edited by path."""

import numpy as np
import pytest
from flax import nnx
from user_models import NNXCNN, SIZE, inputs

import jaxdissect


@pytest.fixture(scope="module")
def model():
    return NNXCNN(nnx.Rngs(0))


def test_nnx_paths_capture_and_edits(model):
    net = jaxdissect.wrap(model, normalization=jaxdissect.Normalization(size=SIZE))
    assert [(n, s) for n, s, _ in jaxdissect.layers(net)] == [
        ("stem", (16, 16, 4)), ("body", (8, 8, 6)), ("head", (3,))]
    x = inputs()
    out, acts = net(x, layers=["stem", "body"])
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["stem"], model.stem(x), rtol=1e-5, atol=1e-6)
    # ablating the conv's output units 0 and 3 before the relu zeroes them after it too
    edited, eacts = net(x, layers=["body"], edits={"body": jaxdissect.ablate([0, 3], 6)})
    pooled = nnx.max_pool(nnx.relu(model.stem(x)), (2, 2), (2, 2))
    body = model.body(pooled).at[..., [0, 3]].set(0.0)
    np.testing.assert_allclose(eacts["body"], body, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(edited, model.head(nnx.relu(body).mean((1, 2))), rtol=1e-5,
                               atol=1e-6)
    # the user's module is left as it was
    assert type(model.stem).__call__ is nnx.Conv.__call__
    np.testing.assert_allclose(model(x), out, rtol=1e-6)
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['bdy'\].*nearest: body"):
        net(x, layers=["bdy"])
    with pytest.raises(ValueError, match="carries its own state"):
        jaxdissect.wrap(model, {}, normalization=jaxdissect.Normalization(size=SIZE))
