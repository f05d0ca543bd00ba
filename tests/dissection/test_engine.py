"""Tests for jaxdissect/dissection/engine.py: the passes over a source of cached batches."""

import dissect_oracle as oracle
import numpy as np
import pytest

from jaxdissect.dissection.engine import LayerStatistics, StepPlan, loops_per_image
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.progress import Progress
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


@pytest.mark.parametrize("kind, resolution", [
    ("cpu", "upsampled"), ("cpu", "layer"), ("accelerator", "upsampled"),
    ("accelerator", "layer"), ("tpu", "upsampled")])
def test_passes_over_a_source(kind, resolution):
    """Every plan (a loop over images and row blocks per device with scatter-adds, as on CPU;
    whole batches with matmul label counts, as on GPU; whole batches with no scatter, as on
    TPU) matches the oracle, with thresholds over the upsampled maps or over the raw maps at
    the layer's resolution."""
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 6, size=(11, 2, 2, 3)).astype(np.float32) / 2
    acts[:, :, :, 2] = 1.5  # a constant unit: all its images tie for the top
    segs = rng.integers(0, 4, size=(11, 1, 4, 4)).astype(np.int32)
    config = get_config(quantile=0.1, topk=2, upsample="bilinear",
                        threshold_resolution=resolution)
    stats = LayerStatistics(config, {"l": (2, 2, 3)}, (4, 4), make_mesh(8), Progress(False),
                            kind=kind)
    assert stats.plan.kind == kind and stats.plan.per_image == (kind == "cpu")
    source, calls = source_of(acts, segs, 8)
    stats.first_pass(source, None)
    thresholds = stats.quantile_passes(source, None)
    assert len(calls) <= stats.quantile["l"].num_passes  # pass 0 + the remaining radix passes
    values = 3 * (16 if resolution == "upsampled" else 4)  # per image, all of them in pass 0
    histogrammed = stats.histogrammed["l"]
    assert len(histogrammed) == 3 and histogrammed[0] == values
    assert max(histogrammed[1:]) < values
    assert stats.host_to_device["threshold pass 1"] == 2 * 2 * 3 * 4 + 1  # float32 maps, mask
    up = oracle.upsample(acts, (4, 4), "bilinear")
    np.testing.assert_array_equal(thresholds["l"],
                                  oracle.thresholds(up if resolution == "upsampled" else acts, 0.1))
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


def test_the_two_ways_give_the_same_bits_on_a_wide_layer():
    """A layer big enough for several row blocks per image (2**19 values), several label
    channels with repeated labels, two chunks of label slots (over 64 labels in an image)."""
    rng = np.random.default_rng(1)
    acts = rng.gamma(1.0, size=(6, 5, 5, 1400)).astype(np.float32)
    segs = rng.integers(0, 150, size=(6, 3, 20, 20)).astype(np.int32)
    segs[:, 1] = np.where(rng.random((6, 20, 20)) < 0.5, segs[:, 0], segs[:, 1])
    config = get_config(topk=3)
    results = []
    for kind in ("cpu", "accelerator"):
        stats = LayerStatistics(config, {"l": (5, 5, 1400)}, (20, 20), make_mesh(2),
                                Progress(False), kind=kind)
        assert stats.plan.block_rows("l") == 10
        source, _ = source_of(acts, segs, 4)
        stats.first_pass(source, None)
        thresholds = stats.quantile_passes(source, None)
        results.append((thresholds["l"], stats.count(source, thresholds, 150, None, None)["l"]))
    (t_loop, c_loop), (t_batch, c_batch) = results
    np.testing.assert_array_equal(t_loop, t_batch)
    for key in ("inter", "unit_area", "concept_area"):
        np.testing.assert_array_equal(getattr(c_loop, key), getattr(c_batch, key))
    up = oracle.upsample(acts, (20, 20), "pnas2020")
    inter, unit_area, _, _ = oracle.counts(up, t_loop, segs, 150)
    # The oracle upsamples in float64: its value of the pixel at a unit's threshold may be an
    # ulp above ours, so a pixel or two per unit may fall the other way (3 channels each).
    assert np.abs(c_loop.unit_area - unit_area).max() <= 2
    assert np.abs(c_loop.inter - inter).sum(axis=1).max() <= 6


def test_the_platform_chooses_the_loop():
    mesh = make_mesh(2)
    assert loops_per_image(mesh)  # CPU
    assert StepPlan(("l",), (3,), (4, 4), get_config(), mesh).kind == "cpu"
    assert not StepPlan(("l",), (3,), (4, 4), get_config(), mesh, kind="tpu").per_image
    with pytest.raises(ValueError, match="plan kind"):
        StepPlan(("l",), (3,), (4, 4), get_config(), mesh, kind="gpu")
