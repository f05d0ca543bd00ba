"""Many unit edits per compiled call, data parallel: what every intervention experiment shares.

An experiment evaluates a list of edits of one layer (``S`` of them: each unit ablated, the top
``k`` concept units zeroed, an insertion at each location) over batches of data. An
:class:`EditRunner` holds the model with its parameters replicated over a data-parallel mesh; per
batch it evaluates the edits in chunks of ``E`` (:func:`edit_chunks`: the last chunk is padded
with no-op edits so every call has the same shape and compiles once) with ``Net.apply_edits``,
which vmaps the model over the edit axis. The layers before the edited one do not depend on the
edit, so vmap computes them once per chunk, not once per edit.

Memory: a chunk holds ``E x B`` copies of every activation after the edited layer (``B`` the
global batch); choose ``E`` so that this fits (``chunk_size`` options of the experiments).

Batches are dicts of host arrays with a ``mask`` (B,) bool (rows that are padding); a batch
whose size does not split over the devices is padded with masked rows here, so any batch size
works on any number of devices.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from jaxdissect import sharding
from jaxdissect.models.base import Net
from jaxdissect.models.edits import UnitEdit


def _local_device_count(mesh: Mesh) -> int:
    here = jax.process_index()
    return sum(1 for d in mesh.devices.flat if d.process_index == here)


_NARROW = {np.dtype(np.int64): np.int32, np.dtype(np.uint64): np.uint32,
           np.dtype(np.float64): np.float32}


def pad_rows(batch: Mapping[str, np.ndarray], multiple: int) -> dict[str, np.ndarray]:
    """Pad every array of ``batch`` with zero rows to a multiple of ``multiple``; the ``mask``
    (all True when absent) is False on the new rows. 64-bit arrays become 32-bit (what the
    devices hold without x64)."""
    batch = {k: np.asarray(v) for k, v in batch.items()}
    batch = {k: v.astype(_NARROW.get(v.dtype, v.dtype)) for k, v in batch.items()}
    sizes = {k: v.shape[0] for k, v in batch.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"batch arrays have different numbers of rows: {sizes}")
    rows = next(iter(sizes.values()))
    batch.setdefault("mask", np.ones(rows, bool))
    missing = -rows % multiple
    if missing:
        batch = {k: np.concatenate([v, np.zeros((missing, *v.shape[1:]), v.dtype)])
                 for k, v in batch.items()}
    return batch


@dataclass
class EditRunner:
    """``net`` with parameters replicated over ``mesh``; places batches split over the mesh."""

    net: Net
    mesh: Mesh

    @classmethod
    def create(cls, net: Net, devices: sharding.Devices = None) -> EditRunner:
        """Replicate ``net``'s parameters over the selected devices (``devices`` as in
        :mod:`jaxdissect.sharding`)."""
        mesh = sharding.make_mesh(devices)
        placed = Net(module=net.module, params=sharding.replicate(mesh, net.params),
                     meta=net.meta)
        return cls(net=placed, mesh=mesh)

    @property
    def num_devices(self) -> int:
        return int(self.mesh.devices.size)

    def place(self, batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
        """Pad this process's rows to a multiple of its devices and split them over the mesh."""
        padded = pad_rows(batch, _local_device_count(self.mesh))
        return sharding.shard_batch(self.mesh, padded)

    def chunks(self, stacked: Mapping[str, UnitEdit],
               chunk_size: int) -> list[tuple[int, int, dict[str, UnitEdit]]]:
        """:func:`edit_chunks`, each chunk replicated over the mesh (placed once, reused for
        every batch)."""
        return [(start, count, sharding.replicate(self.mesh, chunk))
                for start, count, chunk in edit_chunks(stacked, chunk_size)]

    def apply_chunk(self, x: jax.Array, edits: Mapping[str, UnitEdit], layers=()):
        """``Net.apply_edits`` on placed inputs and a placed chunk: outputs and activations
        with a leading axis E."""
        return self.net.apply_edits(x, dict(edits), layers)


def shard_sums(x: jax.Array, shards: int, axis: int = 0) -> jax.Array:
    """Sum ``x`` over its batch ``axis`` within each device's rows only (inside jit): the
    result has a new leading axis of ``shards`` partial sums, one per device.

    Why not a plain sum: over a batch split across devices that is a cross-device all-reduce at
    every step. Partial sums stay on their device, accumulate there, and are added on the host
    at the end (integer counts: the order does not matter). With simulated CPU devices this
    also avoids collective time-outs when devices finish a heavy step far apart.
    """
    x = jnp.moveaxis(x, axis, 0)
    if x.shape[0] % shards:
        raise ValueError(f"batch of {x.shape[0]} rows does not split over {shards} devices")
    return x.reshape(shards, x.shape[0] // shards, *x.shape[1:]).sum(axis=1)


def num_edits(stacked: Mapping[str, UnitEdit]) -> int:
    """The length S of the leading (edit) axis of stacked edits."""
    sizes = {int(leaf.shape[0]) for leaf in jax.tree.leaves(dict(stacked))}
    if len(sizes) != 1:
        raise ValueError(f"stacked edits disagree on the number of edits: {sorted(sizes)}")
    return sizes.pop()


def edit_chunks(
    stacked: Mapping[str, UnitEdit], chunk_size: int
) -> Iterator[tuple[int, int, dict[str, UnitEdit]]]:
    """Split stacked edits (leading axis S) into chunks of ``chunk_size``.

    Yields ``(start, count, chunk)``: edits ``start .. start + count - 1``; the last chunk is
    padded to ``chunk_size`` with no-op edits (unit mask 0), whose results callers drop.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size}: evaluate at least one edit per call")
    total = num_edits(stacked)
    host = jax.tree.map(np.asarray, dict(stacked))
    for start in range(0, total, chunk_size):
        count = min(chunk_size, total - start)

        def take(a: np.ndarray, start=start, count=count) -> jax.Array:
            part = a[start:start + count]
            pad = np.zeros((chunk_size - count, *a.shape[1:]), a.dtype)
            return jnp.asarray(np.concatenate([part, pad]))

        yield start, count, jax.tree.map(take, host)


def ablation_edits(layer: str, unit_sets: np.ndarray) -> dict[str, UnitEdit]:
    """Stacked edits zeroing, for each row of ``unit_sets`` (S, U) bool, its units everywhere."""
    masks = np.asarray(unit_sets, np.float32)
    if masks.ndim != 2:
        raise ValueError(f"unit sets must be a (sets, units) mask, got shape {masks.shape}")
    return {layer: UnitEdit(units=masks, values=np.zeros_like(masks))}


def layer_width(net: Net, layer: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(h, w, U) of ``layer`` for inputs of ``input_shape`` (batch axis included)."""
    shapes = net.layer_shapes(input_shape)
    if layer not in shapes:
        raise ValueError(f"unknown layer {layer!r}; layers are: {', '.join(shapes)}")
    shape = shapes[layer]
    if len(shape) != 3:
        raise ValueError(f"layer {layer!r} has shape {shape}; unit edits need an (h, w, U) map")
    return shape
