"""VGG16 (Simonyan & Zisserman) as published for Places365, in Flax.

Thirteen 3x3 convolutions (padding 1) with ReLU, a 2x2 stride-2 max-pool after ``conv1_2``,
``conv2_2``, ``conv3_3``, ``conv4_3`` and ``conv5_3`` (``pool1..5``), then ``fc6`` and ``fc7``
(4096, ReLU, dropout inactive at inference) and the classifier ``fc8a``. Input: NHWC RGB in
[0, 1] normalised with the ImageNet mean/std, 224x224 for the published checkpoint.

Dissectable layers (``LAYERS``): ``conv1_1 .. conv5_3`` (post-ReLU, as the published model's
in-place ReLU leaves them), ``pool5``, and ``fc6`` / ``fc7`` (post-ReLU, returned as
(N, 1, 1, 4096) maps so that they are edited and dissected like conv layers).

``pool5_size`` is the side of the pool5 map the checkpoint's ``fc6`` was made for (7 for 224
inputs; the converter reads it from fc6's shape), so smaller models for tests take smaller inputs.
``fc6`` consumes pool5 flattened in HWC order (the converter reorders torch's CHW weight).

Precision: computes in ``dtype`` (float32 default, bfloat16 on request; params stay float32);
activations and logits are returned in ``dtype``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.base import Normalization, check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.layers import flatten_hwc, max_pool, torch_conv
from jaxdissect.models.registry import ArchSpec, register_arch

# (name, output channels) per conv, grouped by the stage that a max-pool ends.
VGG16_STAGES = (
    (("conv1_1", 64), ("conv1_2", 64)),
    (("conv2_1", 128), ("conv2_2", 128)),
    (("conv3_1", 256), ("conv3_2", 256), ("conv3_3", 256)),
    (("conv4_1", 512), ("conv4_2", 512), ("conv4_3", 512)),
    (("conv5_1", 512), ("conv5_2", 512), ("conv5_3", 512)),
)
CONV_NAMES = tuple(name for stage in VGG16_STAGES for name, _ in stage)
FC_WIDTH = 4096


class VGG16(nn.Module):
    """VGG16: (N, 32s, 32s, 3) -> logits (N, num_classes), s = ``pool5_size``."""

    num_classes: int = 365
    pool5_size: int = 7
    dtype: jnp.dtype = jnp.float32

    LAYERS = (*CONV_NAMES, "pool5", "fc6", "fc7")

    @property
    def normalization(self) -> Normalization:
        return Normalization(size=32 * self.pool5_size)

    @nn.compact
    def __call__(self, x: jax.Array, layers=(), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "VGG16")
        acts: dict[str, jax.Array] = {}
        x = x.astype(self.dtype)
        for stage in VGG16_STAGES:
            for name, features in stage:
                x = torch_conv(features, 3, padding=1, dtype=self.dtype, name=name)(x)
                x = tap(name, nn.relu(x), layers, edits, acts)
            x = max_pool(x, 2, 2)
        x = tap("pool5", x, layers, edits, acts)
        x = flatten_hwc(x, (self.pool5_size, self.pool5_size, 512), "VGG16")
        for name in ("fc6", "fc7"):
            x = nn.Dense(FC_WIDTH, dtype=self.dtype, param_dtype=jnp.float32, name=name)(x)
            x = tap(name, nn.relu(x)[:, None, None, :], layers, edits, acts)[:, 0, 0, :]
        out = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32, name="fc8a")(x)
        return out, acts


register_arch(
    ArchSpec(
        name="vgg16",
        build=lambda sizes, dtype: VGG16(sizes["num_classes"], sizes["pool5_size"], dtype),
        normalization=lambda sizes: Normalization(size=32 * sizes["pool5_size"]),
        default_layer="conv5_3",
        converter="ports.vgg:convert_vgg16",
        detector="ports.vgg:is_vgg16",
    )
)
