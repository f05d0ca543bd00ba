"""A brute-force numpy dissection for the tests: sort-based thresholds and per-pixel loops.

Written independently of the package: its own resampling formula (float64), order statistics by
sorting (no np.quantile), intersection counts by looping over pixels and the labels present.
"""

from __future__ import annotations

import math

import numpy as np


def resampling_matrix(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """float64 (n_out, n_in) from the per-pixel definitions (upsampling for "bilinear")."""
    matrix = np.zeros((n_out, n_in))
    for t in range(n_out):
        if mode == "pnas2020":
            scale = n_out / n_in
            s = (t - (0.5 * scale - 0.5)) / scale
        else:
            s = min(max((t + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        left = math.floor(s)
        for tap, weight in ((left, 1 - (s - left)), (left + 1, s - left)):
            if 0 <= tap < n_in:
                matrix[t, tap] += weight
    return matrix


def upsample(acts: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
    """(N, h, w, U) -> float32 (N, H, W, U), computed in float64."""
    rows = resampling_matrix(acts.shape[1], size[0], mode)
    cols = resampling_matrix(acts.shape[2], size[1], mode)
    up = np.einsum("Hh,Ww,nhwu->nHWu", rows, cols, acts.astype(np.float64))
    return up.astype(np.float32)


def thresholds(maps: np.ndarray, q: float) -> np.ndarray:
    """The k-th largest value per unit over every location of (N, ..., U) maps (upsampled, or
    raw at the layer's resolution), k = max(1, ceil(q * n))."""
    values = maps.reshape(-1, maps.shape[-1])
    k = max(1, math.ceil(q * len(values)))
    return np.array([np.sort(values[:, u])[::-1][k - 1] for u in range(values.shape[1])],
                    np.float32)


def counts(up, thr, segs, num_concepts, category_of=None):
    """Pixel-loop counts: inter (U, C), unit_area (U,), concept_area (C,), by-category area."""
    n, k, height, width = segs.shape
    units = up.shape[-1]
    inter = np.zeros((units, num_concepts), np.int64)
    unit_area = np.zeros(units, np.int64)
    concept_area = np.zeros(num_concepts, np.int64)
    ncat = 0 if category_of is None else int(np.max(category_of)) + 1
    by_category = np.zeros((units, ncat), np.int64)
    for i in range(n):
        image_on = np.zeros(units, np.int64)
        for y in range(height):
            for x in range(width):
                on = (up[i, y, x] > thr).astype(np.int64)
                image_on += on
                for c in set(segs[i, :, y, x].tolist()) - {0}:
                    concept_area[c] += 1
                    inter[:, c] += on
        unit_area += image_on
        if category_of is not None:
            for cat in {int(category_of[c]) for c in set(segs[i].ravel().tolist()) - {0}}:
                by_category[:, cat] += image_on
    return inter, unit_area, concept_area, by_category


def iou(inter, unit_area, concept_area):
    """unit_area (U,) pooled, or (U, C) per concept (the per-category rule)."""
    area = unit_area if unit_area.ndim == 2 else unit_area[:, None]
    union = area + concept_area[None, :] - inter
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=union > 0)
    return out.astype(np.float32)


def top_images(acts: np.ndarray, k: int):
    """Spatial max of the raw maps, best first, ties by smaller index; -inf / -1 padding."""
    scores = acts.astype(np.float32).max(axis=(1, 2))
    n, units = scores.shape
    values = np.full((units, k), -np.inf, np.float32)
    indices = np.full((units, k), -1, np.int64)
    for u in range(units):
        order = sorted(range(n), key=lambda i: (-scores[i, u], i))[:k]
        values[u, : len(order)] = scores[order, u]
        indices[u, : len(order)] = order
    return values, indices


def dissection(acts, segs, num_concepts, q=0.01, mode="pnas2020", k=5, up=None,
               resolution="upsampled"):
    """Everything for one layer; ``up`` replaces the oracle's own resampling when given.
    ``resolution="layer"`` takes the thresholds over the raw maps (the 2017 rule); the
    upsampled maps are compared with them either way."""
    up = upsample(acts, segs.shape[-2:], mode) if up is None else up
    thr = thresholds(up if resolution == "upsampled" else acts.astype(np.float32), q)
    inter, unit_area, concept_area, _ = counts(up, thr, segs, num_concepts)
    values, indices = top_images(acts, k)
    return {
        "thresholds": thr, "inter": inter, "unit_area": unit_area,
        "concept_area": concept_area, "iou": iou(inter, unit_area, concept_area),
        "topk_values": values, "topk_indices": indices,
    }


def assert_matches(result, expected) -> None:
    """A :class:`~jaxdissect.dissection.results.LayerResult` equals :func:`dissection`'s
    arrays exactly, and each unit's label is its best concept."""
    np.testing.assert_array_equal(result.thresholds, expected["thresholds"])
    for key in ("inter", "unit_area", "concept_area"):
        np.testing.assert_array_equal(getattr(result.counts, key), expected[key])
    np.testing.assert_array_equal(result.iou, expected["iou"])
    np.testing.assert_array_equal(result.topk_values, expected["topk_values"])
    np.testing.assert_array_equal(result.topk_indices, expected["topk_indices"])
    best = np.argmax(expected["iou"][:, 1:], axis=1) + 1
    np.testing.assert_array_equal(result.labels.concept, best)
