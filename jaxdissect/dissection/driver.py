"""The dissection driver: run the model and the segmenter once per image, then finish from a cache.

``dissect(fn, batches, layers, config)`` does, for several layers at once:

1. **pass 0** over ``batches``: ``acts, seg = fn(batch)`` on the device, top-k images (spatial
   max of the raw map) and the first exact-quantile pass; the raw low-resolution activations
   (in their own dtype) and the segmentations are fetched and cached
   (:class:`~jaxdissect.dissection.cache.ActivationCache`: memory, then disk memory maps);
2. the remaining quantile passes over the cache, then the intersection counts pass;
3. IoU, labels and per-layer results, each written to ``out_dir/<layer>/`` atomically as soon
   as it is final.

Reusing finished layers: with ``out_dir``, layers whose folder already holds a result made
with the same settings are loaded instead of recomputed (if every layer is done, ``fn`` never
runs); a folder made with other settings is an error unless ``force=True``. A result is trusted
only when its files match its manifest; a damaged one (a deleted or truncated ``iou.npy``, ...)
is recomputed, and ``log`` receives a line naming the file. Give a fresh ``out_dir`` when the
data changes: the data set itself is not fingerprinted.

Resuming an interrupted run: with ``resume_dir`` pass 0 is checkpointed and later passes
keep their states (see :mod:`jaxdissect.dissection.resume`); calling ``dissect`` again with
the same arguments continues from the last checkpoint of pass 0, or after the last finished
pass, with bit-identical results. Ctrl-C then saves a checkpoint and raises
:class:`~jaxdissect.dissection.resume.Interrupted`.

Multi-host: every process calls ``dissect`` with its own rows of each global batch (all
processes the same number of batches); only process 0 writes files, and ``out_dir`` must be a
folder every process sees (a shared file system) for resuming to work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path

import jax
import numpy as np

from jaxdissect import sharding
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.engine import LayerStatistics
from jaxdissect.dissection.first_pass import BatchFn, FirstPass
from jaxdissect.dissection.layer_files import REPORT_FILE, layer_folder, result_problem
from jaxdissect.dissection.presets import DissectConfig
from jaxdissect.dissection.progress import Progress
from jaxdissect.dissection.results import (
    DamagedResultError,
    LayerResult,
    build_layer_result,
    check_destination,
    load_result,
    save_result,
)
from jaxdissect.dissection.resume import Interrupted, InterruptLatch, ResumeFolder, kill_point

DEFAULT_MEMORY_BOUND = 4 * 2**30

__all__ = ["DEFAULT_MEMORY_BOUND", "dissect", "finish", "layer_folder"]


def _check_vocabulary(vocabulary, num_concepts) -> ConceptVocabulary | None:
    if vocabulary is not None and num_concepts is not None:
        if vocabulary.num_concepts != num_concepts:
            raise ValueError(f"num_concepts={num_concepts} but the vocabulary has "
                             f"{vocabulary.num_concepts} concepts; give one of them")
    if vocabulary is None and num_concepts is not None:
        return ConceptVocabulary.numbered(num_concepts)
    return vocabulary


def _finished_layers(out_dir, layers, config, vocabulary, force,
                     log=None) -> dict[str, LayerResult]:
    log = log or (lambda text: None)
    finished = {}
    for layer in layers:
        folder = layer_folder(out_dir, layer)
        if force or not (folder / REPORT_FILE).is_file():
            check_destination(folder, force)
            continue
        problem = result_problem(folder)
        if problem is not None:
            log(f"{layer}: {problem} in {folder}; recomputing the layer")
            continue
        try:
            result = load_result(folder)
        except DamagedResultError as err:
            log(f"{layer}: {err}; recomputing the layer")
            continue
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
    resume_dir: str | Path | None = None,
    checkpoint_every: int = 50,
    checkpoint_seconds: float | None = None,
    total_images: int | None = None,
    log: Callable[[str], None] | None = None,
    restart_stale: bool = False,
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
    resume_dir: make the run resumable (single process): the cache goes to disk there, the
        states of pass 0 are checkpointed every ``checkpoint_every`` batches and every
        ``checkpoint_seconds`` seconds (when given), those of later passes after each pass; see
        :mod:`jaxdissect.dissection.resume`. Emptied once the results are complete.
    total_images: the number of valid images, when known (for the progress display).
    log: receives one-line notes (where a resumed run continues, a damaged earlier result that
        is recomputed); default: the progress display's stream (damaged results: no note).
    restart_stale: a checkpoint in ``resume_dir`` made with other layers, shapes or settings
        is discarded (with a note) rather than an error.
    """
    config = config or DissectConfig()
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise ValueError("no layers to dissect; name at least one")
    vocabulary = _check_vocabulary(vocabulary, num_concepts)
    finished = (_finished_layers(out_dir, layers, config, vocabulary, force, log)
                if out_dir else {})
    todo = [l for l in layers if l not in finished]
    if todo:
        mesh = mesh if mesh is not None else sharding.make_mesh(devices)
        shown = Progress(progress)
        say = log or shown.note
        with InterruptLatch() if resume_dir is not None else nullcontext() as latch:
            first = FirstPass(fn, todo, config, mesh, shown, seg_size=seg_size,
                              vocabulary=vocabulary, memory_bound_bytes=memory_bound_bytes,
                              cache_dir=cache_dir, resume_dir=resume_dir,
                              checkpoint_every=checkpoint_every,
                              checkpoint_seconds=checkpoint_seconds, latch=latch, say=say,
                              restart_stale=restart_stale)
            try:
                num_batches = len(batches) if hasattr(batches, "__len__") else None
                stats = first.run(batches, num_batches, total_images)
                if vocabulary is None:
                    vocabulary = ConceptVocabulary.numbered(max(first.label_range[1], 1) + 1)
                source = lambda: iter(first.cache)
                if first.resume is not None:
                    source = _watched(source, latch)
                finished.update(_finish(stats, source, config, vocabulary, out_dir,
                                        first.resume, say))
            finally:
                first.cache.close()
        if first.resume is not None:
            first.resume.discard()
    return {l: finished[l] for l in layers}


