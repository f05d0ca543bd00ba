"""Caffe-style AlexNet as published for Places365, in Flax.

``conv1`` 96x11x11 stride 4 -> ReLU -> max-pool 3 s2 -> LRN -> ``conv2`` 256x5x5 pad 2 groups 2 ->
ReLU -> max-pool 3 s2 -> LRN -> ``conv3`` 384x3x3 pad 1 -> ReLU -> ``conv4`` 384 groups 2 -> ReLU ->
``conv5`` 256 groups 2 -> ReLU -> max-pool 3 s2 (``pool5``) -> ``fc6`` -> ReLU -> ``fc7`` -> ReLU ->
``fc8``; dropout inactive at inference. Pools are torch's floor-mode ``MaxPool2d(3, 2)`` without
padding: a 227 input gives 55 -> 27 -> 13 (conv3-5) -> 6, and fc6 reads 6*6*256 = 9216 features.
LRN: size 5, alpha 1e-4, beta 0.75, k 1 (:func:`jaxdissect.models.layers.local_response_norm`).

Dissectable layers (``LAYERS``): ``conv1 .. conv5`` post-ReLU, ``pool5``, and ``fc6`` / ``fc7``
post-ReLU as (N, 1, 1, 4096) maps. Input: NHWC RGB in [0, 1], ImageNet mean/std, 227x227 for
the published checkpoint. ``pool5_size`` (6 there) is read from fc6's shape by the converter;
:func:`input_size` gives the matching input side (smaller models for tests take smaller inputs).

Precision: computes in ``dtype`` (params float32; LRN in float32); activations and logits are
returned in ``dtype``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.base import Normalization, check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.layers import flatten_hwc, local_response_norm, max_pool, torch_conv
from jaxdissect.models.registry import ArchSpec, register_arch

FC_WIDTH = 4096


def input_size(pool5_size: int) -> int:
    """Input side whose pool5 map is ``pool5_size`` wide (6 -> 227), inverting the pools."""
    side = pool5_size
    for _ in range(3):  # pool5, pool2, pool1: 3 wide, stride 2, no padding
        side = 2 * side + 1
    return 4 * (side - 1) + 11  # conv1: 11 wide, stride 4


class AlexNet(nn.Module):
    """Caffe AlexNet: (N, S, S, 3) -> logits (N, num_classes), S = ``input_size(pool5_size)``."""

    num_classes: int = 365
    pool5_size: int = 6
    dtype: jnp.dtype = jnp.float32

    LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7")

    @property
    def normalization(self) -> Normalization:
        return Normalization(size=input_size(self.pool5_size))

    @nn.compact
    def __call__(self, x: jax.Array, layers=(), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "AlexNet")
        acts: dict[str, jax.Array] = {}

        def conv(name, x, features, kernel, strides=1, padding=0, groups=1):
            conv = torch_conv(features, kernel, strides, padding, groups=groups, dtype=self.dtype,
                              name=name)
            return tap(name, nn.relu(conv(x)), layers, edits, acts)

        x = conv("conv1", x.astype(self.dtype), 96, 11, strides=4)
        x = local_response_norm(max_pool(x, 3, 2))
        x = conv("conv2", x, 256, 5, padding=2, groups=2)
        x = local_response_norm(max_pool(x, 3, 2))
        x = conv("conv3", x, 384, 3, padding=1)
        x = conv("conv4", x, 384, 3, padding=1, groups=2)
        x = conv("conv5", x, 256, 3, padding=1, groups=2)
        x = tap("pool5", max_pool(x, 3, 2), layers, edits, acts)
        x = flatten_hwc(x, (self.pool5_size, self.pool5_size, 256), "AlexNet")
        for name in ("fc6", "fc7"):
            x = nn.Dense(FC_WIDTH, dtype=self.dtype, param_dtype=jnp.float32, name=name)(x)
            x = tap(name, nn.relu(x)[:, None, None, :], layers, edits, acts)[:, 0, 0, :]
        out = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32, name="fc8")(x)
        return out, acts


register_arch(
    ArchSpec(
        name="alexnet",
        build=lambda sizes, dtype: AlexNet(sizes["num_classes"], sizes["pool5_size"], dtype),
        normalization=lambda sizes: Normalization(size=input_size(sizes["pool5_size"])),
        default_layer="conv5",
        converter="ports.alexnet:convert_alexnet",
        detector="ports.alexnet:is_alexnet",
    )
)
