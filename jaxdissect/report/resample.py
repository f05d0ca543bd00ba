"""Resampling of unit activation maps to thumbnail size, in numpy (the report imports no jax).

The same matrices as the dissection's upsampler (both come from the numpy-only
:mod:`jaxdissect.dissection.interpolation`), named as the presets name them:

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

from jaxdissect.dissection.interpolation import MODES, interpolation_matrix

__all__ = ["MODES", "interpolation_matrix", "upsample_maps"]

def upsample_maps(maps: np.ndarray, out_hw: tuple[int, int], mode: str = "pnas2020", *,
                  channels_last: bool = False) -> np.ndarray:
    """Resample activation maps ``(..., h, w)`` to float32 ``(..., H, W)``; ``out_hw = (H, W)``.

    ``channels_last``: maps are ``(N, h, w, U)`` (as the dissection holds them), the result
    ``(N, H, W, U)``. The host twin of :func:`jaxdissect.dissection.upsample.upsample`."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim < (4 if channels_last else 2):
        raise ValueError(f"activation maps need at least 2 dimensions (h, w), got {maps.shape}")
    axes = (1, 2) if channels_last else (-2, -1)
    rows = interpolation_matrix(maps.shape[axes[0]], out_hw[0], mode)
    cols = interpolation_matrix(maps.shape[axes[1]], out_hw[1], mode)
    spec = "Hh,nhwu,Ww->nHWu" if channels_last else "Hh,...hw,Ww->...HW"
    return np.einsum(spec, rows, maps, cols, optimize=True).astype(np.float32)
