"""Precise ROI pooling of a whole feature map, as two fixed pooling matrices.

The UPerNet segmenter pools its last feature map with precise ROI pooling (Jiang et al. 2018)
over the ROI ``[0, 0, W, H]`` into ``s x s`` bins. Each bin's value is the integral of the
bilinear interpolant of the map over the bin, divided by the bin's area. The interpolant uses
samples at integer coordinates ``0..W-1`` and is zero beyond them (a sample outside the map reads
0), so it is a tent function per sample and the 2-D integral factorises into one matrix per axis:

    M[b, i] = (T(e_b - i) - T(s_b - i)) / (e_b - s_b),    bin b = [s_b, e_b] = [b, b + 1] * W / s

with ``T`` the antiderivative of the tent ``max(0, 1 - |u|)``. This is **not** an average:
sample 0 gets half weight (the ROI starts at its centre) and the mass of sample W-1 beyond W is
lost, e.g. W = 8, s = 1: ``0.0625, 0.125 x 7`` (total 0.9375). Adaptive average pooling is not a
substitute. Computed in float64 and stored as float32.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from jaxdissect.models.segmenter.resize import resize_separable


def tent_integral(u: np.ndarray) -> np.ndarray:
    """Integral of ``max(0, 1 - |v|)`` over ``(-inf, u]``."""
    u = np.clip(np.asarray(u, np.float64), -1.0, 1.0)
    return np.where(u <= 0, 0.5 * (u + 1) ** 2, 1.0 - 0.5 * (1 - u) ** 2)


@functools.cache
def precise_roi_matrix(size: int, bins: int) -> np.ndarray:
    """(bins, size) float32: precise ROI pooling of one axis of length ``size``, ROI [0, size]."""
    width = size / bins
    starts = np.arange(bins)[:, None] * width
    ends = starts + width
    samples = np.arange(size)[None, :]
    m = (tent_integral(ends - samples) - tent_integral(starts - samples)) / width
    m = m.astype(np.float32)
    m.setflags(write=False)  # cached: shared by every caller
    return m


def precise_roi_pool(x: jax.Array, bins: int) -> jax.Array:
    """(N, H, W, C) -> (N, bins, bins, C): whole-map precise ROI pooling, x's dtype."""
    h, w = x.shape[1:3]
    return resize_separable(x, precise_roi_matrix(h, bins), precise_roi_matrix(w, bins))
