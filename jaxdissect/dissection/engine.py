"""The passes of a dissection: per-layer statistic states and the jitted steps that update them.

Pass 0 sees every image once: top-k (spatial max of the raw activation) and the first radix
pass of the exact quantile over the *upsampled* activation (or over the raw activation, at the
layer's own resolution, when ``config.threshold_resolution == "layer"``). Later quantile passes
narrow the threshold over the same data, and a last pass counts intersections of the
*upsampled* maps with ``a > t`` (strict), whichever resolution set ``t``.

Steps run on global arrays whose batch axis is split over the mesh; statistic states are
replicated. The quantile and counting passes run per device (``shard_map``): each device counts
its rows into int32 histograms and tallies, an explicit ``psum`` adds them up, and the sums go
into the wide counters. How a device counts is the plan's ``kind`` (chosen by platform):

* ``"cpu"``: one image, or one block of rows, at a time with scatter-adds (so that the values
  stay in cache);
* ``"accelerator"`` (GPU): the whole batch at once; digit histograms by scatter-add (values
  outside the prefix dropped), label counts by the matmul method;
* ``"tpu"``: the whole batch at once with no scatter in any compiled step (XLA compiles a
  scatter into a serial loop on TPU): digit histograms by one-hot matmuls, label counts by the
  sorted-slots method, top-k merged by sorting.

All kinds give the same bits. Integer sums are exact in any order, so the
results are bit-identical for any device count and batch size. Host batches are placed with
:func:`jaxdissect.sharding.shard_batch`, so on several hosts each process feeds its own rows.

**Why the passes cannot deadlock.** Every step is one XLA program over all devices with an
all-reduce (the ``psum``), and XLA:CPU runs such a program only if each device's part gets a
thread of the CPU client's pool, which is just big enough for one program at a time. The
threshold and intersection passes read their batches from the host cache, so nothing made
the host wait: it used to dispatch hundreds of steps ahead of the devices, until launching
one more blocked a pool thread (each device admits 32 programs in flight) and the oldest
program's all-reduce waited forever for its last device; XLA then aborted after 40 s
("only 1 of 2 arrived"). Every loop here now records its steps in a
:class:`jaxdissect.sharding.StepWindow`, which waits for the step dispatched two before, so
at most three programs of a pass are in flight and a launch never blocks; pass 0 waits for
the previous batch's outputs anyway (it checks them). No host thread other than the caller's
dispatches device work (the data pipeline's threads only decode into numpy), so the order
of collectives is the order of dispatch. ``tests/dissection/test_long_runs.py`` runs
hundreds of batches on 2 and 8 devices, enough to hang before this.

The steps are module-level jitted functions of a hashable :class:`StepPlan`, so dissections
with the same layers, shapes, settings and mesh reuse their compiled code.

A *source* is a callable returning a fresh iterator of host batches
``{"acts": {layer: (b, h, w, U)}, "seg": (b, K, H, W) int, "mask": (b,) bool, ...}`` (this
process's rows), e.g. an :class:`~jaxdissect.dissection.cache.ActivationCache`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.dissection.presets import DissectConfig
from jaxdissect.dissection.progress import Progress
from jaxdissect.dissection.upsample import block_rows, upsample, upsample_rows
from jaxdissect.stats.counts import IoUCounts
from jaxdissect.stats.quantile import ExactQuantile
from jaxdissect.stats.topk import MAX_PAIRWISE, TopK
from jaxdissect.stats.wide_count import check_batch_count

Source = Callable[[], Iterable[dict]]


PLAN_KINDS = ("cpu", "accelerator", "tpu")
COUNT_METHODS = {"cpu": "scatter", "accelerator": "matmul", "tpu": "sorted"}


def plan_kind(mesh: jax.sharding.Mesh) -> str:
    """The plan for the mesh's platform. CPU devices loop over their images (one image's
    upsampled values stay in cache; measured 2.5x faster per image than whole batches); GPUs
    and TPUs take their whole batch at once (a loop of small steps leaves them idle; the
    counting pass was measured 40x slower per image that way on an H200)."""
    platform = mesh.devices.flat[0].platform
    return platform if platform in ("cpu", "tpu") else "accelerator"


def loops_per_image(mesh: jax.sharding.Mesh) -> bool:
    """Whether each device loops over its images (the ``"cpu"`` plan)."""
    return plan_kind(mesh) == "cpu"


@dataclass(frozen=True)
class StepPlan:
    """What the compiled steps depend on. ``units[i]`` is the unit count of ``layers[i]``.

    ``kind``: how each device counts (see the module docstring); ``None`` chooses by platform
    (:func:`plan_kind`)."""

    layers: tuple[str, ...]
    units: tuple[int, ...]
    seg_size: tuple[int, int]
    config: DissectConfig
    mesh: jax.sharding.Mesh
    kind: str | None = None

    def __post_init__(self):
        if self.kind is None:
            object.__setattr__(self, "kind", plan_kind(self.mesh))
        if self.kind not in PLAN_KINDS:
            raise ValueError(f"plan kind {self.kind!r}: choose one of {PLAN_KINDS}")

    @property
    def per_image(self) -> bool:
        """Each device loops over its images and row blocks (else takes its whole batch)."""
        return self.kind == "cpu"

    @property
    def count_method(self) -> str:
        return COUNT_METHODS[self.kind]

    def quantile(self, layer: str) -> ExactQuantile:
        return ExactQuantile(self.units[self.layers.index(layer)], q=self.config.quantile,
                             count_with="matmul" if self.kind == "tpu" else "scatter")

    def topk(self, layer: str) -> TopK:
        return TopK(self.units[self.layers.index(layer)], k=self.config.topk,
                    pairwise_up_to=0 if self.kind == "tpu" else MAX_PAIRWISE)

    def block_rows(self, layer: str) -> int:
        """Output rows per block of the quantile passes (see :func:`upsample.block_rows`)."""
        return block_rows(self.seg_size, self.units[self.layers.index(layer)])

    def upsampled(self, maps: jax.Array) -> jax.Array:
        return upsample(maps, self.seg_size, self.config.upsample)

    def replicate(self, tree):
        return jax.lax.with_sharding_constraint(tree, sharding.replicated(self.mesh))


def _varying(tree):
    """Mark per-device accumulators as varying over the data axis (inside ``shard_map``), as
    the loops that add local rows to them require."""
    return jax.tree.map(lambda x: jax.lax.pcast(x, (sharding.DATA_AXIS,), to="varying"), tree)


def _each_image(body, carry, *arrays, blocks: int | None = None):
    """``carry = body(carry, *rows)`` for every row of this device's ``arrays`` (a loop over the
    local batch; each row keeps a leading axis of 1). With ``blocks``, ``body(carry, *rows,
    block)`` for each block ``0 .. blocks - 1`` of each row. The initial carry varies by device."""
    carry = _varying(carry)
    per_row = 1 if blocks is None else blocks

    def step(i, carry):
        rows = tuple(jax.lax.dynamic_slice_in_dim(a, i // per_row, 1) for a in arrays)
        return body(carry, *rows) if blocks is None else body(carry, *rows, i % per_row)

    return jax.lax.fori_loop(0, arrays[0].shape[0] * per_row, step, carry)


def _per_device(plan: StepPlan, local, replicated_args, batch_args):
    """``local(*replicated_args, *batch_args)`` on each device's rows of the batch arguments;
    ``local`` returns replicated values (after its ``psum``)."""
    spec = jax.sharding.PartitionSpec
    return jax.shard_map(
        local, mesh=plan.mesh,
        in_specs=(spec(),) * len(replicated_args) + (spec(sharding.DATA_AXIS),) * len(batch_args),
        out_specs=spec(),
    )(*replicated_args, *batch_args)


def _quantile_update(plan: StepPlan, layers: tuple[str, ...], states, acts, mask):
    """One quantile pass over a global batch for ``layers``: each device upsamples and counts
    its rows into int32 histograms (on CPU one block of rows of one image at a time, so that
    they stay in cache; on accelerators all at once), the devices' histograms are summed
    (``psum``, exact) and added to the states."""
    shards = sharding.num_data_shards(plan.mesh)

    def local(states, acts, mask):
        valid = jax.lax.psum(jnp.sum(mask, dtype=jnp.int32), sharding.DATA_AXIS)
        new = {}
        for l in layers:
            quantile, state = plan.quantile(l), states[l]
            height, width = plan.seg_size
            check_batch_count(mask.shape[0] * shards * height * width, f"layer {l}")
            if plan.config.threshold_resolution == "layer":
                # The 2017 rule: the quantile of the raw maps, before any upsampling (h * w
                # values per image, few enough to count the local batch at once).
                height, width = acts[l].shape[1:3]
                counts = quantile.histogram(state, acts[l], mask,
                                            _varying(quantile.empty_histogram(state)))
            elif plan.per_image:
                rows = plan.block_rows(l)

                def count(counts, maps, m, block, quantile=quantile, state=state, rows=rows):
                    values = upsample_rows(maps, plan.seg_size, block * rows, rows,
                                           plan.config.upsample)
                    return quantile.histogram(state, values, m, counts)

                counts = _each_image(count, quantile.empty_histogram(state), acts[l], mask,
                                     blocks=height // rows)
            else:
                counts = quantile.histogram(state, plan.upsampled(acts[l]), mask,
                                            _varying(quantile.empty_histogram(state)))
            new[l] = quantile.add_histogram(state, jax.lax.psum(counts, sharding.DATA_AXIS),
                                            valid * height * width)
        return new

    return _per_device(plan, local, (states,), ({l: acts[l] for l in layers}, mask))


def first_update(plan: StepPlan, states, acts, mask, index):
    """Pass 0 on one global batch (traced); returns (states, per-layer non-finite flags,
    number of valid images). Non-finite activations are flagged here, from the raw maps (the
    quantile histograms do not check for NaN)."""
    topk, nonfinite = {}, {}
    for l in plan.layers:
        maps = acts[l]
        peak = jnp.max(maps.astype(jnp.float32), axis=(1, 2))
        topk[l] = plan.topk(l).update(states["topk"][l], peak, index, mask)
        nonfinite[l] = jnp.any(~jnp.isfinite(maps) & mask[:, None, None, None])
    quantile = _quantile_update(plan, plan.layers, states["quantile"], acts, mask)
    new = plan.replicate({"quantile": quantile, "topk": topk})
    return new, nonfinite, jnp.sum(mask.astype(jnp.int32))


_first_step = jax.jit(first_update, static_argnums=0)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _quantile_step(plan: StepPlan, active: tuple[str, ...], states, acts, mask):
    return plan.replicate(_quantile_update(plan, active, states, acts, mask))


@functools.lru_cache(maxsize=32)
def _counter(units: int, num_concepts: int, category_of: tuple[int, ...] | None,
             method: str = "scatter") -> IoUCounts:
    categories = None if category_of is None else np.asarray(category_of)
    return IoUCounts(units, num_concepts, category_of=categories, method=method)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _counts_step(plan: StepPlan, num_concepts, category_of, states, acts, seg, mask, thresholds):
    """The intersection pass on one global batch: int32 tallies per device (on CPU image by
    image with scatter-adds; on accelerators the whole batch, see :data:`COUNT_METHODS`),
    summed over the devices and added to the wide counts."""
    shards = sharding.num_data_shards(plan.mesh)
    method = plan.count_method

    def local(states, thresholds, acts, seg, mask):
        new = {}
        for l, units in zip(plan.layers, plan.units, strict=True):
            counter = _counter(units, num_concepts, category_of, method)
            check_batch_count(mask.shape[0] * shards * seg.shape[2] * seg.shape[3], f"layer {l}")

            def count(acc, maps, labels, m, counter=counter, l=l):
                on = plan.upsampled(maps) > thresholds[l][None, None, None, :]
                return counter.tally(acc, on, labels, m)

            if plan.per_image:
                tally = _each_image(count, counter.empty_tally(), acts[l], seg, mask)
            else:
                tally = count(_varying(counter.empty_tally()), acts[l], seg, mask)
            new[l] = counter.add_tally(states[l], jax.lax.psum(tally, sharding.DATA_AXIS))
        return new

    return plan.replicate(_per_device(plan, local, (states, thresholds), (acts, seg, mask)))


class LayerStatistics:
    """Streaming statistics of several layers over one data set.

    ``unit_maps``: layer -> (h, w, U) of its activation; ``seg_size``: (H, W) of the concept grid;
    ``kind``: the plan (see :class:`StepPlan`).

    What the passes cost, counted (not timed), for benchmarks: ``histogrammed[layer][p]`` is the
    number of values (all units together) that entered pass ``p``'s digit histograms, per image;
    ``host_to_device[name]`` the bytes of host arrays copied to the devices in a pass, per image
    (0 for batches already on the devices, see :mod:`jaxdissect.dissection.resident`).
    """

    def __init__(self, config: DissectConfig, unit_maps: Mapping[str, tuple[int, int, int]],
                 seg_size: tuple[int, int], mesh: jax.sharding.Mesh, progress: Progress,
                 kind: str | None = None):
        self.plan = StepPlan(tuple(unit_maps), tuple(int(s[2]) for s in unit_maps.values()),
                             tuple(int(s) for s in seg_size), config, mesh, kind)
        self.layers, self.seg_size, self.mesh = self.plan.layers, self.plan.seg_size, mesh
        self.act_sizes = {l: tuple(s[:2]) for l, s in unit_maps.items()}
        self.progress = progress
        self.quantile = {l: self.plan.quantile(l) for l in self.layers}
        self.topk = {l: self.plan.topk(l) for l in self.layers}
        self.states = sharding.replicate(mesh, {
            "quantile": {l: self.quantile[l].init() for l in self.layers},
            "topk": {l: self.topk[l].init() for l in self.layers},
        })
        self.num_images = 0
        self.histogrammed: dict[str, list[float]] = {l: [] for l in self.layers}
        self.host_to_device: dict[str, float] = {}
        self._copied = [0, 0]  # bytes and images of the pass in progress

    def record_first(self, nonfinite: Mapping[str, np.ndarray], images: int, where: str) -> None:
        """Host-side bookkeeping of one pass-0 batch (after its outputs were fetched)."""
        bad = [l for l in self.layers if bool(nonfinite[l])]
        if bad:
            raise ValueError(
                f"NaN or inf activations in layer(s) {bad} ({where}); check the model's inputs "
                "and weights (dissection needs finite activations)"
            )
        self.num_images += int(images)

    def first_pass(self, source: Source, total: int | None) -> None:
        """Pass 0 from already computed activations (no model to run)."""
        self._begin("pass 0", total)
        pending = None
        for position, batch in enumerate(source()):
            device = self._place(batch, ("acts", "mask", "index"))
            self.states, nonfinite, images = _first_step(
                self.plan, self.states, device["acts"], device["mask"], device["index"])
            if pending is not None:  # check the previous batch while this one computes
                self.record_first(*sharding.to_host(pending), f"batch {position - 1}")
            pending = (nonfinite, images)
            self.progress.advance(self._images(batch))
        if pending is not None:
            self.record_first(*sharding.to_host(pending), f"batch {position}")
        self._end()

    @staticmethod
    def _images(batch: dict) -> int:
        return int(np.sum(batch["mask"])) * jax.process_count()

    def _begin(self, name: str, total: int | None) -> None:
        self._copied, self._pass_name = [0, 0], name
        self.progress.start(name, total)

    def _end(self) -> None:
        self.host_to_device[self._pass_name] = self._copied[0] / max(self._copied[1], 1)
        self.progress.end()

    def _place(self, batch: dict, keys: tuple[str, ...]) -> dict:
        """Batch-sharded device arrays of ``batch[keys]``: host arrays are copied (and their
        bytes counted), arrays already on the devices are used as they are."""
        leaves, tree = jax.tree.flatten({k: batch[k] for k in keys})
        host = [i for i, x in enumerate(leaves) if not isinstance(x, jax.Array)]
        placed = sharding.shard_batch(self.mesh, [leaves[i] for i in host])
        for i, array in zip(host, placed, strict=True):
            self._copied[0] += np.asarray(leaves[i]).nbytes
            leaves[i] = array
        self._copied[1] += len(batch["mask"])
        return jax.tree.unflatten(tree, leaves)

    def _record_histogrammed(self, states) -> None:
        images = max(self.num_images, 1)
        for l in self.layers:
            if len(self.histogrammed[l]) < self.quantile[l].num_passes:
                total = self.quantile[l].histogrammed(states[l]).sum()
                self.histogrammed[l].append(float(total) / images)

    def quantile_passes(self, source: Source, total: int | None, start=None,
                        checkpoint=None) -> dict[str, np.ndarray]:
        """Finish the radix selection (pass 0 done) over ``source``; thresholds float32 (U,).

        ``checkpoint(p, states)`` (optional) receives the host states after each pass ``p``;
        ``start=(p, states)`` continues after pass ``p`` from such states (a resumed run)."""
        done, states = start if start is not None else (0, sharding.to_host(
            self.states["quantile"]))
        for p in range(done + 1, max(q.num_passes for q in self.quantile.values()) + 1):
            self._record_histogrammed(states)
            states = {l: self.quantile[l].next_pass(states[l]) for l in self.layers}
            active = tuple(l for l in self.layers if not self.quantile[l].done(states[l]))
            if not active:
                break
            placed = sharding.replicate(self.mesh, {l: states[l] for l in active})
            self._begin(f"threshold pass {p}", total)
            window = sharding.StepWindow()
            for batch in source():
                device = self._place(batch, ("acts", "mask"))
                acts = {l: device["acts"][l] for l in active}
                placed = _quantile_step(self.plan, active, placed, acts, device["mask"])
                window.add(placed)
                self.progress.advance(self._images(batch))
            states.update(sharding.to_host(placed))
            self._end()
            if checkpoint is not None:
                checkpoint(p, states)
        return {l: np.asarray(self.quantile[l].finalize(states[l]), np.float32)
                for l in self.layers}

    def count(self, source: Source, thresholds: Mapping[str, np.ndarray], num_concepts: int,
              category_of: np.ndarray | None, total: int | None) -> dict:
        """The intersection pass; returns layer -> CountsResult (numpy int64)."""
        categories = None if category_of is None else tuple(int(c) for c in category_of)
        counters = {l: _counter(u, num_concepts, categories, self.plan.count_method)
                    for l, u in zip(self.layers, self.plan.units, strict=True)}
        states = sharding.replicate(self.mesh, {l: c.init() for l, c in counters.items()})
        placed_thresholds = sharding.replicate(
            self.mesh, {l: np.asarray(thresholds[l], np.float32) for l in self.layers})
        self._begin("intersection pass", total)
        window = sharding.StepWindow()
        for batch in source():
            device = self._place(batch, ("acts", "seg", "mask"))
            states = _counts_step(self.plan, num_concepts, categories, states, device["acts"],
                                  device["seg"], device["mask"], placed_thresholds)
            window.add(states)
            self.progress.advance(self._images(batch))
        self._end()
        states = sharding.to_host(states)
        return {l: counters[l].finalize(states[l]) for l in self.layers}

    def value_histograms(self) -> dict[str, np.ndarray]:
        """layer -> int64 (bins, U): pass 0's histogram of every value's top order-key bits
        (a log-spaced histogram of the values each threshold is taken from; read it after pass
        0 and before :meth:`quantile_passes`)."""
        states = sharding.to_host(self.states["quantile"])
        return {l: states[l].hist.to_numpy() for l in self.layers}

    def top_images(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """layer -> (values float32 (U, k), dataset indices int64 (U, k))."""
        states = sharding.to_host(self.states["topk"])
        return {l: self.topk[l].finalize(states[l]) for l in self.layers}
