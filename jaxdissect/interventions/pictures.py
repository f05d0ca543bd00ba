"""Generated scenes before and after an intervention: the pictures of GAN Dissection's figures.

* :func:`removal_pictures`: the samples (of the given latents) that show the concept most,
  generated unedited, with the concept's units zeroed, and with as many random units zeroed;
  with each picture's concept pixel count from the segmenter.
* :func:`insertion_pictures`: for each asked context label, a few (sample, cell) pairs whose
  unedited output shows that label at the cell (:func:`~.insertion.location_contexts`), each
  generated before and after the concept's units are inserted at that one cell (the
  door-in-a-wall figure); with the new concept pixels of each.

Both run the generator on a few dozen latents; images are returned as uint8 (N, H, W, 3). The
report draws them (:mod:`jaxdissect.report.pictures`).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from jaxdissect.interventions.insertion import location_contexts
from jaxdissect.interventions.sweep import layer_width
from jaxdissect.models.base import Net
from jaxdissect.models.edits import ablate, insert


def _uint8(images) -> np.ndarray:
    """Generated float RGB in [-1, 1] -> uint8 (as the dissection's strips show them)."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _concept_pixels(segment, images, concept: int) -> np.ndarray:
    labels = np.asarray(segment(images))
    return (labels == concept).any(axis=1).sum(axis=(1, 2)).astype(np.int64)


def removal_pictures(net: Net, layer: str, concept_units: Sequence[int],
                     random_units: Sequence[int], z: np.ndarray, segment, concept: int,
                     count: int = 6) -> dict:
    """Rows ``original``, ``concept`` and ``random`` of uint8 images (count, H, W, 3) and
    ``pixels`` (the concept's pixel count in each); ``samples``: which rows of ``z`` (M, Z)
    were shown (those with the most concept pixels, ties to the first)."""
    z = jnp.asarray(z, jnp.float32)
    width = layer_width(net, layer, z.shape)[-1]
    original = net(z)[0]
    pixels = _concept_pixels(segment, original, concept)
    chosen = np.argsort(-pixels, kind="stable")[:count]
    picked = z[chosen]
    rows = {"original": original[chosen]}
    for name, units in (("concept", concept_units), ("random", random_units)):
        rows[name] = net(picked, edits={layer: ablate(list(units), width)})[0]
    return {"samples": chosen.tolist(),
            "images": {name: _uint8(images) for name, images in rows.items()},
            "pixels": {name: _concept_pixels(segment, images, concept).tolist()
                       for name, images in rows.items()}}


def insertion_pictures(net: Net, layer: str, units: Sequence[int], values, z: np.ndarray,
                       segment, concept: int, labels: Sequence[int], per_label: int = 3,
                       context_channel: int = 0) -> list[dict]:
    """For each context label in ``labels``: up to ``per_label`` pairs from different samples
    (of twice as many tried, those where the insertion drew the most pixels), as dicts
    ``label``, ``sample``, ``cell`` (i, j), ``grid`` (h, w), ``before`` and ``after`` uint8
    (H, W, 3) and ``new_pixels`` (concept pixels after and not before). ``values``: the
    values written (scalar or (U,)), as the insertion experiment writes them."""
    z = jnp.asarray(z, jnp.float32)
    h, w, width = layer_width(net, layer, z.shape)
    before = net(z)[0]
    seg_before = np.asarray(segment(before))
    contexts = location_contexts(seg_before[:, context_channel], (h, w))
    shown_before = (seg_before == concept).any(axis=1)
    out = []
    for label in labels:
        candidates = []
        for sample in range(len(contexts)):
            cells = np.argwhere(contexts[sample] == label)
            if len(cells) and len(candidates) < 2 * per_label:
                candidates.append((sample, tuple(int(v) for v in cells[len(cells) // 2])))
        pairs = []
        for sample, (i, j) in candidates:  # a cell inside the region, in different samples
            where = np.zeros((h, w), np.float32)
            where[i, j] = 1.0
            edit = insert(list(units), values, jnp.asarray(where), width)
            after = net(z[sample:sample + 1], edits={layer: edit})[0]
            shown_after = (np.asarray(segment(after)) == concept).any(axis=1)[0]
            pairs.append({"label": int(label), "sample": sample, "cell": (i, j), "grid": (h, w),
                          "before": _uint8(before[sample]), "after": _uint8(after[0]),
                          "new_pixels": int((shown_after & ~shown_before[sample]).sum())})
        # The clearest of twice as many candidates: where the insertion drew the most.
        pairs.sort(key=lambda p: -p["new_pixels"])
        out += pairs[:per_label]
    return out
