"""Tests for jaxdissect/dissection/driver.py with small Flax models and synthetic segmentations."""

import dataclasses

import dissect_oracle as oracle
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.driver import dissect, layer_folder
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.results import load_result
from jaxdissect.sharding import make_mesh

LAYERS = ("conv1", "conv2")


class TwoConvs(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(4, (3, 3), strides=2, name="conv1")(x))
        b = nn.relu(nn.Conv(5, (3, 3), strides=2, name="conv2")(a))
        return {"conv1": a, "conv2": b}


def random_params(seed, dyadic=False):
    """Conv weights drawn in numpy (cheaper than compiling an initialiser). Dyadic weights are
    multiples of 1/8: with dyadic images every sum is then exact in float32."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in (("conv1", (3, 3, 3, 4)), ("conv2", (3, 3, 4, 5))):
        kernel = rng.normal(scale=0.5, size=shape)
        bias = rng.normal(scale=0.1, size=shape[-1])
        if dyadic:
            kernel, bias = np.round(kernel * 8) / 8, np.round(bias * 8) / 8
        params[name] = {"kernel": kernel.astype(np.float32), "bias": bias.astype(np.float32)}
    return {"params": params}


def make_data(seed, n=19, concepts=6):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 8, size=(n, 16, 16, 3)).astype(np.float32) / 4
    segs = rng.integers(0, concepts, size=(n, 2, 16, 16)).astype(np.int32)
    segs[:, 1, :8] = segs[:, 0, :8]  # a concept in two channels of the same pixel
    return images, segs


def batches(images, segs, size):
    n = len(images)
    for start in range(0, n, size):
        stop = min(start + size, n)
        pad = size - (stop - start)
        yield {
            "image": np.concatenate([images[start:stop], np.zeros((pad, *images.shape[1:]))]),
            "seg": np.concatenate([segs[start:stop], np.zeros((pad, *segs.shape[1:]), np.int32)]),
            "index": np.arange(start, start + size, dtype=np.int64),
            "mask": np.arange(size) < stop - start,
        }


def model_fn(params):
    model = TwoConvs()
    return jax.jit(lambda batch: (model.apply(params, batch["image"]), batch["seg"]))


CONFIG = get_config(quantile=0.07, topk=4)


@pytest.fixture(scope="module")
def dyadic_fn():
    """One jitted model for the whole module, so that compiled steps are reused."""
    params = random_params(0, dyadic=True)
    return params, model_fn(params)


def run(fn, images, segs, size, devices, **kw):
    kw.setdefault("config", CONFIG)
    kw.setdefault("num_concepts", 6)
    kw.setdefault("progress", False)
    return dissect(fn, batches(images, segs, size), LAYERS, mesh=make_mesh(devices), **kw)


def assert_results_equal(a, b):
    for layer in a:
        x, y = a[layer], b[layer]
        for name in ("thresholds", "iou", "topk_values", "topk_indices"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
        np.testing.assert_array_equal(x.counts.inter, y.counts.inter)
        np.testing.assert_array_equal(x.counts.unit_area, y.counts.unit_area)
        np.testing.assert_array_equal(x.labels.concept, y.labels.concept)
        assert x.num_images == y.num_images


def test_matches_the_oracle_on_1_and_8_devices(dyadic_fn, capsys):
    params, fn = dyadic_fn
    images, segs = make_data(1)
    acts = TwoConvs().apply(params, jnp.asarray(images))
    one = run(fn, images, segs, 6, 1)
    eight = run(fn, images, segs, 16, 8)
    for layer in LAYERS:
        expected = oracle.dissection(np.asarray(acts[layer]), segs, 6, q=0.07, k=4)
        result = one[layer]
        np.testing.assert_array_equal(result.thresholds, expected["thresholds"])
        np.testing.assert_array_equal(result.counts.inter, expected["inter"])
        np.testing.assert_array_equal(result.counts.unit_area, expected["unit_area"])
        np.testing.assert_array_equal(result.counts.concept_area, expected["concept_area"])
        np.testing.assert_array_equal(result.iou, expected["iou"])
        np.testing.assert_array_equal(result.topk_values, expected["topk_values"])
        np.testing.assert_array_equal(result.topk_indices, expected["topk_indices"])
        assert result.num_images == 19 and result.act_size == acts[layer].shape[1:3]
        assert result.seg_size == (16, 16)
    assert_results_equal(one, eight)
    assert capsys.readouterr().err == ""  # progress=False prints nothing


def test_thresholds_at_the_layer_resolution_match_the_oracle(dyadic_fn):
    """The 2017 rule through the driver: each layer's thresholds over its raw maps (8x8 and
    4x4 here), the maps upsampled to 16x16 and compared with them."""
    params, fn = dyadic_fn
    images, segs = make_data(2)
    acts = TwoConvs().apply(params, jnp.asarray(images))
    config = dataclasses.replace(CONFIG, threshold_resolution="layer")
    results = run(fn, images, segs, 16, 8, config=config)
    for layer in LAYERS:
        expected = oracle.dissection(np.asarray(acts[layer]), segs, 6, q=0.07, k=4,
                                     resolution="layer")
        result = results[layer]
        assert result.config.threshold_resolution == "layer"
        np.testing.assert_array_equal(result.thresholds, expected["thresholds"])
        np.testing.assert_array_equal(result.counts.inter, expected["inter"])
        np.testing.assert_array_equal(result.counts.unit_area, expected["unit_area"])
        np.testing.assert_array_equal(result.iou, expected["iou"])


def test_random_weights_segmenter_on_device_spill_and_inferred_vocabulary(tmp_path):
    """Ordinary float weights; the segmentation is computed inside fn; C comes from the data;
    8 devices with the cache spilled to disk equal 1 device in memory, bit for bit."""
    params = random_params(3)
    images, _ = make_data(4, n=21)
    model = TwoConvs()

    @jax.jit
    def fn(batch):
        x = batch["image"]
        seg = jnp.stack([jnp.floor(x[..., 0] * 2), 5 - jnp.floor(x[..., 1] * 2)], axis=1)
        return model.apply(params, x), seg.astype(jnp.int32)

    no_seg = np.zeros((21, 1, 1, 1), np.int32)
    config = get_config(quantile=0.05)
    one = dissect(fn, batches(images, no_seg, 5), LAYERS, config, mesh=make_mesh(1),
                  progress=False)
    eight = dissect(fn, batches(images, no_seg, 8), LAYERS, config, mesh=make_mesh(8),
                    progress=False, memory_bound_bytes=20_000, cache_dir=tmp_path)
    assert_results_equal(one, eight)
    assert list(tmp_path.iterdir()) == []  # spill files are removed at the end
    vocab = one["conv1"].vocabulary
    assert vocab.num_concepts == 6 and vocab.names[1] == "c1"
    with pytest.raises(ValueError, match="pass cache_dir \\(--cache-dir\\)"):
        dissect(fn, batches(images, no_seg, 8), LAYERS, config, mesh=make_mesh(8),
                progress=False, memory_bound_bytes=20_000)


def test_writes_layers_and_resumes(tmp_path, dyadic_fn):
    _, fn = dyadic_fn
    images, segs = make_data(3)
    first = run(fn, images, segs, 16, 8, out_dir=tmp_path)
    for layer in LAYERS:
        assert_results_equal({layer: first[layer]}, {layer: load_result(tmp_path / layer)})

    def must_not_run(batch):
        raise AssertionError("finished layers must not be recomputed")

    again = dissect(must_not_run, [], LAYERS, CONFIG, num_concepts=6, out_dir=tmp_path,
                    progress=False)
    assert_results_equal(first, again)
    with pytest.raises(FileExistsError, match="other settings"):
        run(fn, images, segs, 16, 8, out_dir=tmp_path, config=get_config(quantile=0.2))
    stamp = (tmp_path / "conv2" / "report.json").stat().st_mtime_ns
    redone = run(fn, images[::-1].copy(), segs, 16, 8, out_dir=tmp_path, force=True)
    assert (tmp_path / "conv2" / "report.json").stat().st_mtime_ns != stamp
    assert_results_equal(redone, {l: load_result(layer_folder(tmp_path, l)) for l in LAYERS})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_progress_display(capsys, dyadic_fn, monkeypatch):
    monkeypatch.setenv("JAXDISSECT_PROGRESS_SECONDS", "0")  # a line per batch
    images, segs = make_data(5, n=40)  # 3 batches: a rate is measured after the first
    run(dyadic_fn[1], images, segs, 16, 8, progress=True)
    err = capsys.readouterr().err
    assert "images/s" in err and "left" in err and "intersection pass: 40/40 images" in err
    assert "pass 0 (model): 40 images" in err and "\r" not in err  # not a terminal


def test_bad_inputs(dyadic_fn):
    fn = dyadic_fn[1]
    images, segs = make_data(6, n=10)
    with pytest.raises(KeyError, match="no activations for \\['fc7'\\]"):
        dissect(fn, batches(images, segs, 8), ["fc7"], progress=False)
    no_mask = [{k: v for k, v in b.items() if k != "mask"} for b in batches(images, segs, 8)]
    with pytest.raises(KeyError, match="no 'mask' array"):
        dissect(fn, no_mask, LAYERS, progress=False)
    with pytest.raises(ValueError, match="beyond the vocabulary's 3 concepts"):
        run(fn, images, segs, 16, 8, num_concepts=None, vocabulary=ConceptVocabulary.numbered(3))
    with pytest.raises(ValueError, match="not a multiple of the 8 devices"):
        dissect(fn, batches(images, segs, 5), LAYERS, progress=False)
    uneven = list(batches(images, segs, 8))
    uneven[1] = {k: v[:4] for k, v in uneven[1].items()}
    with pytest.raises(ValueError, match="batch 1 has 4 rows, the first had 8"):
        dissect(fn, uneven, LAYERS, progress=False, mesh=make_mesh(8))
    bad = np.concatenate([images, images])
    bad[17, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf activations .*indices 16..31"):
        run(fn, bad, np.concatenate([segs, segs]), 16, 8)
    with pytest.raises(ValueError, match="num_concepts=4 but the vocabulary has 6"):
        dissect(fn, [], LAYERS, vocabulary=ConceptVocabulary.numbered(6), num_concepts=4)
    with pytest.raises(ValueError, match="no batches"):
        dissect(fn, [], LAYERS, progress=False)
