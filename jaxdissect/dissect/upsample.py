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

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.dissect.interpolation import MODES, interpolation_matrix

__all__ = ["MODES", "interpolation_matrix", "upsample", "upsample_numpy"]

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
