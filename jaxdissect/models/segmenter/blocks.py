"""Building blocks shared by the segmenter decoders: conv + BatchNorm (+ ReLU), and class heads.

Parameter names: a :class:`ConvBN` has ``conv`` (kernel HWIO, no bias) and ``bn``
(:class:`~jaxdissect.models.layers.FrozenBatchNorm`); a :class:`Head` has ``cbr`` (a 3x3
ConvBN followed by ReLU) and ``classifier`` (1x1 conv with bias). Convolutions pad by
``kernel // 2`` (same size), as every decoder conv of the published segmenters does.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.layers import FrozenBatchNorm, torch_conv


class ConvBN(nn.Module):
    """Conv (stride 1, same padding, no bias) then inference BatchNorm: (N, H, W, C) -> features.

    Returns the pre-activation; callers apply ReLU (possibly after a resize, see the UPerNet
    pyramid pooling).
    """

    features: int
    kernel: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = torch_conv(self.features, self.kernel, padding=self.kernel // 2, use_bias=False,
                       dtype=self.dtype, name="conv")(x)
        return FrozenBatchNorm(dtype=self.dtype, name="bn")(x)


def conv_bn_relu(features: int, kernel: int, dtype, name: str):
    """A callable ``x -> relu(ConvBN(x))`` whose params live under ``name``."""
    block = ConvBN(features, kernel, dtype, name=name)
    return lambda x: nn.relu(block(x))


class Head(nn.Module):
    """CBR 3x3 (``cbr``) then a 1x1 classifier with bias (``classifier``): logits (N, H, W, K)."""

    features: int
    num_classes: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(ConvBN(self.features, 3, self.dtype, name="cbr")(x))
        return torch_conv(self.num_classes, 1, use_bias=True, dtype=self.dtype,
                          name="classifier")(x)
