"""Small models of the synthetic world: a VGG-style scene classifier and a segmenter.

:class:`WorldVGG` is VGG scaled down for 64x64 world images: four stages of two 3x3 convs
(padding 1, ReLU) named ``conv1_1 .. conv4_2`` with a 2x2 max-pool after each stage, then
``fc6`` (ReLU) on the HWC-flattened ``pool4`` map and the classifier ``fc7``. Dissectable layers
are the post-ReLU conv maps and ``fc6`` (as an (N, 1, 1, C) map, like the zoo's VGG16).

:class:`WorldSegmenter` is a small U-Net: encoder stages ``enc1 .. enc4`` (pools between them),
two decoder stages ``dec3``, ``dec2`` (nearest upsampling, skip connections) and 1x1 heads for
objects, materials and parts at half the input resolution (32x32 for 64x64 images: the world's
default segmentation grid). :func:`labels_from_logits` turns the heads into the world's
multi-label format; the colour channel is computed from the pixels' RGB exactly as the world
names colours, not learned.

Both take NHWC float input normalised by :data:`WORLD_NORMALIZATION` (ImageNet mean/std on
RGB in [0, 1], as the zoo's classifiers) and follow the package's model protocol:
``__call__(x, layers=(), edits=None) -> (output, acts)`` with ``LAYERS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import Normalization, check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.world.layout import SCENE_CLASSES
from jaxdissect.world.vocabulary import (
    MATERIAL_NUMBER,
    OBJECT_NUMBER,
    PART_NUMBER,
    name_colours,
    part_owner_table,
)

WORLD_NORMALIZATION = Normalization(size=64)
# Head index -> concept number (index 0 = none), one table per head.
HEAD_CONCEPTS = {
    "object": np.array([0, *OBJECT_NUMBER.values()], np.int32),
    "material": np.array([0, *MATERIAL_NUMBER.values()], np.int32),
    "part": np.array([0, *PART_NUMBER.values()], np.int32),
}


def max_pool(x: jax.Array) -> jax.Array:
    """2x2 max-pool, stride 2 (differentiable, for training)."""
    return nn.max_pool(x, (2, 2), strides=(2, 2))


def _conv(features: int, name: str, dtype) -> nn.Conv:
    return nn.Conv(features, (3, 3), padding=1, dtype=dtype, param_dtype=jnp.float32, name=name)


class WorldVGG(nn.Module):
    """(N, 16s, 16s, 3) -> logits (N, num_classes); s = ``pool4_size`` (4 for 64x64)."""

    num_classes: int = len(SCENE_CLASSES)
    widths: tuple[int, ...] = (16, 32, 64, 96)
    fc_width: int = 64
    pool4_size: int = 4
    dtype: jnp.dtype = jnp.float32

    LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv4_1",
              "conv4_2", "fc6")

    @nn.compact
    def __call__(self, x: jax.Array, layers: Sequence[str] = (), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "WorldVGG")
        expected = 16 * self.pool4_size
        if x.ndim != 4 or x.shape[1:] != (expected, expected, 3):
            raise ValueError(f"WorldVGG expects (N, {expected}, {expected}, 3), got {x.shape}")
        acts: dict[str, jax.Array] = {}
        x = x.astype(self.dtype)
        for stage, width in enumerate(self.widths, start=1):
            for k in (1, 2):
                name = f"conv{stage}_{k}"
                x = tap(name, nn.relu(_conv(width, name, self.dtype)(x)), layers, edits, acts)
            x = max_pool(x)
        x = x.reshape(x.shape[0], -1)  # HWC order
        x = nn.Dense(self.fc_width, dtype=self.dtype, param_dtype=jnp.float32, name="fc6")(x)
        x = tap("fc6", nn.relu(x)[:, None, None, :], layers, edits, acts)[:, 0, 0, :]
        out = nn.Dense(self.num_classes, dtype=self.dtype, param_dtype=jnp.float32, name="fc7")(x)
        return out, acts


def upsample_x2(x: jax.Array) -> jax.Array:
    """Nearest-neighbour x2 upsampling of (N, H, W, C)."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class WorldSegmenter(nn.Module):
    """(N, H, W, 3) -> logits ``{"object", "material", "part"}`` each (N, H/2, W/2, classes)."""

    widths: tuple[int, ...] = (16, 32, 48, 64)
    dtype: jnp.dtype = jnp.float32

    LAYERS = ("enc1", "enc2", "enc3", "enc4", "dec3", "dec2")

    @nn.compact
    def __call__(self, x: jax.Array, layers: Sequence[str] = (), edits: Edits | None = None):
        check_layers(layers, self.LAYERS, "WorldSegmenter")
        if x.ndim != 4 or x.shape[1] % 8 or x.shape[2] % 8:
            raise ValueError(f"WorldSegmenter expects (N, H, W, 3) with H, W multiples of 8, "
                             f"got {x.shape}")
        acts: dict[str, jax.Array] = {}
        x = x.astype(self.dtype)
        skips = []
        for stage, width in enumerate(self.widths, start=1):
            if stage > 1:
                x = max_pool(x)
            convs = 1 if stage == 1 else 2
            for k in range(convs):
                x = nn.relu(_conv(width, f"enc{stage}_{k + 1}", self.dtype)(x))
            x = tap(f"enc{stage}", x, layers, edits, acts)
            skips.append(x)
        for stage in (3, 2):
            x = jnp.concatenate([upsample_x2(x), skips[stage - 1]], axis=-1)
            x = nn.relu(_conv(self.widths[stage - 1], f"dec{stage}", self.dtype)(x))
            x = tap(f"dec{stage}", x, layers, edits, acts)
        logits = {
            head: nn.Conv(len(table), (1, 1), dtype=self.dtype, param_dtype=jnp.float32,
                          name=f"{head}_head")(x).astype(jnp.float32)
            for head, table in HEAD_CONCEPTS.items()
        }
        return logits, acts


def labels_from_logits(logits: dict, images_uint8: jax.Array) -> jax.Array:
    """Multi-label maps (N, 4, h, w) int32, channels object, material, part, colour.

    Parts are kept only inside an object that owns them; the colour of cell (j, i) is the
    colour name of pixel (f*j + f//2, f*i + f//2) for stride f = image size / h.
    """
    concept = {k: jnp.asarray(t)[jnp.argmax(logits[k], axis=-1)] for k, t in HEAD_CONCEPTS.items()}
    owns = jnp.asarray(part_owner_table())
    part = jnp.where(owns[concept["part"], concept["object"]], concept["part"], 0)
    h = logits["object"].shape[1]
    f = images_uint8.shape[1] // h
    colour = name_colours(images_uint8[:, f // 2::f, f // 2::f], xp=jnp)
    return jnp.stack([concept["object"], concept["material"], part, colour], axis=1).astype(
        jnp.int32)


register_arch(ArchSpec(
    name="world_vgg",
    build=lambda sizes, dtype: WorldVGG(sizes["num_classes"], tuple(sizes["widths"]),
                                        sizes["fc_width"], sizes["pool4_size"], dtype),
    normalization=lambda sizes: WORLD_NORMALIZATION,
    default_layer="conv4_2",
))
register_arch(ArchSpec(
    name="world_segmenter",
    build=lambda sizes, dtype: WorldSegmenter(tuple(sizes["widths"]), dtype),
    normalization=lambda sizes: WORLD_NORMALIZATION,
    default_layer="dec2",
))  # world models are trained here (jaxdissect.world.train): no converter
