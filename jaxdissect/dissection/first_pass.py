"""Pass 0 of a dissection with a model: run ``fn`` once per image, update, cache.

For each batch: ``acts, seg = fn(batch)`` on the device, top-k and the first quantile pass
(:func:`jaxdissect.dissection.engine.first_update`): one jitted step on one device, two
(the model's, then the update's) on several; the raw activations (in
their dtype) and segmentations stay on the devices while they fit there
(:mod:`jaxdissect.dissection.resident`); otherwise this process's rows are fetched while the next
batch computes and appended to the host activation cache. Labels, finiteness and batch shapes
are checked as it goes.
With a :class:`~jaxdissect.dissection.resume.ResumeFolder` the states are checkpointed every few
batches and a restarted run skips the batches already done.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.cache import ActivationCache
from jaxdissect.dissection.engine import LayerStatistics, StepPlan, first_update
from jaxdissect.dissection.resident import ResidentCache, device_bound
from jaxdissect.dissection.resume import (
    IndexHash,
    Interrupted,
    InterruptLatch,
    ResumeFolder,
    kill_point,
)

BatchFn = Callable[[dict], tuple[dict, jax.Array]]


def host_batch(batch: dict, position: int, rows: int | None) -> dict:
    """Check a batch's ``index`` / ``mask`` and row count; index as int32, mask as bool."""
    for key in ("index", "mask"):
        if key not in batch:
            raise KeyError(f"batch {position} has no {key!r} array (keys: {sorted(batch)}); "
                           "batches need 'index' (dataset indices) and 'mask' (valid rows)")
    out = {k: np.asarray(v) for k, v in batch.items()}
    if rows is not None and len(out["mask"]) != rows:
        raise ValueError(f"batch {position} has {len(out['mask'])} rows, the first had {rows}; "
                         "pad every batch to the same size and mask the padding")
    index = out["index"]
    if index.size and (index.min() < 0 or index.max() >= 2**31):
        raise ValueError(f"batch {position}: dataset indices must be in [0, 2**31)")
    out["index"], out["mask"] = index.astype(np.int32), out["mask"].astype(bool)
    return out


def check_labels(vocabulary: ConceptVocabulary | None, low: int, high: int, where: str = ""):
    """Labels must be 0..C-1 for the vocabulary (any non-negative label without one)."""
    where = f" ({where})" if where else ""
    if low < 0:
        raise ValueError(f"negative segmentation label {low}{where}; labels are 0 (none) or "
                         "concept numbers")
    if vocabulary is not None and high >= vocabulary.num_concepts:
        raise ValueError(f"segmentation label {high}{where} is beyond the vocabulary's "
                         f"{vocabulary.num_concepts} concepts (0..{vocabulary.num_concepts - 1}); "
                         "pass the vocabulary that made these segmentations")


def _outputs(fn: BatchFn, layers: tuple[str, ...], batch: dict):
    acts, seg = fn(batch)
    missing = [l for l in layers if l not in acts]
    if missing:
        raise KeyError(f"fn returned no activations for {missing}; it returned {sorted(acts)}")
    seg = seg[:, None] if seg.ndim == 3 else seg
    return {l: acts[l] for l in layers}, seg


def _first_update(plan: StepPlan, states, acts, seg, batch):
    states, nonfinite, images = first_update(plan, states, acts, batch["mask"], batch["index"])
    seg32 = seg.astype(jnp.int32).reshape(seg.shape[0], -1)
    valid = batch["mask"][:, None]
    label_range = (jnp.min(jnp.where(valid, seg32, 0)), jnp.max(jnp.where(valid, seg32, 0)))
    return states, (nonfinite, images, label_range)


@functools.lru_cache(maxsize=2)  # small: the entries keep fn (and its parameters) alive
def _model_step(fn: BatchFn, plan: StepPlan, split: bool):
    """``step(states, batch) -> (states, acts, seg, info)``: the model and the first update.

    On one device they are one jitted call. On several they are two, the model's then the
    update's: measured on two simulated CPU devices (``bench/NOTES.md``), the fused call made
    pass 0 1.3-1.7x slower than the model alone, the two calls cost 5% more than the model alone;
    on one device the fused call was the faster. The values are the same either way."""
    if split:
        forward = jax.jit(functools.partial(_outputs, fn, plan.layers))
        update = jax.jit(functools.partial(_first_update, plan))

        def two_calls(states, batch):
            acts, seg = forward(batch)
            states, info = update(states, acts, seg, batch)
            return states, acts, seg, info

        return two_calls

    def step(states, batch):
        acts, seg = _outputs(fn, plan.layers, batch)
        states, info = _first_update(plan, states, acts, seg, batch)
        return states, acts, seg, info

    return jax.jit(step)


