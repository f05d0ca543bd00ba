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

Loops that dispatch jitted steps over the mesh go through a :class:`StepWindow`, which keeps
the host at most :data:`STEPS_AHEAD` steps ahead of the devices (see its docstring for why:
without it, XLA:CPU deadlocks on its own collectives).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

import jax
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
