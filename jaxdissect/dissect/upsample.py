"""Resample unit maps (N, h, w, U) onto the concept grid (N, H, W, U).

Resampling is separable and linear, so it is two small matrices built once in numpy (float32,
``(H, h)`` and ``(W, w)``) applied as two batched matmuls (``lax.dot_general``) laid out so that
no transpose is needed: the row matrix, broadcast over the batch, multiplies ``(n, h, w * U)``,
then the column matrix, broadcast over the ``n * H`` output rows, multiplies ``(n * H, w, U)``.
Every reshape in between is free and the result comes out in (N, H, W, U) order. Written as
``einsum("Hh,nhwu->nHwu")`` the same products make XLA insert transposes, the last of which it
fuses into the consumer (the statistics' index computations) as a strided read; this layout
is faster on XLA:CPU, alone and in the statistics that consume it.

Rounding: the dot shapes differ from the einsums', and XLA:CPU picks its matmul kernel by shape;
some kernels fuse the multiply-add of the two taps, some round each product first. At 512 units
14x14 -> 56x56 the result is bit-identical to the einsums; at other shapes (e.g. 96 units, or
28 -> 112) up to ~20% of the values differ by a few ulps. An image's values do not depend on
the batch it comes in (the einsums' did, for small maps).

Modes
-----
``"pnas2020"``
    The published dissection's upsampler: centre-aligned bilinear *sampling* with zero padding
    outside the span of the source pixel centres. With ``scale = out / in`` and
    ``offset = 0.5 * scale - 0.5``, output pixel ``t`` samples source coordinate
    ``s = (t - offset) / scale``; the two neighbours ``floor(s)`` and ``floor(s) + 1`` get
    weights ``1 - frac`` and ``frac``, and a neighbour outside ``[0, in - 1]`` contributes 0
    (the weight is lost, not renormalised). For 14 -> 56 the outer ring keeps 62.5% of the edge
    value, the next ring 87.5%. When downsampling it is the same point sampling, without any
    anti-aliasing (as in the reference).
``"bilinear"``
    Plain bilinear resizing with half-pixel centres, what ``jax.image.resize(..., "bilinear")``
    and PIL's ``BILINEAR`` do. Upsampling is edge-clamped. Downsampling is **anti-aliased**: a
    triangle kernel widened by ``in / out`` and renormalised at the borders, i.e. the same as
    ``jax.image.resize(..., "bilinear", antialias=True)`` (the default) and PIL.

Precision: the matmuls run at ``Precision.HIGHEST`` so accelerators do not round the inputs to
bfloat16. Values are upcast to float32 first.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
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


def upsample(maps: jax.Array, out_size: tuple[int, int], mode: str = "pnas2020") -> jax.Array:
    """Resample ``maps`` (N, h, w, U), any float dtype, to float32 (N, H, W, U).

    ``out_size`` = (H, W). Works for any sizes, up or down (see the module docstring for what
    each mode does). Jittable; the matrices are constants of the trace.
    """
    if maps.ndim != 4:
        raise ValueError(f"upsample expects (N, h, w, U) maps; got shape {maps.shape}")
    n, h, w, units = maps.shape
    out_h, out_w = out_size
    rows = interpolation_matrix(h, out_h, mode)
    cols = interpolation_matrix(w, out_w, mode)
    x = maps.astype(jnp.float32).reshape(n, h, w * units)
    x = _batched_matmul(rows, x)  # (n, H, w * U)
    x = _batched_matmul(cols, x.reshape(n * out_h, w, units))  # (n * H, W, U)
    return x.reshape(n, out_h, out_w, units)


def _batched_matmul(matrix: np.ndarray, x: jax.Array) -> jax.Array:
    """``matrix`` (P, q) times each ``x[b]`` (q, r): (B, P, r), with no transpose of ``x``.

    The matrix is broadcast over the batch so that the dot has batch dimensions on both sides
    and its output keeps x's order (batch, P, r).
    """
    batched = jax.lax.broadcast(jnp.asarray(matrix), (x.shape[0],))  # (B, P, q)
    return jax.lax.dot_general(batched, x, (((2,), (1,)), ((0,), (0,))),
                               precision=jax.lax.Precision.HIGHEST)


def upsample_numpy(maps: np.ndarray, out_size: tuple[int, int], mode: str = "pnas2020"):
    """Host version of :func:`upsample` (float32 (N, H, W, U)), for reports and thumbnails."""
    maps = np.asarray(maps, np.float32)
    rows = interpolation_matrix(maps.shape[1], out_size[0], mode)
    cols = interpolation_matrix(maps.shape[2], out_size[1], mode)
    return np.einsum("Ww,nHwu->nHWu", cols, np.einsum("Hh,nhwu->nHwu", rows, maps))
