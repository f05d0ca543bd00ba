"""Torch-matching layers against torch itself: max-pool padding and ceil mode, LRN, frozen BN,
grouped and dilated convolutions."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.layers import (
    FrozenBatchNorm,
    flatten_hwc,
    global_avg_pool,
    local_response_norm,
    max_pool,
    torch_conv,
)

torch = pytest.importorskip("torch")


def to_nchw(x):
    return torch.as_tensor(np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2)))


def to_nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize(
    "size,window,stride,padding,ceil_mode",
    [(8, 3, 2, 1, False), (7, 3, 2, 1, False), (55, 3, 2, 0, False), (6, 3, 2, 0, True),
     (8, 3, 2, 1, True), (9, 2, 2, 0, True), (14, 2, 2, 0, False)],
)
def test_max_pool_matches_torch(rng, size, window, stride, padding, ceil_mode):
    # all-negative input: a zero-padded pool would output 0 at the borders
    x = -np.abs(rng.standard_normal((2, size, size, 3))).astype(np.float32) - 1.0
    ref = torch.nn.MaxPool2d(window, stride, padding, ceil_mode=ceil_mode)(to_nchw(x))
    out = max_pool(jnp.asarray(x), window, stride, padding, ceil_mode)
    assert out.shape == to_nhwc(ref).shape
    np.testing.assert_array_equal(np.asarray(out), to_nhwc(ref))


def test_local_response_norm_matches_torch(rng):
    # large values so that the normaliser differs from 1 by a lot
    x = (rng.standard_normal((2, 5, 5, 9)) * 40).astype(np.float32)
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)(to_nchw(x))
    out = local_response_norm(jnp.asarray(x))
    assert float(np.min(np.abs(to_nhwc(ref) / x))) < 0.9  # the normalisation is active
    np.testing.assert_allclose(np.asarray(out), to_nhwc(ref), rtol=1e-5, atol=1e-6)


def test_frozen_batch_norm_matches_torch(rng):
    c = 6
    bn = torch.nn.BatchNorm2d(c).eval()
    stats = {k: rng.standard_normal(c).astype(np.float32) for k in ("w", "b", "m")}
    var = rng.uniform(0.1, 3.0, c).astype(np.float32)
    with torch.no_grad():
        bn.weight.copy_(torch.as_tensor(stats["w"]))
        bn.bias.copy_(torch.as_tensor(stats["b"]))
        bn.running_mean.copy_(torch.as_tensor(stats["m"]))
        bn.running_var.copy_(torch.as_tensor(var))
    x = rng.standard_normal((3, 4, 4, c)).astype(np.float32)
    params = {"scale": stats["w"], "bias": stats["b"], "mean": stats["m"], "var": var}
    out = FrozenBatchNorm().apply({"params": params}, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), to_nhwc(bn(to_nchw(x))), rtol=1e-5, atol=1e-6)


def test_grouped_dilated_conv_matches_torch(rng):
    conv = torch.nn.Conv2d(8, 6, 3, stride=2, padding=2, dilation=2, groups=2)
    x = rng.standard_normal((2, 9, 9, 8)).astype(np.float32)

    class Wrap(nn.Module):
        @nn.compact
        def __call__(self, x):
            return torch_conv(6, 3, 2, 2, 2, groups=2, name="c")(x)

    params = {"c": {"kernel": conv.weight.detach().numpy().transpose(2, 3, 1, 0),
                    "bias": conv.bias.detach().numpy()}}
    out = Wrap().apply({"params": params}, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), to_nhwc(conv(to_nchw(x))), rtol=1e-5, atol=1e-5)


def test_global_avg_pool_and_flatten():
    x = jnp.arange(2 * 3 * 3 * 4, dtype=jnp.float32).reshape(2, 3, 3, 4)
    np.testing.assert_allclose(np.asarray(global_avg_pool(x)), np.asarray(x).mean(axis=(1, 2)))
    assert flatten_hwc(x, (3, 3, 4), "m").shape == (2, 36)
    with pytest.raises(ValueError, match=r"m: the classifier expects a \(2, 2, 4\)"):
        flatten_hwc(x, (2, 2, 4), "m")


def test_bfloat16_compute_keeps_float32_params():
    x = jnp.ones((1, 2, 2, 3), jnp.bfloat16)
    variables = FrozenBatchNorm(dtype=jnp.bfloat16).init(jax.random.key(0), x)
    assert all(v.dtype == jnp.float32 for v in jax.tree.leaves(variables))
    assert FrozenBatchNorm(dtype=jnp.bfloat16).apply(variables, x).dtype == jnp.bfloat16
