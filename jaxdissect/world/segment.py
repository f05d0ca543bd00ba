"""Segmenting images with the world segmenter, in the world's multi-label format.

:func:`segment_fn` gives a jitted function for a dissection's batch function (device arrays in,
device arrays out); :func:`segment_images` is the host convenience, which can also add the quad
channels (computed on the host from the predicted object map, as the world does).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import Net
from jaxdissect.world.models import WORLD_NORMALIZATION, labels_from_logits
from jaxdissect.world.source import quad_labels


def segment(module, params, images_uint8: jax.Array) -> jax.Array:
    """Multi-label maps (N, 4, H/2, W/2) int32 (object, material, part, colour) of uint8
    images (N, H, W, 3)."""
    logits, _ = module.apply({"params": params}, WORLD_NORMALIZATION(images_uint8))
    return labels_from_logits(logits, jnp.asarray(images_uint8))


def segment_fn(net: Net) -> Callable[[jax.Array], jax.Array]:
    """``fn(images_uint8) -> seg`` jitted for the segmenter ``net`` (a loaded world model)."""
    run = jax.jit(lambda p, x: segment(net.module, p, x))
    return lambda images_uint8: run(net.params, images_uint8)


def segment_images(net: Net, images_uint8: np.ndarray, quads: bool = False,
                   batch_size: int = 100) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, K, H/2, W/2) int32 on the host; K = 6 with quads (channels
    object, material, part, quad_tb, quad_lr, colour), else 4."""
    fn = segment_fn(net)
    seg = np.concatenate([np.asarray(fn(images_uint8[i:i + batch_size]))
                          for i in range(0, len(images_uint8), batch_size)])
    if not quads:
        return seg
    tb, lr = quad_labels(seg[:, 0])
    return np.stack([seg[:, 0], seg[:, 1], seg[:, 2], tb, lr, seg[:, 3]], axis=1)
