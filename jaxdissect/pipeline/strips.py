"""Unit strips of a finished dissection: each unit's top images with its mask drawn over them.

The top images (by the spatial max of the raw activation, kept by the driver as dataset indices)
are read back from the probe source by index: images for classifiers, latents ``z`` for
generators, whose images are generated again. Their activations come from **one extra small
forward pass over only those images** (the distinct top images of every unit of every layer,
in padded batches sharded like the dissection), not from the driver's activation cache, which
is freed as soon as the statistics are final. So strips can be redrawn at any time from a saved
result. Memory: the distinct images (at most ``units x count`` per layer) and one (U, count, h,
w) float32 array per layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import numpy as np

from jaxdissect import sharding
from jaxdissect.data.source import RowSource
from jaxdissect.dissection.results import LayerResult
from jaxdissect.pipeline.models import StudiedModel, rgb_and_acts, to_uint8
from jaxdissect.report.layers import STRIP_DIR
from jaxdissect.report.strips import render_unit_strips

STRIP_IMAGES = 5


def _forward(model: StudiedModel, layers: tuple[str, ...]):
    def run(params, batch):
        rgb, acts = rgb_and_acts(model, params, batch, layers)
        return to_uint8(rgb), acts

    return jax.jit(run)


def _padded(arrays: dict, rows: int) -> dict:
    return {k: np.concatenate([v, np.zeros((rows - len(v), *v.shape[1:]), v.dtype)])
            for k, v in arrays.items()}


def top_image_maps(model: StudiedModel, source: RowSource, results: Mapping[str, LayerResult],
                   count: int, batch_size: int, mesh) -> tuple[dict, dict]:
    """(images, maps): ``images[layer]`` uint8 (U, n, H, W, 3) and ``maps[layer]`` float32
    (U, n, h, w) of each unit's first ``n <= count`` top images (n: the fewest filled)."""
    layers = tuple(results)
    tops = {l: r.topk_indices[:, :count] for l, r in results.items()}
    shown = min(int((t >= 0).sum(axis=1).min()) for t in tops.values())
    if shown == 0:
        raise ValueError("a unit has no top images: the data set is empty")
    tops = {l: t[:, :shown] for l, t in tops.items()}
    wanted = np.unique(np.concatenate([t.ravel() for t in tops.values()]))
    forward = _forward(model, layers)
    params = sharding.replicate(mesh, model.net.params)
    pictures, acts = [], {l: [] for l in layers}
    for start in range(0, len(wanted), batch_size):
        rows = wanted[start:start + batch_size]
        arrays, _ = source.read_batch(rows.tolist())
        inputs = {k: v for k, v in arrays.items() if k in ("image", "z")}
        batch = sharding.shard_batch(mesh, _padded(inputs, batch_size))
        images, maps = sharding.to_host(forward(params, batch))
        pictures.append(images[:len(rows)])
        for l in layers:
            acts[l].append(np.asarray(maps[l][:len(rows)], np.float32))
    pictures = np.concatenate(pictures)
    position = {int(index): p for p, index in enumerate(wanted)}
    images, unit_maps = {}, {}
    for l, top in tops.items():
        where = np.vectorize(position.__getitem__)(top)  # (U, n) rows of `wanted`
        layer_acts = np.concatenate(acts[l])  # (len(wanted), h, w, U)
        units = np.arange(top.shape[0])[:, None]
        images[l] = pictures[where]
        unit_maps[l] = layer_acts[where, :, :, units]  # (U, n, h, w): unit u's own map
    return images, unit_maps


def render_strips(model: StudiedModel, source: RowSource, results: Mapping[str, LayerResult],
                  folders: Mapping[str, Path], *, batch_size: int, mesh,
                  count: int = STRIP_IMAGES, thumb_height: int | None = None) -> dict[str, int]:
    """Write ``<folder>/image/unit<u>.jpg`` for every unit of every layer in ``results``;
    returns layer -> strips written. ``thumb_height`` defaults to the image height, at most
    100 px."""
    if not results:
        return {}
    images, maps = top_image_maps(model, source, results, count, batch_size, mesh)
    written = {}
    for layer, result in results.items():
        height = thumb_height or min(100, max(64, images[layer].shape[2]))
        paths = render_unit_strips(images[layer], maps[layer], result.thresholds,
                                   Path(folders[layer]) / STRIP_DIR, count=count,
                                   thumb_height=height, mode=result.config.upsample)
        written[layer] = len(paths)
    return written


def strip_layers(results: Mapping[str, LayerResult], folders: Mapping[str, Path],
                 layers: Sequence[str]) -> list[str]:
    """Those of ``layers`` whose folder lacks a strip for some unit."""
    missing = []
    for layer in layers:
        folder = Path(folders[layer]) / STRIP_DIR
        units = results[layer].num_units
        if not all((folder / f"unit{u}.jpg").is_file() for u in range(units)):
            missing.append(layer)
    return missing
