"""Test helper: stream arrays through a statistic's jitted update with the batch sharded."""

from __future__ import annotations

import jax
import numpy as np

from jaxdissect.sharding import batch_sharding, make_mesh, replicate, replicated, shard_batch

_STEPS: dict = {}


def sharded_step(update, devices: int):
    """``jit(update)`` with the state replicated and batch arrays split over ``devices``.

    Compiled steps are shared by equal statistic configurations (bound methods compare their
    ``self`` by identity, so key on its value).
    """
    key = (update.__func__, update.__self__, devices)
    if key not in _STEPS:
        mesh = make_mesh(devices)
        _STEPS[key] = (
            mesh,
            jax.jit(
                lambda state, batch: update(state, *batch),
                in_shardings=(replicated(mesh), batch_sharding(mesh)),
                out_shardings=replicated(mesh),
            ),
        )
    mesh, step = _STEPS[key]
    return mesh, lambda state, *arrays: step(state, arrays)


def stream(update, state, arrays, batch_size: int, devices: int = 1, order=None):
    """Feed ``arrays`` (host arrays sharing the leading axis N) in batches; the last batch is
    zero-padded and masked. ``update(state, *batch_arrays, mask)``. ``order``: image order."""
    if batch_size % devices:
        raise ValueError("batch size must be a multiple of the device count")
    mesh, step = sharded_step(update, devices)
    state = replicate(mesh, state)  # one input sharding: one compiled step
    n = len(arrays[0])
    order = np.arange(n) if order is None else np.asarray(order)
    for start in range(0, n, batch_size):
        rows = order[start : start + batch_size]
        pad = batch_size - len(rows)
        batch = [_pad(a[rows], pad) for a in arrays]
        mask = np.arange(batch_size) < len(rows)
        state = step(state, *shard_batch(mesh, [*batch, mask]))
    return state


def _pad(a, pad):
    if pad == 0:
        return a
    return np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)])


def host_leaves(state) -> list[np.ndarray]:
    """The state's leaves as numpy, for bit-for-bit comparisons."""
    return [np.asarray(leaf) for leaf in jax.tree.leaves(jax.device_get(state))]


def assert_same_state(a, b):
    leaves_a, leaves_b = host_leaves(a), host_leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()
