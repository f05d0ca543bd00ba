"""Layers shared by the converted classifiers (and the segmenter encoders), matching PyTorch.

- :func:`torch_conv`: a convolution with PyTorch's symmetric explicit padding, stride, dilation
  and groups; kernel HWIO ``(kh, kw, in / groups, out)``.
- :class:`FrozenBatchNorm`: inference-mode BatchNorm whose running statistics are *parameters*
  (``scale``, ``bias``, ``mean``, ``var``), so that a model's whole state is one ``params`` tree.
- :func:`max_pool`: PyTorch ``MaxPool2d`` (padding counts as -inf, optional ``ceil_mode``).
- :func:`local_response_norm`: PyTorch/Caffe ``LocalResponseNorm`` across channels.

Precision: each layer computes in its ``dtype`` (parameters are stored in float32 and cast);
BatchNorm folds its statistics into one scale and shift in float32 before the cast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def torch_conv(
    features: int,
    kernel_size: int,
    strides: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
    use_bias: bool = True,
    dtype: jnp.dtype = jnp.float32,
    name: str | None = None,
) -> nn.Conv:
    """A ``flax.linen.Conv`` that computes ``torch.nn.Conv2d`` on NHWC input.

    Kernel (kh, kw, in / groups, out), float32 params; call it inside a compact method.
    """
    return nn.Conv(
        features,
        (kernel_size, kernel_size),
        strides=(strides, strides),
        padding=((padding, padding), (padding, padding)),
        kernel_dilation=(dilation, dilation),
        feature_group_count=groups,
        use_bias=use_bias,
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


class FrozenBatchNorm(nn.Module):
    """``torch.nn.BatchNorm2d`` in eval mode: ``(x - mean) / sqrt(var + eps) * scale + bias``.

    Params ``scale, bias, mean, var`` of shape (C,), float32; x (..., C) in any float dtype.
    """

    eps: float = 1e-5
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (c,), jnp.float32)
        mean = self.param("mean", nn.initializers.zeros, (c,), jnp.float32)
        var = self.param("var", nn.initializers.ones, (c,), jnp.float32)
        mul = scale * jax.lax.rsqrt(var + self.eps)
        add = bias - mean * mul
        return x.astype(self.dtype) * mul.astype(self.dtype) + add.astype(self.dtype)


def _pool_padding(size: int, window: int, stride: int, padding: int, ceil_mode: bool):
    """(low, high) padding reproducing torch's output size ``floor/ceil((L + 2p - k) / s) + 1``."""
    span = size + 2 * padding - window
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch: the last window must start inside the input or the left padding
    high = max((out - 1) * stride + window - size - padding, 0)
    return padding, high


def max_pool(
    x: jax.Array, window: int, stride: int, padding: int = 0, ceil_mode: bool = False
) -> jax.Array:
    """``torch.nn.MaxPool2d(window, stride, padding, ceil_mode)`` on (N, H, W, C).

    Padded positions never win (they count as -inf), as in torch.
    """
    pads = [_pool_padding(s, window, stride, padding, ceil_mode) for s in x.shape[1:3]]
    return jax.lax.reduce_window(
        x,
        jnp.array(-jnp.inf, x.dtype),
        jax.lax.max,
        (1, window, window, 1),
        (1, stride, stride, 1),
        ((0, 0), *pads, (0, 0)),
    )


def local_response_norm(
    x: jax.Array, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> jax.Array:
    """``x / (k + alpha * mean_size(x^2))^beta`` across channels of (N, H, W, C).

    The mean divides by ``size`` everywhere (channels beyond the ends count as zeros), exactly
    as ``torch.nn.LocalResponseNorm`` and Caffe's ACROSS_CHANNELS LRN. Computed in float32.
    """
    xf = x.astype(jnp.float32)
    half = size // 2
    sums = jax.lax.reduce_window(
        jnp.square(xf),
        0.0,
        jax.lax.add,
        (1, 1, 1, size),
        (1, 1, 1, 1),
        ((0, 0), (0, 0), (0, 0), (half, (size - 1) - half)),
    )
    return (xf / (k + alpha / size * sums) ** beta).astype(x.dtype)


def global_avg_pool(x: jax.Array) -> jax.Array:
    """(N, H, W, C) -> (N, C), the mean in float32, returned in x's dtype."""
    return jnp.mean(x.astype(jnp.float32), axis=(1, 2)).astype(x.dtype)


def flatten_hwc(x: jax.Array, expect: Sequence[int], model: str) -> jax.Array:
    """(N, H, W, C) -> (N, H*W*C), checking (H, W, C) against what the first dense layer needs."""
    if tuple(x.shape[1:]) != tuple(expect):
        raise ValueError(
            f"{model}: the classifier expects a {tuple(expect)} feature map (H, W, C) but got "
            f"{tuple(x.shape[1:])}; feed inputs of the size the checkpoint was made for"
        )
    return x.reshape(x.shape[0], -1)
