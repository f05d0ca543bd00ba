"""The dissection driver: run the model and the segmenter once per image, then finish from a cache.

``dissect(fn, batches, layers, config)`` does, for several layers at once:

1. **pass 0** over ``batches``: ``acts, seg = fn(batch)`` on the device, top-k images (spatial
   max of the raw map) and the first exact-quantile pass; the raw low-resolution activations
   (in their own dtype) and the segmentations are fetched and cached
   (:class:`~jaxdissect.dissect.cache.ActivationCache`: memory, then disk memory maps);
2. the remaining quantile passes over the cache, then the intersection counts pass;
3. IoU, labels and per-layer results, each written to ``out_dir/<layer>/`` atomically as soon
   as it is final.

Resuming: with ``out_dir``, layers whose folder already holds a result made with the same
settings are loaded instead of recomputed (if every layer is done, ``fn`` never runs); a folder
made with other settings is an error unless ``force=True``. Give a fresh ``out_dir`` when the
data changes: the data set itself is not fingerprinted.

Multi-host: every process calls ``dissect`` with its own rows of each global batch (all
processes the same number of batches); only process 0 writes files, and ``out_dir`` must be a
folder every process sees (a shared file system) for resuming to work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.dissect.cache import ActivationCache
from jaxdissect.dissect.concepts import ConceptVocabulary
from jaxdissect.dissect.engine import LayerStatistics, StepPlan, first_update
from jaxdissect.dissect.presets import DissectConfig
from jaxdissect.dissect.progress import Progress
from jaxdissect.dissect.results import (
    LayerResult,
    build_layer_result,
    check_destination,
    load_result,
    save_result,
)

DEFAULT_MEMORY_BOUND = 4 * 2**30
BatchFn = Callable[[dict], tuple[dict, jax.Array]]


def layer_folder(out_dir: str | Path, layer: str) -> Path:
    """Where :func:`dissect` writes ``layer``'s result."""
    return Path(out_dir) / layer.replace("/", "_")


def _check_vocabulary(vocabulary, num_concepts) -> ConceptVocabulary | None:
    if vocabulary is not None and num_concepts is not None:
        if vocabulary.num_concepts != num_concepts:
            raise ValueError(f"num_concepts={num_concepts} but the vocabulary has "
                             f"{vocabulary.num_concepts} concepts; give one of them")
    if vocabulary is None and num_concepts is not None:
        return ConceptVocabulary.numbered(num_concepts)
    return vocabulary


def _finished_layers(out_dir, layers, config, vocabulary, force) -> dict[str, LayerResult]:
    finished = {}
    for layer in layers:
        folder = layer_folder(out_dir, layer)
        if force or not (folder / "report.json").is_file():
            check_destination(folder, force)
            continue
        result = load_result(folder)
        if result.config != config or (
                vocabulary is not None and result.vocabulary.rows() != vocabulary.rows()):
            raise FileExistsError(
                f"{folder} holds a result made with other settings ({result.config}); choose "
                "another output folder or pass force=True (--force) to recompute it"
            )
        finished[layer] = result
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        flags = np.array([layer in finished for layer in layers])
        every = np.asarray(multihost_utils.process_allgather(flags))
        if not (every == every[0]).all():
            raise ValueError(f"the processes see different finished layers in {out_dir}; on "
                             "several hosts out_dir must be one shared folder")
    return finished


def _local_rows(x: jax.Array) -> np.ndarray:
    """This process's rows of a batch-sharded global array, in order."""
    if x.is_fully_addressable:
        return np.asarray(x)
    shards = {s.index[0].start or 0: s for s in x.addressable_shards}
    return np.concatenate([np.asarray(shards[k].data) for k in sorted(shards)])


def _host_batch(batch: dict, position: int, rows: int | None) -> dict:
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


def _outputs(fn: BatchFn, layers: tuple[str, ...], batch: dict):
    acts, seg = fn(batch)
    missing = [l for l in layers if l not in acts]
    if missing:
        raise KeyError(f"fn returned no activations for {missing}; it returned {sorted(acts)}")
    seg = seg[:, None] if seg.ndim == 3 else seg
    return {l: acts[l] for l in layers}, seg


@functools.lru_cache(maxsize=2)  # small: the entries keep fn (and its parameters) alive
def _model_step(fn: BatchFn, plan: StepPlan):
    """Pass 0 with the model: run fn, update the statistics, return what the cache needs."""

    def step(states, batch):
        acts, seg = _outputs(fn, plan.layers, batch)
        states, nonfinite, images = first_update(plan, states, acts, batch["mask"],
                                                 batch["index"])
        seg32 = seg.astype(jnp.int32).reshape(seg.shape[0], -1)
        valid = batch["mask"][:, None]
        label_range = (jnp.min(jnp.where(valid, seg32, 0)), jnp.max(jnp.where(valid, seg32, 0)))
        return states, acts, seg, (nonfinite, images, label_range)

    return jax.jit(step)


