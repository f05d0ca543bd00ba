"""8-connected components of label maps on the device, and the quad split of each component.

:func:`connected_components` gives every pixel of a non-zero label the flat index ``y * w + x`` of
its component's first pixel in raster order (its *root*), computed under ``jit`` by iterative
min-label propagation over the 3x3 neighbourhood among pixels of the same label, with pointer
jumping (``root = root[root]``) to shorten long chains, in a ``lax.while_loop`` until nothing
changes. Background (label 0) gets ``h * w``. Roots follow the raster order of first appearance,
which is also the numbering order of ``scipy.ndimage.label`` and ``skimage.measure.label``, so
"the last component of an image" is the one with the largest root.

Cost: each iteration is a few elementwise ops over the batch; the number of iterations grows
with the longest geodesic path inside a component, shortened by the pointer jumps (the
benchmark ``bench/bench_segmenter.py`` reports the measured time).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def _neighbour_min(root: jax.Array, labels: jax.Array, background: int) -> jax.Array:
    """Min of ``root`` over each pixel's 3x3 neighbours with the same label (and itself)."""
    n, h, w = labels.shape
    pad_root = jnp.pad(root, ((0, 0), (1, 1), (1, 1)), constant_values=background)
    pad_labels = jnp.pad(labels, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    best = root
    for dy, dx in _OFFSETS:
        r = jax.lax.dynamic_slice(pad_root, (0, 1 + dy, 1 + dx), (n, h, w))
        same = jax.lax.dynamic_slice(pad_labels, (0, 1 + dy, 1 + dx), (n, h, w)) == labels
        best = jnp.minimum(best, jnp.where(same, r, background))
    return best


def _jump(root: jax.Array, background: int) -> jax.Array:
    """``root[root]`` per image (background stays background)."""
    n, h, w = root.shape
    flat = root.reshape(n, h * w)
    target = jnp.take_along_axis(flat, jnp.minimum(flat, h * w - 1), axis=1)
    return jnp.where(flat == background, background, target).reshape(n, h, w)


def connected_components(labels: jax.Array, return_iterations: bool = False):
    """(N, h, w) int labels -> (N, h, w) int32 component roots; ``h * w`` on label 0.

    With ``return_iterations``, also the number of propagation rounds it took (int32 scalar).
    """
    labels = labels.astype(jnp.int32)
    n, h, w = labels.shape
    background = h * w
    start = jnp.broadcast_to(jnp.arange(h * w, dtype=jnp.int32).reshape(1, h, w), (n, h, w))
    start = jnp.where(labels != 0, start, background)

    def step(state):
        root, _, rounds = state
        new = _jump(_jump(_neighbour_min(root, labels, background), background), background)
        return new, jnp.any(new != root), rounds + 1

    init = (start, jnp.array(True), jnp.array(0, jnp.int32))
    root, _, rounds = jax.lax.while_loop(lambda s: s[1], step, init)
    return (root, rounds) if return_iterations else root


def _component_extent(root: jax.Array, coord: jax.Array, background: int):
    """Per pixel: (min, max) of ``coord`` over its component (one image, flat arrays)."""
    lo = jax.ops.segment_min(coord, root, num_segments=background + 1)
    hi = jax.ops.segment_max(coord, root, num_segments=background + 1)
    return lo[root], hi[root]


def quad_split(
    labels: jax.Array, num_objects: int, skip_last_component: bool = False
) -> tuple[jax.Array, jax.Array]:
    """The two quad-half channels of the merged label map, (N, h, w) int32 each.

    Each 8-connected component of each object label o is cut at the middle of its bounding box,
    ``vmid = (top + bottom + 1) // 2`` (rows ``< vmid`` are the top half), likewise ``hmid``
    for columns. Channel A carries ``o + K`` (top) or ``o + 3K`` (bottom), channel B ``o + 2K``
    (left) or ``o + 4K`` (right), K = ``num_objects``; background is 0.
    ``skip_last_component``: also write 0 over the last component (largest root) of each image,
    as the reference implementation does by accident.
    """
    labels = labels.astype(jnp.int32)
    n, h, w = labels.shape
    background = h * w
    root = connected_components(labels).reshape(n, h * w)
    rows = jnp.broadcast_to(jnp.repeat(jnp.arange(h, dtype=jnp.int32), w), (n, h * w))
    cols = jnp.broadcast_to(jnp.tile(jnp.arange(w, dtype=jnp.int32), h), (n, h * w))
    top, bottom = jax.vmap(_component_extent, (0, 0, None))(root, rows, background)
    left, right = jax.vmap(_component_extent, (0, 0, None))(root, cols, background)
    upper = rows < (top + bottom + 1) // 2
    lefter = cols < (left + right + 1) // 2
    o = labels.reshape(n, h * w)
    keep = o != 0
    if skip_last_component:
        last = jnp.max(jnp.where(keep, root, -1), axis=1, keepdims=True)
        keep = keep & (root != last)
    k = num_objects
    vertical = jnp.where(keep, jnp.where(upper, o + k, o + 3 * k), 0)
    horizontal = jnp.where(keep, jnp.where(lefter, o + 2 * k, o + 4 * k), 0)
    return vertical.reshape(n, h, w), horizontal.reshape(n, h, w)
