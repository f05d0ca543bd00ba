"""Meshes, shardings and device placement: the one module that knows about devices.

Dissection is data parallel: every statistic is a sum (integer counts, histograms) or a
deterministic selection (top-k with ties broken by dataset index) over the images of a batch,
so we jit the update over *global* arrays whose leading (batch) axis is split over a 1-D mesh
axis named ``"data"`` and let XLA insert the cross-device reduction. Integer reductions are
exact in any order, which is why results are bit-identical for 1, 2 or 64 devices.

Users pick devices through one option, ``devices``: ``None`` (all devices), an int ``n``
(the first ``n`` devices) or an explicit list of ``jax.Device``.

Multi-host runs: start one process per host, call ``jax.distributed.initialize(...)`` in each
before anything else touches jax, and feed every host's *local* part of a batch to
:func:`shard_batch`; it assembles the global array with
``jax.make_array_from_process_local_data``. See the README section "Multi-host runs".

Pad, then mask: a batch whose rows do not fill the global batch, or do not split over the
devices, gets zero rows appended and a ``mask`` that is False on them (:func:`pad_rows`,
:func:`place_rows`), so results do not depend on the batch size or the device count. Sums
over a batch are kept per device (:func:`shard_sums`) and added on the host as int64
(:func:`add_shards`): exact, with no cross-device reduction per step.

Loops that dispatch jitted steps over the mesh go through a :class:`StepWindow`, which keeps
the host at most :data:`STEPS_AHEAD` steps ahead of the devices (see its docstring for why:
without it, XLA:CPU deadlocks on its own collectives).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"

STEPS_AHEAD = 2

Devices = None | int | Sequence[jax.Device]


def select_devices(devices: Devices = None) -> list[jax.Device]:
    """Resolve the ``devices`` option to a list of devices (all processes' devices)."""
    available = jax.devices()
    if devices is None:
        return list(available)
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"devices={devices}: this run has {len(available)} device(s) "
                f"({available[0].platform}); pass a number from 1 to {len(available)}"
            )
        if jax.process_count() > 1 and devices != len(available):
            raise ValueError("multi-host runs must use all devices (devices=None)")
        return list(available[:devices])
    chosen = list(devices)
    if not chosen:
        raise ValueError("devices: empty device list")
    return chosen


