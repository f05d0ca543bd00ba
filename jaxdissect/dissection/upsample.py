"""Resample unit maps (N, h, w, U) onto the concept grid (N, H, W, U).

Resampling is separable and linear, so it is two small matrices built once in numpy (float32,
``(H, h)`` and ``(W, w)``) applied as two batched matmuls (``lax.dot_general``) laid out so that
no transpose is needed: the row matrix, broadcast over the batch, multiplies ``(n, h, w * U)``,
then the column matrix, broadcast over the ``n * H`` output rows, multiplies ``(n * H, w, U)``.
Every reshape in between is free and the result comes out in (N, H, W, U) order. Written as
``einsum("Hh,nhwu->nHwu")`` the same products make XLA insert transposes, the last of which it
fuses into the consumer (the statistics' index computations) as a strided read; this layout
is faster on XLA:CPU, alone and in the statistics that consume it.

Output rows are computed in blocks (:func:`block_rows`: the most rows that divide H with at most
``BLOCK_VALUES`` values per image). The dissection engine upsamples one block at a time inside
a loop with :func:`upsample_rows`; :func:`upsample` is the same blocks side by side, so the two
give the same bits and every pass of a dissection sees the same values.

Rounding: XLA:CPU picks its matmul kernel by shape; some kernels fuse the multiply-add of the
two taps, some round each product first, so results differ from the einsum formulation (or
from numpy) by a few ulps at some shapes. An image's values do not depend on the batch it comes
in (the einsums' did, for small maps).

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

from jaxdissect.dissection.interpolation import MODES, interpolation_matrix

# Upsampled values of one image per block of output rows. The dissection engine counts one
# block at a time, so that 2**19 float32 values and their int32 histogram indices stay in the
# CPU's caches (512 units at 56x56: blocks of 14 rows, measured on XLA:CPU ~30% faster than
# whole images); :func:`upsample` computes the same blocks, so both give the same bits.
BLOCK_VALUES = 1 << 19

__all__ = ["MODES", "interpolation_matrix", "upsample", "upsample_rows", "block_rows",
           "BLOCK_VALUES"]


def upsample(maps: jax.Array, out_size: tuple[int, int], mode: str = "pnas2020") -> jax.Array:
    """Resample ``maps`` (N, h, w, U), any float dtype, to float32 (N, H, W, U).

    ``out_size`` = (H, W). Works for any sizes, up or down (see the module docstring for what
    each mode does). Jittable; the matrices are constants of the trace.
    """
    if maps.ndim != 4:
        raise ValueError(f"upsample expects (N, h, w, U) maps; got shape {maps.shape}")
    rows = block_rows(out_size, maps.shape[-1])
    blocks = [upsample_rows(maps, out_size, start, rows, mode)
              for start in range(0, out_size[0], rows)]
    return blocks[0] if len(blocks) == 1 else jnp.concatenate(blocks, axis=1)


def block_rows(out_size: tuple[int, int], units: int) -> int:
    """Rows of one block: the most output rows that divide the height with at most
    ``BLOCK_VALUES`` values per image (at least 1)."""
    height, width = out_size
    fits = [r for r in range(1, height + 1)
            if height % r == 0 and r * width * units <= BLOCK_VALUES]
    return max(fits, default=1)


def upsample_rows(maps: jax.Array, out_size: tuple[int, int], first_row: jax.Array,
                  num_rows: int, mode: str = "pnas2020") -> jax.Array:
    """Output rows ``first_row .. first_row + num_rows - 1`` of :func:`upsample`: (N, num_rows,
    W, U) float32. ``first_row`` may be traced (a loop over row blocks keeps the resampled
    values of one block in cache); ``num_rows`` is static and the block must lie inside the
    output. With ``num_rows = block_rows(out_size, U)`` the values are bitwise those of
    :func:`upsample` (which is made of these blocks)."""
    if maps.ndim != 4:
        raise ValueError(f"upsample_rows expects (N, h, w, U) maps; got shape {maps.shape}")
    n, h, w, units = maps.shape
    out_h, out_w = out_size
    if not 1 <= num_rows <= out_h:
        raise ValueError(f"upsample_rows: num_rows={num_rows} outside 1..{out_h}")
    rows = jax.lax.dynamic_slice_in_dim(
        jnp.asarray(interpolation_matrix(h, out_h, mode)), first_row, num_rows)
    cols = interpolation_matrix(w, out_w, mode)
    x = maps.astype(jnp.float32).reshape(n, h, w * units)
    x = _batched_matmul(rows, x)  # (n, num_rows, w * U)
    x = _batched_matmul(cols, x.reshape(n * num_rows, w, units))  # (n * num_rows, W, U)
    return x.reshape(n, num_rows, out_w, units)


def _batched_matmul(matrix: np.ndarray | jax.Array, x: jax.Array) -> jax.Array:
    """``matrix`` (P, q) times each ``x[b]`` (q, r): (B, P, r), with no transpose of ``x``.

    The matrix is broadcast over the batch so that the dot has batch dimensions on both sides
    and its output keeps x's order (batch, P, r).
    """
    batched = jax.lax.broadcast(jnp.asarray(matrix), (x.shape[0],))  # (B, P, q)
    return jax.lax.dot_general(batched, x, (((2,), (1,)), ((0,), (0,))),
                               precision=jax.lax.Precision.HIGHEST)
