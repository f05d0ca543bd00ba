"""Segmenter inputs from images in [-1, 1] (the GANs' output range; classifier inputs are mapped
there first), NHWC RGB.

- UPerNet: ``(x + 1) / 2 * 255``, RGB -> BGR, minus the mean ``[102.9801, 115.9465, 122.7717]``
  (BGR order), no division.
- colour model: optional RGB -> BGR flip, then ``((x + 1) / 2 - mean) / std`` with the mean and
  std of its ``labels.json`` (``imageformat``).

Both are then resized to the segmenter's working size (256) by torch's adaptive average pooling
when the image is another size (:func:`~.resize.adaptive_avg_pool`; for a 224 input this is an
*upsampling* in which each output pixel copies, or averages two of, the input pixels it
overlaps). Everything is float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdissect.models.segmenter.resize import adaptive_avg_pool
from jaxdissect.models.segmenter.vocabulary import ColorLabels

UPERNET_MEAN_BGR = (102.9801, 115.9465, 122.7717)
WORKING_SIZE = 256


def _check(images: jax.Array) -> jax.Array:
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images (N, H, W, 3) in [-1, 1], got shape {images.shape}")
    return images.astype(jnp.float32)


def _to_size(x: jax.Array, size: int) -> jax.Array:
    return x if x.shape[1:3] == (size, size) else adaptive_avg_pool(x, (size, size))


def upernet_input(images: jax.Array, size: int = WORKING_SIZE) -> jax.Array:
    """(N, H, W, 3) RGB in [-1, 1] -> (N, size, size, 3) float32 BGR, mean-subtracted 0..255."""
    x = (_check(images) + 1.0) / 2.0 * 255.0
    x = x[..., ::-1] - jnp.asarray(UPERNET_MEAN_BGR, jnp.float32)
    return _to_size(x, size)


def color_input(images: jax.Array, colors: ColorLabels, size: int = WORKING_SIZE) -> jax.Array:
    """(N, H, W, 3) RGB in [-1, 1] -> (N, size, size, 3) normalised per the colour labels."""
    x = _check(images)
    if colors.bgr:
        x = x[..., ::-1]
    x = ((x + 1.0) / 2.0 - jnp.asarray(colors.mean, jnp.float32)) / jnp.asarray(
        colors.std, jnp.float32)
    return _to_size(x, size)
