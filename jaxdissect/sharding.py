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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"

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
