"""The colour segmenter (ResNet-18 dilated to output stride 8, PPM decoder) in Flax.

``logits, acts = ColorNet(...).apply({"params": p}, x)`` takes the image normalised as the
checkpoint's ``labels.json`` says (``imageformat``: optional BGR flip, then
``((x + 1) / 2 - mean) / std``; see :mod:`jaxdissect.models.segmenter.preprocess`) and returns
logits (N, H/8, W/8, K), K = none + 11 colours in the published file.

Decoder (``fc_dim`` = layer4's 512 channels): pyramid pooling by *adaptive average pooling* at
scales 1, 2, 3, 6, each followed by CBR 1x1 (``ppm_i``) **before** the bilinear upsample to the
layer4 size (the opposite order to UPerNet); concat with layer4 -> CBR 3x3 ``conv_last`` ->
(dropout, the identity at inference) -> 1x1 classifier with bias (``classifier``). The
deep-supervision branch of the published decoder is training-only and not built.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.base import check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.layers import torch_conv
from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.models.segmenter.blocks import conv_bn_relu
from jaxdissect.models.segmenter.encoder import STAGE_NAMES, DeepStemResNet
from jaxdissect.models.segmenter.resize import adaptive_avg_pool, resize_bilinear

POOL_SCALES = (1, 2, 3, 6)


class ColorNet(nn.Module):
    """Dilated ResNet-18 + PPM colour segmenter; sizes come from a checkpoint."""

    num_classes: int = 12
    ppm_dim: int = 512
    last_dim: int = 512
    stem_widths: tuple[int, int, int] = (64, 64, 128)
    stage_sizes: tuple[int, ...] = (2, 2, 2, 2)
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)
    dtype: jnp.dtype = jnp.float32

    LAYERS = STAGE_NAMES

    @nn.compact
    def __call__(self, x: jax.Array, layers=(), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "ColorNet")
        if edits is not None:
            check_layers(tuple(edits), self.LAYERS, "ColorNet")
        acts: dict[str, jax.Array] = {}
        record = lambda name, y: tap(name, y, layers, edits, acts)
        feats = DeepStemResNet(self.stem_widths, self.stage_sizes, self.stage_widths,
                               bottleneck=False, dilated8=True, dtype=self.dtype,
                               name="encoder")(x, record)
        c5 = feats[3]
        size = c5.shape[1:3]
        branches = [c5]
        for i, scale in enumerate(POOL_SCALES):
            pooled = adaptive_avg_pool(c5, (scale, scale))
            branches.append(resize_bilinear(
                conv_bn_relu(self.ppm_dim, 1, self.dtype, f"ppm_{i}")(pooled), size))
        y = conv_bn_relu(self.last_dim, 3, self.dtype, "conv_last")(
            jnp.concatenate(branches, axis=-1))
        logits = torch_conv(self.num_classes, 1, use_bias=True, dtype=self.dtype,
                            name="classifier")(y)
        return logits, acts


def build_colornet(sizes: dict, dtype=jnp.float32) -> ColorNet:
    """The module for a converted checkpoint's ``sizes`` (see ``ports.segmenter``)."""
    return ColorNet(
        num_classes=int(sizes["num_classes"]),
        ppm_dim=int(sizes["ppm_dim"]),
        last_dim=int(sizes["last_dim"]),
        stem_widths=tuple(int(w) for w in sizes["stem_widths"]),
        stage_sizes=tuple(int(n) for n in sizes["stage_sizes"]),
        stage_widths=tuple(int(w) for w in sizes["stage_widths"]),
        dtype=dtype,
    )


register_arch(
    ArchSpec(
        name="colorseg",
        build=build_colornet,
        normalization=lambda sizes: None,  # per labels.json imageformat: see preprocess
        default_layer="layer4",
        converter="ports.segmenter:convert_colorseg",
        loader="ports.segmenter:load_segmodel_folder",
    )
)
