"""Unit strips of a finished dissection: each unit's top images with its mask drawn over them.

The top images (by the spatial max of the raw activation, kept by the driver as dataset indices)
are read back from the probe source by index: images for classifiers, latents ``z`` for
generators, whose images are generated again. Their activations come from **one extra small
forward pass over only those images** (per layer and chunk of ``UNIT_CHUNK`` units, the
distinct top images of those units, in padded batches sharded like the dissection), not from
the driver's activation cache, which is freed as soon as the statistics are final. So strips
can be redrawn at any time from a saved result. Each unit gets a strip of its top 5 images (the
layer page's cards) and a gallery of its top 20 (its unit page). Memory: at most ``UNIT_CHUNK x
20`` images and their maps of the chunk's units at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import numpy as np

from jaxdissect import sharding
from jaxdissect.data.source import RowSource
from jaxdissect.dissection.results import LayerResult
from jaxdissect.report.layers import STRIP_DIR
from jaxdissect.report.strips import render_unit_galleries, render_unit_strips
from jaxdissect.runs.models import StudiedModel, rgb_and_acts, to_uint8

STRIP_IMAGES = 5
GALLERY_IMAGES = 20
UNIT_CHUNK = 64
GALLERY_HEIGHT = 128  # px: larger images reduced to it; the unit page enlarges small ones


def _forward(model: StudiedModel, layers: tuple[str, ...]):
    def run(params, batch):
        rgb, acts = rgb_and_acts(model, params, batch, layers)
        return to_uint8(rgb), acts

    return jax.jit(run)


def top_image_maps(model: StudiedModel, source: RowSource, layer: str, tops: np.ndarray,
                   units: np.ndarray, batch_size: int, mesh) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (u, n, H, W, 3), maps float32 (u, n, h, w)) of ``units`` of ``layer`` on
    their top images ``tops`` (u, n) (dataset indices): one forward over the distinct ones."""
    wanted = np.unique(tops.ravel())
    forward = _forward(model, (layer,))
    params = sharding.replicate(mesh, model.net.params)
    pictures, acts = [], []
    for start in range(0, len(wanted), batch_size):
        rows = wanted[start:start + batch_size]
        arrays, _ = source.read_batch(rows.tolist())
        # Zero rows fill the last batch; no mask is needed, since their results are dropped.
        inputs = {k: sharding.pad_zeros(v, batch_size) for k, v in arrays.items()
                  if k in ("image", "z")}
        batch = sharding.shard_batch(mesh, inputs)
        images, maps = sharding.to_host(forward(params, batch))
        pictures.append(images[:len(rows)])
        acts.append(np.asarray(maps[layer][:len(rows)][..., units], np.float32))
    position = {int(index): p for p, index in enumerate(wanted)}
    where = np.vectorize(position.__getitem__)(tops)  # (u, n) rows of `wanted`
    layer_acts = np.concatenate(acts)  # (len(wanted), h, w, u)
    columns = np.arange(len(units))[:, None]
    return np.concatenate(pictures)[where], layer_acts[where, :, :, columns]


def render_strips(model: StudiedModel, source: RowSource, results: Mapping[str, LayerResult],
                  folders: Mapping[str, Path], *, batch_size: int, mesh,
                  count: int = STRIP_IMAGES, gallery: int = GALLERY_IMAGES,
                  thumb_height: int | None = None) -> dict[str, int]:
    """Write ``<folder>/image/unit<u>.jpg`` (the card strip of ``count`` images) and the unit
    page's gallery of ``gallery`` images (``unit<u>_top.jpg`` and ``unit<u>_outline.png``) for
    every unit of every layer in ``results``; returns layer -> strips written.
    ``thumb_height`` (strips) defaults to the image height, at most 100 px.

    Units go ``UNIT_CHUNK`` at a time (one forward over their distinct top images each), so
    memory stays bounded for wide layers: at most ``UNIT_CHUNK x gallery`` images at once."""
    written = {}
    for layer, result in results.items():
        shown = int((result.topk_indices[:, :max(count, gallery)] >= 0).sum(axis=1).min())
        if shown == 0:
            raise ValueError("a unit has no top images: the data set is empty")
        out = Path(folders[layer]) / STRIP_DIR
        for start in range(0, result.num_units, UNIT_CHUNK):
            units = np.arange(start, min(start + UNIT_CHUNK, result.num_units))
            images, maps = top_image_maps(model, source, layer,
                                          result.topk_indices[units, :shown], units,
                                          batch_size, mesh)
            height = thumb_height or min(100, max(64, images.shape[2]))
            mode, thresholds = result.config.upsample, result.thresholds[units]
            render_unit_strips(images, maps, thresholds, out, units=units, count=count,
                               thumb_height=height, mode=mode)
            render_unit_galleries(images, maps, thresholds, out, units=units, count=gallery,
                                  thumb_height=min(GALLERY_HEIGHT, images.shape[2]), mode=mode)
        written[layer] = result.num_units
    return written


def strip_layers(results: Mapping[str, LayerResult], folders: Mapping[str, Path],
                 layers: Sequence[str]) -> list[str]:
    """Those of ``layers`` whose folder lacks a strip for some unit."""
    missing = []
    for layer in layers:
        folder = Path(folders[layer]) / STRIP_DIR
        units = results[layer].num_units
        if not all((folder / f"unit{u}.jpg").is_file() and (folder / f"unit{u}_top.jpg").is_file()
                   for u in range(units)):
            missing.append(layer)
    return missing
