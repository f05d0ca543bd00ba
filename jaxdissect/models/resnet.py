"""ResNets in Flax: torchvision ResNet-18/50 and the Torch7 ResNet-152 of Places365.

Both layouts compute the same network (He et al. 2016, torchvision "v1.5"): ``conv1`` 7x7 s2
(no bias) -> BN -> ReLU -> max-pool 3 s2 p1 -> four stages of residual blocks (64, 128, 256, 512
wide; the first block of stages 2-4 strides by 2 on its 3x3 conv and on the projection shortcut)
-> global average pool -> ``fc``. A projection shortcut (1x1 conv + BN) is used where the shape
changes. BatchNorm is in inference mode with the checkpoint's running statistics (eps 1e-5),
stored as parameters (:class:`jaxdissect.models.layers.FrozenBatchNorm`).

Dissectable layers, in forward order:

- :class:`ResNet` (torchvision names): ``conv1`` (the conv output, *before* BN, which is what a
  hook on torchvision's ``conv1`` sees), ``layer1 .. layer4`` (stage outputs, post-ReLU);
- :class:`ResNetTorch7` (the numeric names of the Torch7 Sequential): ``0`` (conv1 before BN),
  ``4``, ``5``, ``6``, ``7`` (stage outputs, post-ReLU).

The published Torch7 model ends with ``AvgPool(7)``, which equals the global average pool used
here at 224x224; other input sizes work with the global pool. Input: NHWC RGB in [0, 1], ImageNet
mean/std, 224x224.

The blocks (:class:`BasicBlock`, :class:`Bottleneck`, with dilation) and :func:`stem` are
public so that the segmenter encoders reuse them. Parameter names inside a block are ``conv1``,
``bn1``, ``conv2``, ``bn2`` [, ``conv3``, ``bn3``], ``downsample_conv``, ``downsample_bn``; blocks
are ``layer{stage}_{index}`` (e.g. ``layer3_0``); see ``ports/resnet.py`` for the key tables.

Precision: computes in ``dtype`` (params float32); activations and logits returned in ``dtype``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.base import Normalization, check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.layers import FrozenBatchNorm, global_avg_pool, max_pool, torch_conv
from jaxdissect.models.registry import ArchSpec, register_arch

STAGE_WIDTHS = (64, 128, 256, 512)
RESNET18_STAGES = (2, 2, 2, 2)
RESNET50_STAGES = (3, 4, 6, 3)
RESNET152_STAGES = (3, 8, 36, 3)


def shortcut(x: jax.Array, features: int, strides: int, project: bool, dtype) -> jax.Array:
    """Identity, or (when ``project``) 1x1 conv with stride + BN named ``downsample_conv/_bn``.

    Call inside a block's compact method, so the layers belong to the block.
    """
    if not project:
        return x
    x = torch_conv(features, 1, strides, use_bias=False, dtype=dtype, name="downsample_conv")(x)
    return FrozenBatchNorm(dtype=dtype, name="downsample_bn")(x)


class BasicBlock(nn.Module):
    """Two 3x3 convs (the first strides): (N, H, W, Cin) -> (N, H/s, W/s, features).

    ``dilations`` are the two convs' dilations (padding equals dilation).
    """

    features: int
    strides: int = 1
    dilations: tuple[int, int] = (1, 1)
    project: bool = False
    dtype: jnp.dtype = jnp.float32

    EXPANSION = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        d1, d2 = self.dilations
        y = torch_conv(self.features, 3, self.strides, d1, d1, use_bias=False, dtype=self.dtype,
                       name="conv1")(x)
        y = nn.relu(FrozenBatchNorm(dtype=self.dtype, name="bn1")(y))
        y = torch_conv(self.features, 3, 1, d2, d2, use_bias=False, dtype=self.dtype,
                       name="conv2")(y)
        y = FrozenBatchNorm(dtype=self.dtype, name="bn2")(y)
        return nn.relu(y + shortcut(x, self.features, self.strides, self.project, self.dtype))


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strides, dilation) -> 1x1 (4x wider): (N, H, W, Cin) -> (N, H/s, W/s, 4w)."""

    features: int
    strides: int = 1
    dilation: int = 1
    project: bool = False
    dtype: jnp.dtype = jnp.float32

    EXPANSION = 4

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        w, d = self.features, self.dilation
        y = torch_conv(w, 1, use_bias=False, dtype=self.dtype, name="conv1")(x)
        y = nn.relu(FrozenBatchNorm(dtype=self.dtype, name="bn1")(y))
        y = torch_conv(w, 3, self.strides, d, d, use_bias=False, dtype=self.dtype,
                       name="conv2")(y)
        y = nn.relu(FrozenBatchNorm(dtype=self.dtype, name="bn2")(y))
        y = torch_conv(4 * w, 1, use_bias=False, dtype=self.dtype, name="conv3")(y)
        y = FrozenBatchNorm(dtype=self.dtype, name="bn3")(y)
        return nn.relu(y + shortcut(x, 4 * w, self.strides, self.project, self.dtype))


