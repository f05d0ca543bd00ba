"""One edit sweep: many unit edits per compiled call over batches of data, data parallel.

An experiment evaluates a list of edits of one layer (``S`` of them: each unit ablated, the top
``k`` concept units zeroed, an insertion at each location) over batches of data and measures
something per edit. :func:`sweep` owns everything but the measurement:

* the model's parameters replicated over a data-parallel mesh (:class:`PlacedNet`), each batch
  padded with masked rows to a multiple of the devices and split over them
  (:func:`jaxdissect.sharding.place_rows`);
* the edits in chunks of ``E`` (:func:`edit_chunks`: the last chunk is padded with no-op edits
  so every call has the same shape and compiles once), each evaluated with ``Net.apply_edits``,
  which vmaps the model over the edit axis (the layers before the edited one do not depend on
  the edit, so vmap computes them once per chunk, not once per edit);
* the measurement's integer values per edit and sample, zeroed on padded rows and summed within
  each device (:func:`jaxdissect.sharding.shard_sums`), accumulated there, added on the host as
  int64 (exact), with the padded edits dropped.

An experiment supplies ``measure(batch, outputs)``: the placed batch and the chunk's outputs
(output and activations with a leading axis E) -> a pytree of integer arrays (E, B, ...) (jax),
its values per edit and sample. Batches are dicts of host arrays with a ``mask`` (B,) bool
(False: padding); any batch size works on any number of devices.

Memory: a chunk holds ``E x B`` copies of every activation after the edited layer (``B`` the
global batch); choose ``E`` so that this fits (``chunk_size`` options of the experiments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from jaxdissect import sharding
from jaxdissect.models.base import Net
from jaxdissect.models.edits import UnitEdit

Batch = Mapping[str, jax.Array]
Edits = Mapping[str, UnitEdit]
Measure = Callable[[Batch, Any], Any]


@dataclass
class PlacedNet:
    """``net`` with parameters replicated over ``mesh``; places batches split over the mesh."""

    net: Net
    mesh: Mesh

    @classmethod
    def create(cls, net: Net, devices: sharding.Devices = None) -> PlacedNet:
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
        """:func:`jaxdissect.sharding.place_rows` on this mesh."""
        return sharding.place_rows(self.mesh, batch)


@partial(jax.jit, static_argnames="shards")
def _masked_sums(values, mask: jax.Array, shards: int):
    """values (E, B, ...) -> (shards, E, ...) per-device sums over the valid rows: int32 for
    integers and booleans, float32 for floats."""
    def one(v):
        keep = mask.reshape(1, -1, *([1] * (v.ndim - 2)))
        dtype = jnp.float32 if jnp.issubdtype(v.dtype, jnp.floating) else jnp.int32
        return sharding.shard_sums(jnp.where(keep, v, 0).astype(dtype), shards, axis=1)

    return jax.tree.map(one, values)


def sweep(
    net: Net,
    batches: Iterable[Mapping[str, np.ndarray]],
    edits: Edits | Callable[[Batch], Edits],
    measure: Measure,
    *,
    inputs: str | Callable[[Batch], jax.Array],
    chunk_size: int,
    devices: sharding.Devices = None,
    layers: tuple[str, ...] = (),
    per_batch: Callable[[Net, Batch, jax.Array], Mapping[str, jax.Array]] | None = None,
    per_sample: bool = False,
) -> Any:
    """``measure`` of every edit of ``edits`` over all valid samples of ``batches``, one pass.

    ``edits``: stacked edits (every leaf with a leading axis S), or a function of the first
    placed batch returning them (when they depend on the input's shape). ``inputs``: the key
    of the model input in a batch, or a function of the placed batch returning it (e.g.
    normalised images). ``layers``: the activations the outputs carry (as ``Net.apply_edits``).
    ``per_batch(net, batch, x)``: optional work once per batch with the unedited model (``net``
    with its parameters placed, ``x`` the placed input), whose arrays join the batch that
    ``measure`` sees. ``ceil(S / chunk_size)`` compiled calls of the model per batch.

    Returns the pytree of ``measure`` with leaves (S, ...): the values summed over the valid
    samples, int64 (exact) for integer values, float64 for floats (summed in float32 on each
    device, so their last bits depend on the device count); with ``per_sample``, (S, N, ...)
    the values of the N valid samples, in order (for measurements grouped on the host; S x N
    values are kept).
    """
    placed_net = PlacedNet.create(net, devices)
    take = (lambda batch: batch[inputs]) if isinstance(inputs, str) else inputs
    chunks = totals = None
    for batch in batches:
        placed = placed_net.place(batch)
        x = take(placed)
        if chunks is None:
            stacked = edits(placed) if callable(edits) else edits
            chunks = [(count, sharding.replicate(placed_net.mesh, chunk))
                      for _, count, chunk in edit_chunks(stacked, chunk_size)]
            totals = [[] if per_sample else None for _ in chunks]
        if per_batch is not None:
            placed = {**placed, **per_batch(placed_net.net, placed, x)}
        valid = sharding.to_host(placed["mask"]).astype(bool) if per_sample else None
        for index, (count, chunk) in enumerate(chunks):
            values = measure(placed, placed_net.net.apply_edits(x, dict(chunk), layers))
            if per_sample:  # fetched per chunk: the host groups them
                totals[index].append(jax.tree.map(
                    lambda v, count=count, valid=valid: sharding.widen(v)[:count][:, valid],
                    sharding.to_host(values)))
                continue
            sums = _masked_sums(values, placed["mask"], placed_net.num_devices)
            totals[index] = sums if totals[index] is None else jax.tree.map(
                jnp.add, totals[index], sums)
    if chunks is None:
        raise ValueError("no batches: the data gave nothing to measure")
    return _gather(totals, [count for count, _ in chunks], per_sample)


def _gather(totals: list, counts: list[int], per_sample: bool) -> Any:
    """Per chunk, the device sums added on the host without the padded edits (or the host
    values of each batch side by side), then the chunks one after the other: (S, ...)."""
    if per_sample:
        per_chunk = [jax.tree.map(lambda *b: np.concatenate(b, axis=1), *parts)
                     for parts in totals]
    else:
        per_chunk = [jax.tree.map(lambda v, count=count: v[:count], sharding.add_shards(t))
                     for count, t in zip(counts, totals, strict=True)]
    return jax.tree.map(lambda *c: np.concatenate(c), *per_chunk)


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
            return jnp.asarray(sharding.pad_zeros(a[start:start + count], chunk_size))

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
