"""Pass 0's outputs kept on the devices for the later passes, while they fit.

The model and the segmenter run once per image; the later passes replay their outputs (the raw
activations and the segmentations). Copying them to the host after pass 0 and back in every later
pass costs a device-to-host copy and one host-to-device copy per pass (400 KiB per image for
VGG16 conv5_3 in float32); on a GPU these copies, not the statistics, bound the passes. A
:class:`ResidentCache` keeps the device arrays of each batch as they are (batch-sharded global
arrays, so each device keeps its own rows) while the whole cache fits the bound, and moves
everything to its host :class:`~jaxdissect.dissection.cache.ActivationCache` (memory, then disk)
the moment it would not. The bound (:func:`device_bound`): half the device memory free when
pass 0 starts, on GPUs and TPUs; on CPU devices, whose memory is the host's, the host cache's
memory bound.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import numpy as np

from jaxdissect import sharding
from jaxdissect.dissection.cache import ActivationCache

DEVICE_FRACTION = 0.5  # of the device memory free when pass 0 starts


def device_bound(mesh: jax.sharding.Mesh, host_bound: int) -> int:
    """Bytes per device the resident cache may hold."""
    device = mesh.devices.flat[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if not stats or "bytes_limit" not in stats:
        return int(host_bound) // sharding.num_data_shards(mesh)
    return int(DEVICE_FRACTION * (stats["bytes_limit"] - stats.get("bytes_in_use", 0)))


def _per_device_bytes(batch: dict, devices: int) -> int:
    return sum(x.nbytes // devices if isinstance(x, jax.Array) else 0
               for x in jax.tree.leaves(batch))


class ResidentCache:
    """Batches of device arrays (and small host arrays) while they fit ``bound`` bytes per
    device, else the ``host`` cache. Iterating gives the batches in insertion order."""

    def __init__(self, host: ActivationCache, bound: int, devices: int):
        self.host, self.bound, self.devices = host, int(bound), int(devices)
        self._batches: list[dict] = []
        self._bytes = 0
        self.spilled = False

    def __len__(self) -> int:
        return len(self._batches) + len(self.host)

    def append(self, batch: dict) -> None:
        """Keep a batch whose ``acts`` and ``seg`` are device arrays (``mask``: host)."""
        size = _per_device_bytes(batch, self.devices)
        if not self.spilled and self._bytes + size <= self.bound:
            self._batches.append(batch)
            self._bytes += size
            return
        self._spill()
        self.host.append(_fetched(batch))

    def check_fits(self, num_batches: int) -> None:
        """Move to the host now when ``num_batches`` batches would not fit on the devices (and
        let the host cache fail early when they do not fit there either)."""
        if self._batches and not self.spilled:
            size = _per_device_bytes(self._batches[0], self.devices)
            if num_batches * size > self.bound:
                self._spill()
        if self.spilled:
            self.host.check_fits(num_batches)

    def _spill(self) -> None:
        if not self.spilled:
            for batch in self._batches:
                self.host.append(_fetched(batch))
            self._batches, self._bytes, self.spilled = [], 0, True

    def __iter__(self) -> Iterator[dict]:
        return iter(self.host) if self.spilled else iter(self._batches)

    def close(self) -> None:
        self._batches, self._bytes = [], 0
        self.host.close()


def _fetched(batch: dict) -> dict:
    """This process's rows of a batch's device arrays, as numpy."""
    return jax.tree.map(
        lambda x: sharding.local_rows(x) if isinstance(x, jax.Array) else np.asarray(x), batch)