def make_mesh(devices: Devices = None) -> Mesh:
    """A 1-D data-parallel mesh over the selected devices, axis name ``"data"``."""
    chosen = select_devices(devices)
    return Mesh(np.array(chosen), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Split the leading (batch) axis over the mesh; other axes replicated."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """Replicate over every device of the mesh (parameters, statistic states)."""
    return NamedSharding(mesh, PartitionSpec())


def num_data_shards(mesh: Mesh) -> int:
    return int(mesh.shape[DATA_AXIS])


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
    """The global batch must split evenly over the devices (pad the data, not the mesh)."""
    n = num_data_shards(mesh)
    if batch_size < 1:
        raise ValueError(f"batch size {batch_size}: must be a positive multiple of the {n} "
                         "devices in use")
    if batch_size % n:
        raise ValueError(
            f"batch size {batch_size} is not a multiple of the {n} devices in use; "
            f"choose a multiple of {n} (the last batch is padded and masked, so any data "
            "size works)"
        )


def shard_batch(mesh: Mesh, batch: Any) -> Any:
    """Place a pytree of host arrays (this process's rows) as global arrays split on axis 0.

    On one host the arrays are the whole batch. On several hosts each process passes its own
    rows (``global_batch / process_count`` of them) and gets back the global array.
    """
    sharding = batch_sharding(mesh)
    if jax.process_count() == 1:
        return jax.device_put(batch, sharding)
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), batch
    )


def local_device_count(mesh: Mesh) -> int:
    """The devices of ``mesh`` that belong to this process."""
    here = jax.process_index()
    return sum(1 for d in mesh.devices.flat if d.process_index == here)


def pad_zeros(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` with zero rows appended along axis 0 up to ``rows`` rows."""
    array = np.asarray(array)
    missing = rows - array.shape[0]
    if missing < 0:
        raise ValueError(f"{array.shape[0]} rows do not fit in {rows}")
    if not missing:
        return array
    return np.concatenate([array, np.zeros((missing, *array.shape[1:]), array.dtype)])


def pad_rows(batch: Mapping[str, np.ndarray], rows: int) -> dict[str, np.ndarray]:
    """Every array of ``batch`` (host arrays with the same number of rows) padded with zero
    rows up to ``rows``; the ``mask`` (all True when absent) is False on the new rows."""
    batch = {k: np.asarray(v) for k, v in batch.items()}
    sizes = {k: v.shape[0] for k, v in batch.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"batch arrays have different numbers of rows: {sizes}")
    batch.setdefault("mask", np.ones(next(iter(sizes.values())), bool))
    return {k: pad_zeros(v, rows) for k, v in batch.items()}


_NARROW = {np.dtype(np.int64): np.int32, np.dtype(np.uint64): np.uint32,
           np.dtype(np.float64): np.float32}


def place_rows(mesh: Mesh, batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """This process's rows of a batch (a dict of host arrays, ``mask`` optional) padded with
    masked zero rows to a multiple of its devices (:func:`pad_rows`) and split over the mesh.
    64-bit arrays become 32-bit (what the devices hold without x64)."""
    batch = {k: np.asarray(v) for k, v in batch.items()}
    batch = {k: v.astype(_NARROW.get(v.dtype, v.dtype)) for k, v in batch.items()}
    rows = max((v.shape[0] for v in batch.values()), default=0)
    devices = local_device_count(mesh)
    return shard_batch(mesh, pad_rows(batch, -(-rows // devices) * devices))


def shard_sums(x: jax.Array, shards: int, axis: int = 0) -> jax.Array:
    """Sum ``x`` over its batch ``axis`` within each device's rows only (inside jit): the
    result has a new leading axis of ``shards`` partial sums, one per device.

    Why not a plain sum: over a batch split across devices that is a cross-device all-reduce at
    every step. Partial sums stay on their device, accumulate there, and are added on the host
    at the end (:func:`add_shards`; integer counts: the order does not matter). With simulated
    CPU devices this also avoids collective time-outs when devices finish a heavy step far
    apart.
    """
    x = jnp.moveaxis(x, axis, 0)
    if x.shape[0] % shards:
        raise ValueError(f"batch of {x.shape[0]} rows does not split over {shards} devices")
    return x.reshape(shards, x.shape[0] // shards, *x.shape[1:]).sum(axis=1)


def widen(x: Any) -> np.ndarray:
    """A host copy of ``x`` as int64 (integers, booleans) or float64 (floats)."""
    x = np.asarray(x)
    return x.astype(np.float64 if np.issubdtype(x.dtype, np.floating) else np.int64)


def add_shards(partial: Any) -> Any:
    """The per-device partial sums of :func:`shard_sums` (leading axis: devices), fetched and
    added on the host as int64 (exact; float64 for floats): a pytree of the sums."""
    return jax.tree.map(lambda x: widen(x).sum(axis=0), to_host(partial))


def replicate(mesh: Mesh, tree: Any) -> Any:
    """Place a pytree on every device of the mesh."""
    return jax.device_put(tree, replicated(mesh))


def local_rows(x: jax.Array) -> np.ndarray:
    """This process's rows of a batch-sharded global array, in order, as numpy."""
    if x.is_fully_addressable:
        return np.asarray(x)
    shards = {s.index[0].start or 0: s for s in x.addressable_shards}
    return np.concatenate([np.asarray(shards[k].data) for k in sorted(shards)])


def to_host(tree: Any) -> Any:
    """Fetch a pytree of (replicated or fully addressable) arrays as numpy."""
    def fetch(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(fetch, tree)


class StepWindow:
    """Keeps the host at most ``depth`` jitted steps ahead of the devices.

    ``window.add(outputs)`` after each dispatched step; once more than ``depth`` steps are
    pending it waits for the oldest one (one of its output arrays, all of whose shards are
    written when every device has run its part of that step). Steps still overlap with the
    host work of the next ones (reading the cache, placing the batch).

    Why it is needed: on XLA:CPU a program that spans several devices (one with a ``psum``,
    or one where XLA inserts an all-reduce) is launched by one task per device on the CPU
    client's thread pool, which holds ``max(cores, devices)`` threads, exactly enough to run
    one collective program on every device at once. Each device admits 32 programs in flight;
    the task that launches a 33rd blocks its pool thread until one finishes. A loop that
    dispatches steps without ever waiting (the threshold and intersection passes read their
    input from the host cache, so nothing stops them) runs that far ahead within about 40
    batches whenever a step takes longer on the devices than on the host. Then a blocked
    launch task holds one of the threads the oldest program needs: all but one of its
    devices reach the all-reduce, the last cannot get a thread, and XLA aborts after 40 s
    ("Expected 2 threads to join the rendezvous, but only 1 of them arrived"). With at most
    ``depth + 1`` programs of a loop in flight, far below 32, no launch ever blocks.
    """

    def __init__(self, depth: int = STEPS_AHEAD):
        if depth < 0:
            raise ValueError(f"depth={depth}: must be >= 0")
        self.depth = depth
        self._pending: collections.deque = collections.deque()

    def add(self, outputs: Any) -> None:
        """Record one dispatched step by its outputs (any pytree holding a jax.Array)."""
        arrays = [x for x in jax.tree.leaves(outputs) if isinstance(x, jax.Array)]
        if arrays:  # the smallest output is enough to wait on, and cheap to keep alive
            self._pending.append(min(arrays, key=lambda x: x.size))
        while len(self._pending) > self.depth:
            self._pending.popleft().block_until_ready()

    def drain(self) -> None:
        """Wait for every recorded step."""
        while self._pending:
            self._pending.popleft().block_until_ready()
