"""The interpolation matrices of unit-map resampling, in numpy (no jax: reports use them too).

One float32 ``(out, in)`` matrix per axis and mode; :mod:`jaxdissect.dissection.upsample` applies
them under jax, :mod:`jaxdissect.report.resample` in numpy. See ``upsample``'s docstring for
what the modes ``"pnas2020"`` and ``"bilinear"`` compute.
"""

from __future__ import annotations

import functools

import numpy as np

MODES = ("pnas2020", "bilinear")


def _check(in_size: int, out_size: int, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown upsample mode {mode!r}; choose one of {', '.join(MODES)}")
    if in_size < 1 or out_size < 1:
        raise ValueError(f"cannot resample size {in_size} to {out_size}: sizes must be >= 1")


def _centre_aligned_zero_padded(in_size: int, out_size: int) -> np.ndarray:
    scale = out_size / in_size
    offset = 0.5 * scale - 0.5
    source = (np.arange(out_size, dtype=np.float64) - offset) / scale
    left = np.floor(source).astype(np.int64)
    frac = source - left
    matrix = np.zeros((out_size, in_size), np.float64)
    for tap, weight in ((left, 1.0 - frac), (left + 1, frac)):
        inside = (tap >= 0) & (tap < in_size)
        np.add.at(matrix, (np.nonzero(inside)[0], tap[inside]), weight[inside])
    return matrix


def _triangle_antialiased(in_size: int, out_size: int) -> np.ndarray:
    ratio = in_size / out_size
    width = max(ratio, 1.0)  # widen the kernel only when downsampling
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * ratio  # in source pixel units
    source_centres = np.arange(in_size, dtype=np.float64) + 0.5
    distance = np.abs(source_centres[None, :] - centre[:, None]) / width
    matrix = np.maximum(0.0, 1.0 - distance)
    return matrix / matrix.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=64)
def _matrix(in_size: int, out_size: int, mode: str) -> np.ndarray:
    _check(in_size, out_size, mode)
    if mode == "pnas2020":
        matrix = _centre_aligned_zero_padded(in_size, out_size)
    else:
        matrix = _triangle_antialiased(in_size, out_size)
    matrix = matrix.astype(np.float32)
    matrix.flags.writeable = False
    return matrix


def interpolation_matrix(in_size: int, out_size: int, mode: str = "pnas2020") -> np.ndarray:
    """float32 ``(out_size, in_size)``: row t holds the weights output pixel t gives each
    source pixel along one axis."""
    return _matrix(int(in_size), int(out_size), mode)