def _watched(source, latch: InterruptLatch):
    """``source`` for the later passes of a resumable run: Ctrl-C stops it between batches
    (the last finished pass is saved)."""
    def batches():
        for batch in source():
            kill_point("later-batch")
            if latch.requested:
                raise Interrupted(
                    "interrupted after pass 0; the states of the last finished pass are saved: "
                    "run the same command again to resume")
            yield batch

    return batches


def _finish(stats: LayerStatistics, source, config, vocabulary, out_dir,
            resume: ResumeFolder | None = None, say=None) -> dict:
    """:func:`finish`, then the results written to ``out_dir`` when given (by process 0)."""
    if resume is not None and say is not None:
        start = resume.later()
        if start is not None:
            say(f"pass 0 and threshold pass {start[0]} finished earlier ({stats.num_images:,} "
                f"images); resuming after threshold pass {start[0]}")
        elif resume.restored_finished:
            say(f"pass 0 finished earlier ({stats.num_images:,} images); resuming after it")
    results = finish(stats, source, config, vocabulary, resume)
    if out_dir is not None and jax.process_index() == 0:
        for l, result in results.items():
            save_result(result, layer_folder(out_dir, l), force=True)
    return results


def finish(stats: LayerStatistics, source: Callable[[], Iterable[dict]], config: DissectConfig,
           vocabulary: ConceptVocabulary, resume: ResumeFolder | None = None, *,
           histograms: bool = True) -> dict[str, LayerResult]:
    """The passes after pass 0 (the threshold passes, the intersection pass) and each layer's
    :class:`LayerResult`: the one finish step of every dissection. ``source()`` iterates the
    batches again for each pass. With ``resume`` the quantile states are kept after each pass,
    and taken up after the last one kept. ``histograms``: keep pass 0's value histograms in
    the results (written as ``act_hist.npz``)."""
    value_hist = stats.value_histograms() if histograms else None
    start = resume.later() if resume is not None else None
    thresholds = stats.quantile_passes(source, stats.num_images, start=start,
                                       checkpoint=None if resume is None else resume.save_later)
    category_of = vocabulary.category_of if config.iou_rule == "per_category" else None
    counts = stats.count(source, thresholds, vocabulary.num_concepts, category_of,
                         stats.num_images)
    top = stats.top_images()
    return {l: build_layer_result(l, config, vocabulary, thresholds[l], counts[l], top[l],
                                  stats.num_images, stats.act_sizes[l], stats.seg_size,
                                  value_hist=None if value_hist is None else value_hist[l])
            for l in stats.layers}
