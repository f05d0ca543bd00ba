"""The segmenters' ResNet encoders: a deep stem, four stages, optionally dilated to stride 8.

Deep stem (both published segmenters): ``conv1`` 3x3 stride 2 -> ``bn1`` -> ReLU -> ``conv2``
3x3 -> ``bn2`` -> ReLU -> ``conv3`` 3x3 -> ``bn3`` -> ReLU -> max-pool 3 stride 2 pad 1 (widths
64, 64, 128 in the published files). Then stages ``layer1..4`` of bottleneck (UPerNet, ResNet-50)
or basic (colour model, ResNet-18) blocks, reusing :mod:`jaxdissect.models.resnet` (block names
``layer{stage}_{index}``). Every stage's first block has a projection shortcut, layer1 included
(the stem's 128 channels differ from layer1's width).

Strides: stages 2-4 stride 2 in their first block, on the 3x3 conv (output stride 32). With
``dilated8`` (the colour model) stages 3 and 4 keep stride 1 and dilate instead: the first block's
strided 3x3 conv gets dilation d/2, every other 3x3 dilation d (d = 2 for layer3, 4 for layer4),
padding = dilation; the shortcut's stride becomes 1 (output stride 8).
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.layers import FrozenBatchNorm, max_pool, torch_conv
from jaxdissect.models.resnet import BasicBlock, Bottleneck

STAGE_NAMES = ("layer1", "layer2", "layer3", "layer4")


def _block_geometry(stage: int, index: int, dilated8: bool) -> tuple[int, int, int]:
    """(stride, first 3x3 dilation, other 3x3 dilation) of block ``index`` of stage 0..3."""
    if dilated8 and stage >= 2:
        d = 2 if stage == 2 else 4
        return 1, (d // 2 if index == 0 else d), d
    return (2 if stage > 0 and index == 0 else 1), 1, 1


class DeepStemResNet(nn.Module):
    """(N, H, W, 3) -> the four stage outputs, NHWC, in ``dtype``.

    ``tap(name, x) -> x`` is called on each stage output (``layer1..4``) so that a caller can
    record or edit it before the next stage reads it.
    """

    stem_widths: tuple[int, int, int] = (64, 64, 128)
    stage_sizes: tuple[int, ...] = (3, 4, 6, 3)
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)
    bottleneck: bool = True
    dilated8: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, tap: Callable | None = None) -> list[jax.Array]:
        x = x.astype(self.dtype)
        for i, width in enumerate(self.stem_widths, start=1):
            x = torch_conv(width, 3, 2 if i == 1 else 1, 1, use_bias=False, dtype=self.dtype,
                           name=f"conv{i}")(x)
            x = nn.relu(FrozenBatchNorm(dtype=self.dtype, name=f"bn{i}")(x))
        x = max_pool(x, 3, 2, padding=1)
        outputs = []
        for s, (blocks, width) in enumerate(zip(self.stage_sizes, self.stage_widths, strict=True)):
            for b in range(blocks):
                stride, d_first, d_other = _block_geometry(s, b, self.dilated8)
                name = f"layer{s + 1}_{b}"
                if self.bottleneck:
                    x = Bottleneck(width, stride, d_first, project=b == 0, dtype=self.dtype,
                                   name=name)(x)
                else:
                    x = BasicBlock(width, stride, (d_first, d_other), project=b == 0,
                                   dtype=self.dtype, name=name)(x)
            if tap is not None:
                x = tap(STAGE_NAMES[s], x)
            outputs.append(x)
        return outputs
