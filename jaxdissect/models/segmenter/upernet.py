"""The Unified Perceptual Parsing segmenter (UPerNet on a deep-stem ResNet-50) in Flax.

``logits, acts = UPerNet(...).apply({"params": p}, x, layers=(), edits=None)`` takes the
preprocessed image (N, H, W, 3): BGR, 0..255 minus the mean ``[102.9801, 115.9465, 122.7717]``
(see :mod:`jaxdissect.models.segmenter.preprocess`), and returns logits at 1/4 of the input
resolution, NHWC: ``object`` (K_obj = 336 = none + 335), ``part`` (427: 77 groups, one per owning
object, each starting with "none") and ``material`` (26 = none + 25). The scene head of the
published decoder is not built (dissection never uses it; the converter lists it as ignored).

Decoder (fpn_dim 512 in the published file):

- pyramid pooling of layer4 at scales 1, 2, 3, 6 by *precise ROI pooling* of the whole map
  (:mod:`.roi_pool`), bilinear upsampling back to the layer4 size, then CBR 1x1 (``ppm_conv_i``);
  concatenated with layer4 -> CBR 3x3 ``ppm_last_conv`` = P5. (Conv and BatchNorm are computed
  on the small pooled map and resized before the ReLU: the same numbers, since the resize is
  linear with rows summing to 1, at a fraction of the cost.)
- FPN: for i = 2, 1, 0: ``f = fpn_in_i(layer_{i+1}) + resize(f)``, the un-smoothed sum carried
  down; ``P_{i+2} = fpn_out_i(f)`` (CBR 3x3).
- fusion: concat [P2, resize(P3), resize(P4), resize(P5)] at P2's size -> CBR 3x3 ``conv_fusion``;
  ``object_head`` and ``part_head`` read the fusion map, ``material_head`` reads P2.

Every resize is torch's bilinear with align_corners=False (:mod:`.resize`). Dissectable layers
(``LAYERS``): the encoder stages ``layer1..4`` and the decoder's ``fusion`` map.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.base import check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.models.segmenter.blocks import ConvBN, Head, conv_bn_relu
from jaxdissect.models.segmenter.encoder import STAGE_NAMES, DeepStemResNet
from jaxdissect.models.segmenter.resize import resize_bilinear
from jaxdissect.models.segmenter.roi_pool import precise_roi_pool

POOL_SCALES = (1, 2, 3, 6)


class UPerNet(nn.Module):
    """UPerNet-ResNet50 segmenter; sizes are read from a checkpoint (see ``ports/segmenter``)."""

    num_objects: int = 336
    num_parts: int = 427
    num_materials: int = 26
    fpn_dim: int = 512
    ppm_dim: int = 512
    stem_widths: tuple[int, int, int] = (64, 64, 128)
    stage_sizes: tuple[int, ...] = (3, 4, 6, 3)
    stage_widths: tuple[int, ...] = (64, 128, 256, 512)
    dtype: jnp.dtype = jnp.float32

    LAYERS = (*STAGE_NAMES, "fusion")

    def _pyramid_pooling(self, c5: jax.Array) -> jax.Array:
        """P5 from layer4: precise ROI pooling branches, concat, CBR 3x3."""
        size = c5.shape[1:3]
        branches = [c5]
        for i, scale in enumerate(POOL_SCALES):
            pre = ConvBN(self.ppm_dim, 1, self.dtype, name=f"ppm_conv_{i}")(
                precise_roi_pool(c5, scale))
            branches.append(nn.relu(resize_bilinear(pre, size)))
        cat = jnp.concatenate(branches, axis=-1)
        return conv_bn_relu(self.fpn_dim, 3, self.dtype, "ppm_last_conv")(cat)

    def _fpn(self, feats: list[jax.Array], f: jax.Array) -> list[jax.Array]:
        """[P2, P3, P4, P5]: the top-down pathway from P5 = ``f``."""
        pyramid = [f]
        for i in (2, 1, 0):
            lateral = conv_bn_relu(self.fpn_dim, 1, self.dtype, f"fpn_in_{i}")(feats[i])
            f = lateral + resize_bilinear(f, lateral.shape[1:3])
            pyramid.append(conv_bn_relu(self.fpn_dim, 3, self.dtype, f"fpn_out_{i}")(f))
        return pyramid[::-1]

    @nn.compact
    def __call__(self, x: jax.Array, layers=(), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "UPerNet")
        if edits is not None:
            check_layers(tuple(edits), self.LAYERS, "UPerNet")
        acts: dict[str, jax.Array] = {}
        record = lambda name, y: tap(name, y, layers, edits, acts)
        encoder = DeepStemResNet(self.stem_widths, self.stage_sizes, self.stage_widths,
                                 bottleneck=True, dtype=self.dtype, name="encoder")
        feats = encoder(x, record)
        pyramid = self._fpn(feats, self._pyramid_pooling(feats[3]))
        size = pyramid[0].shape[1:3]
        fusion_in = [pyramid[0]] + [resize_bilinear(p, size) for p in pyramid[1:]]
        fused = conv_bn_relu(self.fpn_dim, 3, self.dtype, "conv_fusion")(
            jnp.concatenate(fusion_in, axis=-1))
        fused = record("fusion", fused)
        logits = {
            "object": Head(self.fpn_dim, self.num_objects, self.dtype, name="object_head")(fused),
            "part": Head(self.fpn_dim, self.num_parts, self.dtype, name="part_head")(fused),
            "material": Head(self.fpn_dim, self.num_materials, self.dtype,
                             name="material_head")(pyramid[0]),
        }
        return logits, acts


def build_upernet(sizes: dict, dtype=jnp.float32) -> UPerNet:
    """The module for a converted checkpoint's ``sizes`` (see ``ports.segmenter``)."""
    return UPerNet(
        num_objects=int(sizes["num_objects"]),
        num_parts=int(sizes["num_parts"]),
        num_materials=int(sizes["num_materials"]),
        fpn_dim=int(sizes["fpn_dim"]),
        ppm_dim=int(sizes["ppm_dim"]),
        stem_widths=tuple(int(w) for w in sizes["stem_widths"]),
        stage_sizes=tuple(int(n) for n in sizes["stage_sizes"]),
        stage_widths=tuple(int(w) for w in sizes["stage_widths"]),
        dtype=dtype,
    )


register_arch(
    ArchSpec(
        name="upernet50",
        build=build_upernet,
        normalization=lambda sizes: None,  # BGR mean subtraction: see segmenter.preprocess
        default_layer="layer4",
        converter="ports.segmenter:convert_upernet50",
        loader="ports.segmenter:load_segmodel_folder",
    )
)
