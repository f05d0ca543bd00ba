"""Tests for jaxdissect/dissect/engine.py: the passes over a source of cached batches."""

import dissect_oracle as oracle
import numpy as np

from jaxdissect.dissect.engine import LayerStatistics
from jaxdissect.dissect.presets import get_config
from jaxdissect.dissect.progress import Progress
from jaxdissect.sharding import make_mesh


def source_of(acts, segs, size):
    """A replayable source of padded batches, counting how often it is replayed."""
    calls = []

    def source():
        calls.append(1)
        for start in range(0, len(acts), size):
            pad = size - len(acts[start:start + size])
            yield {
                "acts": {"l": np.pad(acts[start:start + size], ((0, pad), (0, 0), (0, 0), (0, 0)))},
                "seg": np.pad(segs[start:start + size], ((0, pad), (0, 0), (0, 0), (0, 0))),
                "mask": np.arange(size) < size - pad,
                "index": np.arange(start, start + size, dtype=np.int32),
            }

    return source, calls


def test_passes_over_a_source():
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 6, size=(11, 2, 2, 3)).astype(np.float32) / 2
    acts[:, :, :, 2] = 1.5  # a constant unit: all its images tie for the top
    segs = rng.integers(0, 4, size=(11, 1, 4, 4)).astype(np.int32)
    config = get_config(quantile=0.1, topk=2, upsample="bilinear")
    stats = LayerStatistics(config, {"l": (2, 2, 3)}, (4, 4), make_mesh(8), Progress(False))
    source, calls = source_of(acts, segs, 8)
    stats.first_pass(source, None)
    thresholds = stats.quantile_passes(source, None)
    assert len(calls) <= stats.quantile["l"].num_passes  # pass 0 + the remaining radix passes
    up = oracle.upsample(acts, (4, 4), "bilinear")
    np.testing.assert_array_equal(thresholds["l"], oracle.thresholds(up, 0.1))
    counts = stats.count(source, thresholds, 4, None, None)["l"]
    inter, unit_area, concept_area, _ = oracle.counts(up, thresholds["l"], segs, 4)
    np.testing.assert_array_equal(counts.inter, inter)
    np.testing.assert_array_equal(counts.unit_area, unit_area)
    np.testing.assert_array_equal(counts.concept_area, concept_area)
    assert stats.num_images == 11 and counts.num_images == 11
    values, indices = stats.top_images()["l"]
    expected_values, expected_indices = oracle.top_images(acts, 2)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(indices[2], [0, 1])  # ties: smaller index first
