"""Resampling of unit activation maps to thumbnail size, in numpy (the report imports no jax).

The same two definitions as the dissection's upsampler (``jaxdissect.dissect.upsample``, which
runs under jax; a test checks that both give the same matrices), named as the presets name them:

* ``"pnas2020"`` (presets ``pnas2020`` and ``netdissect2017``): centre-aligned bilinear sampling
  with zero padding outside the span of source pixel centres. With ``scale = out / in`` and
  ``offset = 0.5 * scale - 0.5``, output pixel ``t`` samples source coordinate
  ``(t - offset) / scale``; a neighbour outside ``[0, in - 1]`` contributes 0 (its weight is lost).
  For 14 -> 56 the outermost ring keeps 62.5% of the edge value and the next ring 87.5%.
* ``"bilinear"`` (preset ``netdissect_lite``): plain bilinear resizing with half-pixel centres,
  edge-clamped when upsampling, anti-aliased (triangle kernel widened by ``in / out``, renormalised
  at the borders) when downsampling, as PIL's ``BILINEAR``.

Each is a pair of small float32 matrices, one per axis, applied as ``R_h @ map @ R_w.T``.
"""

from __future__ import annotations

import numpy as np

MODES = ("pnas2020", "bilinear")


def interpolation_matrix(in_size: int, out_size: int, mode: str = "pnas2020") -> np.ndarray:
    """The float32 ``(out_size, in_size)`` matrix that resamples one axis.

    Row ``t`` holds the weights output pixel ``t`` gives each source pixel.
    """
    if mode not in MODES:
        raise ValueError(f"unknown upsampling mode {mode!r}; choose one of {', '.join(MODES)}")
    if in_size < 1 or out_size < 1:
        raise ValueError(f"cannot resample size {in_size} to {out_size}: sizes must be >= 1")
    if mode == "pnas2020":
        return _zero_padded_sampling(in_size, out_size).astype(np.float32)
    return _triangle_resize(in_size, out_size).astype(np.float32)


def _zero_padded_sampling(in_size: int, out_size: int) -> np.ndarray:
    scale = out_size / in_size
    offset = 0.5 * scale - 0.5
    source = (np.arange(out_size, dtype=np.float64) - offset) / scale
    low = np.floor(source).astype(np.int64)
    frac = source - low
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    rows = np.arange(out_size)
    for index, weight in ((low, 1.0 - frac), (low + 1, frac)):
        inside = (index >= 0) & (index < in_size)
        matrix[rows[inside], index[inside]] += weight[inside]
    return matrix


def _triangle_resize(in_size: int, out_size: int) -> np.ndarray:
    ratio = in_size / out_size
    support = max(ratio, 1.0)  # widen the kernel only when downsampling (anti-aliasing)
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) * ratio
    source = np.arange(in_size, dtype=np.float64) + 0.5
    matrix = np.maximum(0.0, 1.0 - np.abs(source[None, :] - centres[:, None]) / support)
    return matrix / matrix.sum(axis=1, keepdims=True)


def upsample_maps(maps: np.ndarray, out_hw: tuple[int, int], mode: str = "pnas2020") -> np.ndarray:
    """Resample activation maps ``(..., h, w)`` to float32 ``(..., H, W)``; ``out_hw = (H, W)``."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim < 2:
        raise ValueError(f"activation maps need at least 2 dimensions (h, w), got {maps.shape}")
    rows = interpolation_matrix(maps.shape[-2], out_hw[0], mode)
    cols = interpolation_matrix(maps.shape[-1], out_hw[1], mode)
    return np.einsum("Hh,...hw,Ww->...HW", rows, maps, cols, optimize=True).astype(np.float32)