class _FirstPass:
    """Pass 0: run ``fn``, update the statistics, cache what the later passes need."""

    def __init__(self, fn, layers, config, mesh, cache, progress, seg_size, vocabulary):
        self.fn, self.layers, self.config, self.mesh = fn, tuple(layers), config, mesh
        self.cache, self.progress, self.seg_size = cache, progress, seg_size
        self.vocabulary = vocabulary
        self.stats: LayerStatistics | None = None
        self.label_range = [np.iinfo(np.int64).max, -1]

    def _start(self, device_batch):
        acts, seg = jax.eval_shape(functools.partial(_outputs, self.fn, self.layers),
                                   device_batch)
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
        self.step = _model_step(self.fn, self.stats.plan)

    def _collect(self, host, acts, seg, info) -> None:
        nonfinite, images, (low, high) = sharding.to_host(info)
        where = f"batch with dataset indices {host['index'][0]}..{host['index'][-1]}"
        self.stats.record_first(nonfinite, images, where)
        if low < 0:
            raise ValueError(f"negative segmentation label {low} ({where}); labels are 0 (none) "
                             "or concept numbers")
        self.label_range = [min(self.label_range[0], int(low)), max(self.label_range[1],
                                                                     int(high))]
        _final_vocabulary(self.vocabulary, (low, high), where)  # fail early on unknown labels
        self.cache.append({"acts": {l: _local_rows(a) for l, a in acts.items()},
                           "seg": _local_rows(seg), "mask": host["mask"]})
        self.progress.advance(int(host["mask"].sum()) * jax.process_count())

    def run(self, batches: Iterable[dict]) -> LayerStatistics:
        num_batches = len(batches) if hasattr(batches, "__len__") else None
        pending, rows = None, None
        for position, batch in enumerate(batches):
            host = _host_batch(batch, position, rows)
            if self.stats is None:
                rows = len(host["mask"])
                sharding.check_batch_size(rows * jax.process_count(), self.mesh)
            device = sharding.shard_batch(self.mesh, host)
            if self.stats is None:
                self._start(device)
                total = None if num_batches is None else num_batches * rows * jax.process_count()
                self.progress.start("pass 1 (model)", total)
            self.stats.states, acts, seg, info = self.step(self.stats.states, device)
            if pending is not None:  # fetch the previous batch while this one computes
                self._collect(*pending)
                if position == 1 and num_batches is not None:
                    self.cache.check_fits(num_batches)
            pending = (host, acts, seg, info)
        if pending is None:
            raise ValueError("no batches: the data set is empty")
        self._collect(*pending)
        self.progress.end()
        return self.stats


def _final_vocabulary(vocabulary, label_range, where: str = "") -> ConceptVocabulary:
    high = label_range[1]
    where = f" ({where})" if where else ""
    if vocabulary is None:
        return ConceptVocabulary.numbered(max(high, 1) + 1)
    if high >= vocabulary.num_concepts:
        raise ValueError(f"segmentation label {high}{where} is beyond the vocabulary's "
                         f"{vocabulary.num_concepts} concepts (0..{vocabulary.num_concepts - 1}); "
                         "pass the vocabulary that made these segmentations")
    return vocabulary


def dissect(
    fn: BatchFn,
    batches: Iterable[dict],
    layers: Sequence[str],
    config: DissectConfig | None = None,
    *,
    vocabulary: ConceptVocabulary | None = None,
    num_concepts: int | None = None,
    seg_size: tuple[int, int] | None = None,
    mesh: jax.sharding.Mesh | None = None,
    devices: sharding.Devices = None,
    cache_dir: str | Path | None = None,
    memory_bound_bytes: int = DEFAULT_MEMORY_BOUND,
    progress: bool = True,
    out_dir: str | Path | None = None,
    force: bool = False,
) -> dict[str, LayerResult]:
    """Dissect ``layers`` of the model inside ``fn``; returns layer -> :class:`LayerResult`.

    fn: jitted ``batch -> (acts, seg)``; ``acts[layer]`` (B, h, w, U) any float dtype, ``seg``
        (B, K, H, W) (or (B, H, W)) integer concept labels, 0 = none.
    batches: iterable of dicts of host numpy arrays, every one with B rows (this process's rows on
        several hosts), including ``"index"`` (B,) int dataset indices and ``"mask"`` (B,) bool
        (False for padding). Iterated once.
    vocabulary / num_concepts: the concepts behind the labels; when neither is given,
        C = max label + 1 with names c1..c{C-1}.
    seg_size: (H, W), checked against the segmentation when given.
    mesh / devices: where to run (default: all devices); B times the process count must be a
        multiple of the device count.
    cache_dir, memory_bound_bytes: the activation cache stays in memory up to the bound and
        spills to ``cache_dir`` beyond it (an error without ``cache_dir``).
    out_dir: write each layer's result to ``out_dir/<layer>/`` (and resume from it).
    """
    config = config or DissectConfig()
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise ValueError("no layers to dissect; name at least one")
    vocabulary = _check_vocabulary(vocabulary, num_concepts)
    finished = _finished_layers(out_dir, layers, config, vocabulary, force) if out_dir else {}
    todo = [l for l in layers if l not in finished]
    if todo:
        mesh = mesh if mesh is not None else sharding.make_mesh(devices)
        reporter = Progress(progress)
        with ActivationCache(memory_bound_bytes, cache_dir) as cache:
            first = _FirstPass(fn, todo, config, mesh, cache, reporter, seg_size, vocabulary)
            stats = first.run(batches)
            vocabulary = _final_vocabulary(vocabulary, first.label_range)
            finished.update(_finish(stats, lambda: iter(cache), config, vocabulary, out_dir))
    return {l: finished[l] for l in layers}


def _finish(stats: LayerStatistics, source, config, vocabulary, out_dir) -> dict:
    """Passes after pass 0, then results (written to ``out_dir`` when given)."""
    thresholds = stats.quantile_passes(source, stats.num_images)
    category_of = vocabulary.category_of if config.iou_rule == "per_category" else None
    counts = stats.count(source, thresholds, vocabulary.num_concepts, category_of,
                         stats.num_images)
    top = stats.top_images()
    results = {}
    for l in stats.layers:
        results[l] = build_layer_result(
            l, config, vocabulary, thresholds[l], counts[l], top[l], stats.num_images,
            stats.act_sizes[l], stats.seg_size)
        if out_dir is not None and jax.process_index() == 0:
            save_result(results[l], layer_folder(out_dir, l), force=True)
    return results