def stem(x: jax.Array, dtype, conv_name: str, bn_name: str, tap_conv=lambda y: y) -> jax.Array:
    """conv 7x7 s2 p3 (no bias) -> ``tap_conv`` -> BN -> ReLU -> max-pool 3 s2 p1 (in compact)."""
    x = torch_conv(64, 7, 2, 3, use_bias=False, dtype=dtype, name=conv_name)(x)
    x = tap_conv(x)
    x = nn.relu(FrozenBatchNorm(dtype=dtype, name=bn_name)(x))
    return max_pool(x, 3, 2, padding=1)


class ResNet(nn.Module):
    """ResNet with torchvision names: (N, H, W, 3) -> logits (N, num_classes)."""

    stage_sizes: tuple[int, ...] = RESNET18_STAGES
    bottleneck: bool = False
    num_classes: int = 365
    dtype: jnp.dtype = jnp.float32

    LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")

    @property
    def normalization(self) -> Normalization:
        return Normalization(size=224)

    @nn.compact
    def __call__(self, x: jax.Array, layers=(), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, type(self).__name__)
        if len(self.stage_sizes) != len(STAGE_WIDTHS):
            raise ValueError(f"a ResNet has 4 stages, got stage_sizes={self.stage_sizes}")
        acts: dict[str, jax.Array] = {}
        tap_conv = lambda y: tap(self.LAYERS[0], y, layers, edits, acts)
        x = stem(x.astype(self.dtype), self.dtype, "conv1", "bn1", tap_conv)
        block = Bottleneck if self.bottleneck else BasicBlock
        channels = 64
        for s, (num_blocks, width) in enumerate(zip(self.stage_sizes, STAGE_WIDTHS, strict=True)):
            for b in range(num_blocks):
                strides = 2 if s > 0 and b == 0 else 1
                out = width * block.EXPANSION
                project = strides != 1 or channels != out
                x = block(width, strides, project=project, dtype=self.dtype,
                          name=f"layer{s + 1}_{b}")(x)
                channels = out
            x = tap(self.LAYERS[s + 1], x, layers, edits, acts)
        x = global_avg_pool(x)
        out = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32, name="fc")(x)
        return out, acts


class ResNetTorch7(ResNet):
    """The same network with the layer names of the Torch7 Sequential (ResNet-152 Places365)."""

    stage_sizes: tuple[int, ...] = RESNET152_STAGES
    bottleneck: bool = True

    LAYERS = ("0", "4", "5", "6", "7")


def _register(name: str, cls, stages, bottleneck: bool, converter: str, default_layer: str):
    register_arch(
        ArchSpec(
            name=name,
            build=lambda sizes, dtype: cls(stages, bottleneck, sizes["num_classes"], dtype),
            normalization=lambda sizes: Normalization(size=224),
            default_layer=default_layer,
            converter=converter,
            detector=f"ports.resnet:is_{name}",
        )
    )


_register("resnet18", ResNet, RESNET18_STAGES, False, "ports.resnet:convert_resnet18", "layer4")
_register("resnet50", ResNet, RESNET50_STAGES, True, "ports.resnet:convert_resnet50", "layer4")
_register("resnet152", ResNetTorch7, RESNET152_STAGES, True, "ports.resnet:convert_resnet152", "7")
