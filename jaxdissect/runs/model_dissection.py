"""Dissect a model end to end: model + data + concept labels -> layer results, strips, report.

``dissect_model(model, data, out)`` (what ``jaxdissect dissect`` calls):

1. checks everything before any compute: the model folder, the layer names, the data spec and
   that its images (or latents) fit the model, the segmenter and its vocabulary, the batch size
   against the devices;
2. opens the run folder keyed by the settings (:mod:`jaxdissect.runs.runkey`): finished
   layers of a run with the same settings are reused, other settings get another folder;
3. runs the one-pass driver (:func:`jaxdissect.dissection.driver.dissect`) on a jitted
   ``batch -> (acts, seg)``: uint8 images normalised on the device, or latents -> generated
   images; the segmentation from the data or from a segmenter in the same call, so the model
   and the segmenter see each image once;
   With ``checkpoint_every`` (what ``jaxdissect dissect`` does) the run is resumable: the
   driver keeps its checkpoints in ``<run folder>/.resume/`` (the activation cache goes to
   disk there), so the same call after a kill, Ctrl-C or preemption continues where it
   stopped and gives bit-identical results; the folder is removed when the run is done.
4. draws each unit's top-5 strip (:mod:`.strips`: one small extra forward over the top images)
   and writes the report (:func:`jaxdissect.report.build_report`).

Single process (the driver itself also runs on several hosts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxdissect import sharding
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.data.batching import batches
from jaxdissect.data.source import RowSource
from jaxdissect.dissection.driver import DEFAULT_MEMORY_BOUND, dissect, layer_folder
from jaxdissect.dissection.presets import DissectConfig, get_config
from jaxdissect.dissection.results import LayerResult
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.segment import Segmenter
from jaxdissect.outputs import check_writable, write_text
from jaxdissect.report.build import build_report
from jaxdissect.runs.data import open_probe_data, source_identity
from jaxdissect.runs.models import (
    StudiedModel,
    load_studied_model,
    rgb_and_acts,
    studied_net,
)
from jaxdissect.runs.runkey import RunIdentity, finished_layers, open_run_folder
from jaxdissect.runs.segmenters import check_colour_options, open_segmenter
from jaxdissect.runs.unit_images import render_strips, strip_layers

DEFAULT_BATCH_SIZE = 32
RESUME_FOLDER = ".resume"


@dataclass
class ModelDissection:
    """What :func:`dissect_model` made: the run ``folder``, the results by layer, the layers
    loaded from an earlier run with the same settings (``reused``), the report page."""

    folder: Path
    results: dict[str, LayerResult]
    reused: list[str]
    report: Path | None
    identity: RunIdentity
    seconds: float


def _record_skipped(source, folder: Path, say: Callable[[str], None]) -> None:
    """Name the rows the data source skipped (unreadable files) in the run's summary and in
    ``data_summary.json`` of the run folder."""
    summary = getattr(source, "summary", None)
    if summary is None or not summary.num_skipped:
        return
    write_text(folder / "data_summary.json", json.dumps(summary.as_dict(), indent=2))
    names = ", ".join(s.name for s in summary.skipped[:5])
    more = f" and {summary.num_skipped - 5} more" if summary.num_skipped > 5 else ""
    say(f"skipped {summary.num_skipped} unreadable row(s), masked out of every statistic: "
        f"{names}{more} (listed in {folder / 'data_summary.json'})")


def _batch_fn(model: StudiedModel, segmenter: Segmenter | None, layers: Sequence[str], params):
    layers = tuple(layers)

    def fn(batch):
        rgb, acts = rgb_and_acts(model, params, batch, layers)
        return acts, batch["seg"] if segmenter is None else segmenter(rgb)

    return fn


def _segmenter_setting(segmenter) -> str:
    """What ``run.json`` records as the segmenter asked for (its identity is in the key)."""
    if segmenter is None:
        return "data"
    if isinstance(segmenter, Segmenter):
        return str(segmenter.identity.get("name") or segmenter.identity.get("kind"))
    return str(segmenter)


def check_inputs(model: StudiedModel, source, spec: str) -> None:
    """The data must give what the model reads: images of its size, or latents of its size."""
    if model.kind == "classifier":
        size = model.image_size()
        field = source.fields.get("image")
        if field is None:
            raise ValueError(f"{spec} holds no images; a classifier is dissected on images "
                             "(folder:, tfds:, broden: or world: data)")
        if tuple(field.shape) != (size, size, 3):
            raise ValueError(f"{spec} gives {field.shape[0]}x{field.shape[1]} images but "
                             f"{model.name} reads {size}x{size}; use data of that size (or set "
                             "crop/resize)")
        return
    field = source.fields.get("z")
    if field is None:
        raise ValueError(f"{spec} holds no latents; a generator is dissected on latents:N")
    if tuple(field.shape) != (model.latent_dim,):
        raise ValueError(f"{spec} gives latents of size {field.shape[0]} but the generator "
                         f"takes {model.latent_dim}")


def checkpoint_interval(every: int | float | str, batch_size: int) -> tuple[int, float | None]:
    """``(batches, seconds)`` between checkpoints of pass 0 for ``every``: a number of images
    (rounded up to whole batches) or a duration ``"90s"``, ``"5m"``, ``"2h"`` (then
    ``batches`` is so large that time decides)."""
    text = str(every).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            seconds = float(text[:-1]) * units[text[-1]]
            if seconds > 0:
                return 2**62, seconds
        elif int(text) > 0:
            return -(-int(text) // batch_size), None
    except ValueError:
        pass
    raise ValueError(f"checkpoint interval {every!r}: give a number of images (e.g. 2000) or "
                     "a duration (e.g. 30s, 5m, 1h)")


def default_batch_size(rows: int, mesh) -> int:
    """32 (at most the data size), rounded up to a multiple of the device count."""
    shards = sharding.num_data_shards(mesh)
    wanted = min(DEFAULT_BATCH_SIZE, max(rows, 1))
    return -(-wanted // shards) * shards


@dataclass
class DissectionPlan:
    """Everything a dissection needs, checked: see :func:`plan_dissection`."""

    config: DissectConfig
    model: StudiedModel
    layers: list[str]
    source: RowSource
    segmenter: Segmenter | None  # None: the batches' own ``seg``
    vocabulary: ConceptVocabulary
    identity: RunIdentity
    mesh: jax.sharding.Mesh
    batch_size: int


def data_labels(model: StudiedModel, source: RowSource) -> tuple[ConceptVocabulary, dict]:
    """(vocabulary, identity) of the data's own segmentations, checked: generated images have
    none, and the source must have ``seg`` and name its concepts."""
    if model.kind == "generator":
        raise ValueError("generated images have no segmentations in the data; give a "
                         "segmenter: --segmenter world or a converted segmenter folder")
    if "seg" not in source.fields:
        raise ValueError(f"{source.description} has no segmentations; give a segmenter: "
                         "--segmenter world or a converted segmenter folder")
    vocabulary = getattr(source, "vocabulary", None)
    if vocabulary is None:
        raise ValueError(f"{source.description} does not name its concepts; give a segmenter")
    vocab = vocabulary()
    return vocab, {"kind": "data", "num_concepts": vocab.num_concepts}


def resolve_segmenter(segmenter, model: StudiedModel, colornet=None,
                      color_none_concept: bool = False) -> Segmenter | None:
    """``segmenter`` as a :class:`Segmenter`, or None for the data's own segmentations
    (``None`` or ``"data"``); a spec string is opened for the model's images
    (:func:`~jaxdissect.runs.segmenters.open_segmenter`)."""
    if segmenter is None or (isinstance(segmenter, str) and segmenter == "data"):
        check_colour_options("--segmenter data", colornet, color_none_concept)
        return None
    if isinstance(segmenter, (str, Path)):
        return open_segmenter(segmenter, image_size=model.image_size(), colornet=colornet,
                              color_none_concept=color_none_concept)
    if not isinstance(segmenter, Segmenter):
        raise TypeError(f"segmenter: give None (the data's own segmentations), a spec string "
                        f"or a jaxdissect.Segmenter, not {type(segmenter).__name__}")
    check_colour_options("a Segmenter given (it is used as it is)", colornet,
                         color_none_concept)
    return segmenter


def check_segmenter(segmenter: Segmenter, model: StudiedModel) -> None:
    """Trace the segmenter on the model's image shape (no compute): its output must be
    (N, K, h, w) integer labels."""
    side = model.image_size()
    jax.eval_shape(segmenter, jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32))


def plan_dissection(model, data, *, layers=None, preset="pnas2020", segmenter=None,
                    colornet=None, quantile=None, miniou=None, topk=None, batch_size=None,
                    devices=None, dtype="float32", limit=None, data_options=None,
                    color_none_concept=False) -> DissectionPlan:
    """Every check of :func:`dissect_model` that needs no compute; see its arguments."""
    config = get_config(preset, quantile=quantile, miniou=miniou, topk=topk)
    if isinstance(model, Net):
        model = studied_net(model)
    studied = model if isinstance(model, StudiedModel) else load_studied_model(model, dtype)
    layers = list(dict.fromkeys(layers or [studied.default_layer]))
    studied.check_layers(layers)
    mesh = sharding.make_mesh(devices)
    is_generator = studied.kind == "generator"
    source = open_probe_data(data, options=data_options, limit=limit,
                             image_size=None if is_generator else studied.image_size(),
                             latent_dim=studied.latent_dim if is_generator else None)
    check_inputs(studied, source, data)
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch size {batch_size}: must be positive")
    batch_size = batch_size or default_batch_size(len(source), mesh)
    sharding.check_batch_size(batch_size, mesh)
    segmenter = resolve_segmenter(segmenter, studied, colornet, color_none_concept)
    if segmenter is None:
        vocabulary, labels_identity = data_labels(studied, source)
    else:
        check_segmenter(segmenter, studied)
        vocabulary, labels_identity = segmenter.vocabulary, segmenter.identity
    identity = RunIdentity(config=config.to_dict(), model=studied.identity(),
                           data=source_identity(data, source, data_options),
                           segmenter=labels_identity)
    return DissectionPlan(config, studied, layers, source, segmenter, vocabulary, identity, mesh,
                          batch_size)


def dissect_model(
    model: str | Path | StudiedModel | Net,
    data: str,
    out: str | Path,
    *,
    layers: Sequence[str] | None = None,
    preset: str = "pnas2020",
    segmenter: str | Segmenter | None = None,
    colornet: str | None = None,
    color_none_concept: bool = False,
    quantile: float | None = None,
    miniou: float | None = None,
    topk: int | None = None,
    batch_size: int | None = None,
    devices: sharding.Devices = None,
    dtype: str = "float32",
    cache_dir: str | Path | None = None,
    memory_bound_bytes: int = DEFAULT_MEMORY_BOUND,
    limit: int | None = None,
    data_options: dict | None = None,
    progress: bool = True,
    force: bool = False,
    keyed: bool = True,
    report: bool = True,
    log: Callable[[str], None] | None = None,
    checkpoint_every: int | float | str | None = None,
) -> ModelDissection:
    """Dissect ``layers`` (default: the model's default layer) of ``model`` (a model folder,
    ``world:NAME``, ``python:MODULE:FUNCTION``, a ``Net`` such as :func:`jaxdissect.wrap`
    returns, or a :class:`StudiedModel`) on the probe data ``data`` (a spec, see
    :mod:`.data`) with concept labels from ``segmenter``: None (or ``"data"``: the data's own
    segmentations), a spec (``world`` or a converted segmenter folder, see
    :mod:`.segmenters`), or a :class:`~jaxdissect.models.segmenter.segment.Segmenter` (your
    own; its ``identity`` keys the results). ``color_none_concept`` (with ``colornet``) makes
    the colour model's "none" a concept, as the reference does.

    ``preset`` and the overrides ``quantile``, ``miniou``, ``topk`` make the
    :class:`~jaxdissect.dissection.presets.DissectConfig`; ``batch_size`` (default 32, a multiple
    of the devices), ``devices`` (count), ``dtype`` (``float32`` or ``bfloat16`` compute),
    ``cache_dir`` (where the activation cache spills beyond ``memory_bound_bytes``), ``limit``
    (first N rows of the data). Results go to ``out/<key>/`` (``keyed``, see
    :mod:`jaxdissect.runs.runkey`) or ``out`` itself; ``force`` recomputes finished layers;
    ``report=False`` skips the report pages (``ModelDissection.report`` is then None). ``log``
    receives one-line notes (reuse, a damaged result recomputed, strips, report, resuming).
    ``checkpoint_every``: make the run resumable, checkpointing pass 0 every N images (an int)
    or every so long (``"30s"``, ``"5m"``, ``"1h"``); see :func:`checkpoint_interval`.
    ``out/latest`` moves to the run folder only once everything is written.
    """
    say = log or (lambda text: None)
    start = time.perf_counter()
    if jax.process_count() > 1:
        raise ValueError("dissect_model runs in one process; on several hosts call "
                         "jaxdissect.dissection.driver.dissect from every process")
    check_writable(out)
    plan = plan_dissection(model, data, layers=layers, preset=preset, segmenter=segmenter,
                           colornet=colornet, quantile=quantile, miniou=miniou, topk=topk,
                           batch_size=batch_size, devices=devices, dtype=dtype, limit=limit,
                           data_options=data_options, color_none_concept=color_none_concept)
    run = open_run_folder(out, plan.identity, keyed=keyed, force=force)
    reused = [] if force else finished_layers(run, plan.layers)
    for layer in reused:
        say(f"{layer}: finished earlier in {run.path} with the same settings; not recomputed")
    params = sharding.replicate(plan.mesh, plan.model.net.params)
    fn = _batch_fn(plan.model, plan.segmenter, plan.layers, params)
    resumable = {}
    if checkpoint_every is not None:
        every, seconds = checkpoint_interval(checkpoint_every, plan.batch_size)
        resumable = dict(resume_dir=run.path / RESUME_FOLDER, checkpoint_every=every,
                         checkpoint_seconds=seconds, restart_stale=True)
    results = dissect(fn, batches(plan.source, plan.batch_size), plan.layers, plan.config,
                      vocabulary=plan.vocabulary, mesh=plan.mesh, cache_dir=cache_dir,
                      memory_bound_bytes=memory_bound_bytes, progress=progress,
                      out_dir=run.path, force=force, total_images=len(plan.source),
                      log=log, **resumable)
    folders = {l: layer_folder(run.path, l) for l in plan.layers}
    missing = strip_layers(results, folders, plan.layers)
    if missing:
        say(f"drawing unit strips for {', '.join(missing)}")
        render_strips(plan.model, plan.source, {l: results[l] for l in missing}, folders,
                      batch_size=plan.batch_size, mesh=plan.mesh)
    _record_skipped(plan.source, run.path, say)
    run.record(plan.layers, batch_size=plan.batch_size,
               devices=sharding.num_data_shards(plan.mesh), model=plan.model.location,
               segmenter=_segmenter_setting(segmenter), colornet=colornet)
    page = build_report(run.path) if report else None
    if keyed:
        run.mark_latest()
    return ModelDissection(run.path, results, reused, page, plan.identity,
                           time.perf_counter() - start)
