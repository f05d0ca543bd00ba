"""Resizes as fixed separable matrices, matching PyTorch exactly.

- :func:`bilinear_matrix`: ``F.interpolate(..., mode="bilinear", align_corners=False)`` to a
  given size. Output pixel ``t`` samples source coordinate ``max((t + 0.5) * in / out - 0.5, 0)``
  and blends its two neighbours (the upper one clamped to the last pixel), so rows sum to 1 and
  an equal-size resize is the identity. (``jax.image.resize`` differs: it anti-aliases when
  shrinking.)
- :func:`adaptive_avg_matrix`: ``F.adaptive_avg_pool2d``. Output ``i`` averages the input pixels
  ``floor(i * in / out) .. ceil((i + 1) * in / out) - 1``. When shrinking, bins are the usual
  (possibly overlapping) windows; when *enlarging* (e.g. 224 -> 256) every bin covers one or
  two input pixels, so it is a box upsampling: an output pixel copies the input pixel it falls
  in, or averages the two it straddles. It is not bilinear interpolation.

Matrices are built in numpy (float32 source coordinates, as torch computes them) and applied to
NHWC maps with two einsums in float32 (:func:`resize_separable`); results come back in the
input's dtype.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


@functools.cache
def bilinear_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32 weights of torch's bilinear resize, align_corners=False."""
    scale = np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size, dtype=np.float32)
    src = np.maximum(scale * (dst + np.float32(0.5)) - np.float32(0.5), np.float32(0.0))
    low = np.minimum(src.astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    frac = (src - low.astype(np.float32)).astype(np.float32)
    m = np.zeros((out_size, in_size), np.float32)
    rows = np.arange(out_size)
    np.add.at(m, (rows, low), np.float32(1.0) - frac)
    np.add.at(m, (rows, high), frac)
    m.setflags(write=False)  # cached: shared by every caller
    return m


@functools.cache
def adaptive_avg_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32 weights of torch's adaptive average pooling along one axis."""
    m = np.zeros((out_size, in_size), np.float32)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = ((i + 1) * in_size + out_size - 1) // out_size
        m[i, start:end] = 1.0 / (end - start)
    m.setflags(write=False)  # cached: shared by every caller
    return m


def resize_separable(x: jax.Array, rows: np.ndarray, cols: np.ndarray) -> jax.Array:
    """Apply ``rows`` (H', H) and ``cols`` (W', W) to (N, H, W, C): (N, H', W', C), x's dtype."""
    if rows.shape[1] != x.shape[1] or cols.shape[1] != x.shape[2]:
        raise ValueError(
            f"resize matrices {rows.shape} x {cols.shape} do not fit a map of shape {x.shape}"
        )
    hi = jax.lax.Precision.HIGHEST
    y = x.astype(jnp.float32)
    if rows.shape[0] != rows.shape[1] or not np.array_equal(rows, np.eye(rows.shape[0])):
        y = jnp.einsum("oh,nhwc->nowc", jnp.asarray(rows), y, precision=hi)
    if cols.shape[0] != cols.shape[1] or not np.array_equal(cols, np.eye(cols.shape[0])):
        y = jnp.einsum("pw,nhwc->nhpc", jnp.asarray(cols), y, precision=hi)
    return y.astype(x.dtype)


def resize_bilinear(x: jax.Array, size: tuple[int, int]) -> jax.Array:
    """(N, H, W, C) -> (N, size[0], size[1], C) as torch's bilinear, align_corners=False."""
    h, w = x.shape[1:3]
    return resize_separable(x, bilinear_matrix(h, size[0]), bilinear_matrix(w, size[1]))


def adaptive_avg_pool(x: jax.Array, size: tuple[int, int]) -> jax.Array:
    """(N, H, W, C) -> (N, size[0], size[1], C) as torch's ``adaptive_avg_pool2d``."""
    h, w = x.shape[1:3]
    return resize_separable(x, adaptive_avg_matrix(h, size[0]), adaptive_avg_matrix(w, size[1]))