class FirstPass:
    """Runs pass 0; afterwards ``stats``, ``cache``, ``label_range`` hold what it found."""

    def __init__(self, fn, layers, config, mesh, progress, *, seg_size, vocabulary,
                 memory_bound_bytes, cache_dir, resume_dir=None, checkpoint_every=50,
                 checkpoint_seconds=None, latch: InterruptLatch | None = None, say=None,
                 restart_stale=False):
        self.fn, self.layers, self.config, self.mesh = fn, tuple(layers), config, mesh
        self.progress, self.seg_size, self.vocabulary = progress, seg_size, vocabulary
        host_cache = ActivationCache(memory_bound_bytes, cache_dir)
        self.cache = host_cache if resume_dir is not None else ResidentCache(
            host_cache, device_bound(mesh, memory_bound_bytes), sharding.num_data_shards(mesh))
        self.resume_dir, self.checkpoint_every = resume_dir, max(1, int(checkpoint_every))
        self.checkpoint_seconds, self.latch = checkpoint_seconds, latch
        self.say = say or progress.note
        self.restart_stale = restart_stale
        self._last_checkpoint = time.monotonic()
        self.resume: ResumeFolder | None = None
        self.stats: LayerStatistics | None = None
        self.label_range = [0, 0]
        self.done_batches, self.finished, self.hash = 0, False, IndexHash()

    def _start(self, host: dict) -> None:
        acts, seg = jax.eval_shape(functools.partial(_outputs, self.fn, self.layers), host)
        for l, a in acts.items():
            if len(a.shape) != 4:
                raise ValueError(f"layer {l}: activations must be (B, h, w, U); got {a.shape}")
        if len(seg.shape) != 4 or not jnp.issubdtype(seg.dtype, jnp.integer):
            raise ValueError(f"segmentation must be integer (B, K, H, W); got {seg.dtype} "
                             f"{seg.shape}")
        if self.seg_size is not None and tuple(seg.shape[2:]) != tuple(self.seg_size):
            raise ValueError(f"seg_size={tuple(self.seg_size)} but the segmentation is "
                             f"{tuple(seg.shape[2:])}")
        self.seg_size = tuple(seg.shape[2:])
        shapes = {l: tuple(a.shape[1:]) for l, a in acts.items()}
        self.stats = LayerStatistics(self.config, shapes, self.seg_size, self.mesh, self.progress)
        self.step = _model_step(self.fn, self.stats.plan, self.mesh.devices.size > 1)
        if self.resume_dir is not None:
            fingerprint = {"config": self.config.to_dict(), "layers": list(self.layers),
                           "acts": {l: [list(a.shape), str(a.dtype)] for l, a in acts.items()},
                           "seg": [list(seg.shape), str(seg.dtype)]}
            self._restore(ResumeFolder(self.resume_dir, fingerprint, self.restart_stale))
            if self.resume.discarded_stale:
                self.say(f"the checkpoint in {self.resume_dir} was made with other layers or "
                         "another batch size; pass 0 starts again")

    def _restore(self, resume: ResumeFolder) -> None:
        self.resume = resume
        self.cache.close()
        self.cache, states, record = resume.open(self.stats.states)
        if record is not None:
            self.stats.states = sharding.replicate(self.mesh, states)
            self.stats.num_images = record["num_images"]
            self.label_range = record["label_range"]
            self.done_batches, self.finished = record["batches"], record["finished"]
            self.expected_hash = record["index_hash"]

    def _due(self) -> bool:
        """Whether to checkpoint after the batch now computing."""
        if (self.done_batches + 1) % self.checkpoint_every == 0:
            return True
        seconds = self.checkpoint_seconds
        return seconds is not None and time.monotonic() - self._last_checkpoint >= seconds

    def _checkpoint(self) -> None:
        self._last_checkpoint = time.monotonic()
        self.resume.save(self.stats.states, self.cache, {
            "batches": self.done_batches, "num_images": self.stats.num_images,
            "label_range": self.label_range, "index_hash": self.hash.hexdigest,
            "finished": self.finished})

    def _collect(self, host, acts, seg, info) -> None:
        nonfinite, images, (low, high) = sharding.to_host(info)
        where = f"batch with dataset indices {host['index'][0]}..{host['index'][-1]}"
        self.stats.record_first(nonfinite, images, where)
        check_labels(self.vocabulary, int(low), int(high), where)
        self.label_range = [min(self.label_range[0], int(low)), max(self.label_range[1],
                                                                     int(high))]
        if isinstance(self.cache, ResidentCache):  # fetched only if it moves to the host
            self.cache.append({"acts": acts, "seg": seg, "mask": host["mask"]})
        else:
            self.cache.append({"acts": {l: sharding.local_rows(a) for l, a in acts.items()},
                               "seg": sharding.local_rows(seg), "mask": host["mask"]})
        self.progress.advance(int(host["mask"].sum()) * jax.process_count())
        self.done_batches += 1
        kill_point("pass0-batch")

    def _skip(self, host: dict, position: int) -> None:
        """A batch done before the restart: check it is the same one, do not run it."""
        self.hash.update(host["index"], host["mask"])
        if position + 1 == self.done_batches and self.hash.hexdigest != self.expected_hash:
            raise ValueError(f"the batches differ from those of the interrupted run in "
                             f"{self.resume_dir}; feed the same data in the same order")

    def run(self, batches: Iterable[dict], num_batches: int | None = None,
            total_images: int | None = None) -> LayerStatistics:
        """Pass 0 over ``batches`` (``num_batches`` of them, ``total_images`` valid images,
        when known: for the progress display and an early check of the cache's size)."""
        pending, rows = None, None
        for position, batch in enumerate(batches):
            host = host_batch(batch, position, rows)
            if self.stats is None:
                rows = len(host["mask"])
                sharding.check_batch_size(rows * jax.process_count(), self.mesh)
                self._start(host)
                if self.finished:
                    return self.stats  # pass 0 was complete: no need to read further
                total = total_images
                if total is None and num_batches is not None:
                    total = num_batches * rows * jax.process_count()
                if self.done_batches:
                    self.say(self._resuming(total))
                self.progress.start("pass 0 (model)", total, done=self.stats.num_images)
            if position < self.done_batches:
                self._skip(host, position)
                continue
            if self.latch is not None and self.latch.requested:
                self._interrupt(pending)
            self.hash.update(host["index"], host["mask"])
            device = sharding.shard_batch(self.mesh, host)
            self.stats.states, acts, seg, info = self.step(self.stats.states, device)
            if pending is not None:  # fetch the previous batch while this one computes
                self._collect(*pending)
                if position == 1 and num_batches is not None:
                    self.cache.check_fits(num_batches)
            pending = (host, acts, seg, info)
            if self.resume is not None and self._due():
                self._collect(*pending)  # the states hold exactly the cached batches now
                pending = None
                self._checkpoint()
        if self.stats is None:
            raise ValueError("no batches: the data set is empty")
        if pending is not None:
            self._collect(*pending)
        if position + 1 < self.done_batches:
            raise ValueError(f"only {position + 1} batches, fewer than the {self.done_batches} "
                             f"done by the interrupted run in {self.resume_dir}")
        self.finished = True
        if self.resume is not None:
            self._checkpoint()
        self.progress.end()
        return self.stats

    def _resuming(self, total: int | None) -> str:
        of = f" of {total:,}" if total else ""
        return (f"resuming pass 0 at image {self.stats.num_images:,}{of} "
                f"(checkpoint in {self.resume_dir})")

    def _interrupt(self, pending) -> None:
        """Ctrl-C: cache the batch in flight, checkpoint, stop."""
        if pending is not None:
            self._collect(*pending)
        if self.resume is None:
            raise KeyboardInterrupt
        self._checkpoint()
        raise Interrupted(f"interrupted in pass 0 at image {self.stats.num_images:,}; the "
                          "checkpoint is saved: run the same command again to resume")
