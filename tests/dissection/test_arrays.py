"""Tests for jaxdissect/runs/arrays.py: against the brute-force oracle, every bad input."""

import json

import dissect_oracle as oracle
import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.presets import get_config
from jaxdissect.runs.arrays import dissect_arrays


def random_case(rng, n, units, small, scale, k=2, concepts=7):
    """Dyadic activations (exact under any summation order) with ties, a zero unit and
    negatives; multi-label segmentations where a concept may repeat across channels."""
    acts = rng.integers(-8, 40, size=(n, *small, units)).astype(np.float32) / 4
    acts[..., 0] = 0.0  # an all-zero unit
    acts[: n // 2, :, :, -1] = 2.5  # many ties
    big = (small[0] * scale, small[1] * scale)
    segs = rng.integers(0, concepts, size=(n, k, *big)).astype(np.int32)
    segs[:, 1][rng.random((n, *big)) < 0.3] = 0
    segs[:, 1, :, : big[1] // 2] = segs[:, 0, :, : big[1] // 2]  # same concept in two channels
    return acts, segs


check_against_oracle = oracle.assert_matches


@pytest.mark.parametrize("seed,resolution", [
    (1, "upsampled"), (2, "upsampled"), pytest.param(2, "layer", marks=pytest.mark.slow),
    pytest.param(1, "layer", marks=pytest.mark.slow),
    pytest.param(3, "upsampled", marks=pytest.mark.slow),
    pytest.param(3, "layer", marks=pytest.mark.slow)])
def test_matches_the_oracle_on_random_cases(seed, resolution):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(9, 23))
    units = int(rng.integers(3, 7))
    small = (int(rng.integers(2, 5)), int(rng.integers(2, 5)))
    scale = int(rng.choice([1, 2, 4]))
    mode = ["pnas2020", "bilinear"][seed % 2]
    q = float(rng.choice([0.013, 0.05, 0.21]))
    acts, segs = random_case(rng, n, units, small, scale)
    config = get_config(quantile=q, upsample=mode, topk=5, threshold_resolution=resolution)
    expected = oracle.dissection(acts, segs, 7, q=q, mode=mode, k=5, resolution=resolution)
    nchw = np.ascontiguousarray(acts.transpose(0, 3, 1, 2))
    one = dissect_arrays(nchw, segs, config=config, batch_size=5, devices=1, progress=False,
                         concepts=ConceptVocabulary.numbered(7))
    check_against_oracle(one, expected)
    eight = dissect_arrays(acts, segs, config=config, batch_size=16, devices=8, progress=False,
                           channels_last=True, concepts=ConceptVocabulary.numbered(7))
    check_against_oracle(eight, expected)


def test_2017_presets_threshold_the_raw_maps(preset="netdissect_lite"):
    """One unit, one image, a single peak of 4 on a 2x2 map, top 25%: over the 4 raw values the
    threshold is the peak itself, so no upsampled pixel is above it (the 2017 rule); over the
    64 upsampled values it is lower and some pixels are on (the PNAS 2020 rule)."""
    acts = np.zeros((1, 2, 2, 1), np.float32)
    acts[0, 1, 1, 0] = 4.0
    segs = np.ones((1, 1, 8, 8), np.int32)
    kw = dict(channels_last=True, devices=1, progress=False)
    layer = dissect_arrays(acts, segs, config=get_config(preset, quantile=0.25), **kw)
    assert layer.config.threshold_resolution == "layer"
    assert layer.thresholds[0] == 4.0 and layer.counts.unit_area[0] == 0
    upsampled = dissect_arrays(acts, segs, config=get_config(
        preset, quantile=0.25, threshold_resolution="upsampled"), **kw)
    up = oracle.upsample(acts, (8, 8), layer.config.upsample)
    assert upsampled.thresholds[0] == oracle.thresholds(up, 0.25)[0] < 4.0
    assert upsampled.counts.unit_area[0] == np.sum(up > upsampled.thresholds[0]) > 0


def test_non_integer_scale_float16_and_single_channel_segs(rng):
    acts = rng.normal(size=(11, 3, 5, 4)).astype(np.float16)
    acts[:, 1] = 0
    segs = rng.integers(0, 5, size=(11, 7, 9)).astype(np.uint8)
    config = get_config(quantile=0.03, topk=3)
    result = dissect_arrays(acts, segs, config=config, batch_size=8, progress=False)
    nhwc = acts.transpose(0, 2, 3, 1)
    # the oracle thresholds and counts this run's own resampled values, and checks the
    # resampling itself to float32 rounding
    import jax.numpy as jnp

    from jaxdissect.dissection.upsample import upsample

    up = np.asarray(upsample(jnp.asarray(nhwc), (7, 9)))
    np.testing.assert_allclose(up, oracle.upsample(nhwc, (7, 9), "pnas2020"), rtol=1e-5,
                               atol=1e-6)
    expected = oracle.dissection(nhwc, segs[:, None].astype(np.int32), 5, q=0.03, k=3, up=up)
    check_against_oracle(result, expected)
    assert result.vocabulary.num_concepts == int(segs.max()) + 1


def test_per_category_rule_counts_only_images_with_the_category(rng):
    acts, segs = random_case(rng, 10, 3, (3, 3), 2, concepts=5)
    segs[:4] = np.where(np.isin(segs[:4], [3, 4]), 0, segs[:4])  # images without "part" labels
    vocab = ConceptVocabulary.from_names(["a", "b", "p1", "p2"], ["object", "object", "part",
                                                                  "part"])
    config = get_config("netdissect2017", quantile=0.1)
    result = dissect_arrays(acts, segs, channels_last=True, config=config, concepts=vocab,
                            batch_size=8, progress=False)
    up = oracle.upsample(acts, segs.shape[-2:], "pnas2020")
    thr = oracle.thresholds(acts, 0.1)  # the 2017 rule: over the raw maps
    np.testing.assert_array_equal(result.thresholds, thr)
    inter, _, concept_area, by_cat = oracle.counts(up, thr, segs, 5, vocab.category_of)
    np.testing.assert_array_equal(result.counts.unit_area_by_category, by_cat)
    expected = oracle.iou(inter, by_cat[:, vocab.category_of], concept_area)
    np.testing.assert_array_equal(result.iou, expected)


def test_writes_the_files(tmp_path, rng):
    acts, segs = random_case(rng, 9, 4, (2, 3), 2)
    out = tmp_path / "out"
    result = dissect_arrays(acts, segs, out, channels_last=True, batch_size=8, progress=False)
    report = json.loads((out / "report.json").read_text())
    assert report["preset"] == "pnas2020" and report["quantile"] == 0.01
    assert report["miniou"] == 0.04 and len(report["units"]) == 4
    unit = report["units"][2]
    assert set(unit) >= {"unit", "label", "concept", "category", "iou", "threshold"}
    assert unit["threshold"] == float(result.thresholds[2])
    np.testing.assert_array_equal(np.load(out / "iou.npy"), result.iou)
    assert np.load(out / "iou.npy").dtype == np.float32
    np.testing.assert_array_equal(np.load(out / "thresholds.npy"), result.thresholds)
    assert len((out / "units.csv").read_text().splitlines()) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def write_pair(tmp_path, acts, segs):
    np.save(tmp_path / "acts.npy", acts)
    np.save(tmp_path / "segs.npy", segs)
    return tmp_path / "acts.npy", tmp_path / "segs.npy"


GOOD_ACTS = np.ones((4, 2, 3, 3), np.float32)
GOOD_SEGS = np.ones((4, 6, 6), np.int32)


@pytest.mark.parametrize(
    "acts,segs,message",
    [
        (GOOD_ACTS[:3], GOOD_SEGS, "ACTS has 3 images but SEGS has 4"),
        (GOOD_ACTS[0], GOOD_SEGS, "expected rank 4"),
        (GOOD_ACTS, GOOD_SEGS[:, :, 0], "expected \\(N, K, H, W\\) or \\(N, H, W\\)"),
        (GOOD_ACTS, GOOD_SEGS.astype(np.float32), "expected integer concept labels"),
        (GOOD_ACTS, GOOD_SEGS * -1, "negative label \\(-1\\) at image 0"),
        (GOOD_ACTS.astype(np.int32), GOOD_SEGS, "expected float16 or float32"),
        (np.where(np.arange(4)[:, None, None, None] == 2, np.nan, GOOD_ACTS), GOOD_SEGS,
         "NaN or inf values at image 2"),
        (np.where(np.arange(4)[:, None, None, None] == 3, np.inf, GOOD_ACTS).astype(np.float16),
         GOOD_SEGS, "NaN or inf values at image 3"),
    ],
)
def test_bad_arrays(tmp_path, acts, segs, message):
    acts_path, segs_path = write_pair(tmp_path, acts, segs)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        dissect_arrays(acts_path, segs_path, out, batch_size=8, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acts.npy", "segs.npy"]


def test_bad_files_and_folders(tmp_path):
    acts_path, segs_path = write_pair(tmp_path, GOOD_ACTS, GOOD_SEGS)
    with pytest.raises(FileNotFoundError, match="ACTS file .*missing.npy not found"):
        dissect_arrays(tmp_path / "missing.npy", segs_path, tmp_path / "o")
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="SEGS file .*text.npy is not a readable .npy"):
        dissect_arrays(acts_path, tmp_path / "text.npy", tmp_path / "o")
    labels = tmp_path / "labels.csv"
    labels.write_text("number,name,category\n1,a,object\n")
    segs2 = tmp_path / "segs2.npy"
    np.save(segs2, GOOD_SEGS * 2)
    with pytest.raises(ValueError, match="label 2 .* beyond the 2 concepts of the concept file"):
        dissect_arrays(acts_path, segs2, tmp_path / "o", concepts=labels, batch_size=8,
                       progress=False)
    assert not (tmp_path / "o").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty; pass --force"):
        dissect_arrays(acts_path, segs_path, busy)
    dissect_arrays(acts_path, segs_path, busy, force=True, batch_size=8, progress=False)
    assert not (busy / "keep.txt").exists() and (busy / "report.json").exists()
    with pytest.raises(ValueError, match="not a multiple of the 8 devices"):
        dissect_arrays(acts_path, segs_path, batch_size=3, progress=False)
