"""Tests for jaxdissect/dissection/resident.py: pass 0's outputs kept on the devices."""

import jax
import numpy as np
import pytest
from test_driver import LAYERS, assert_results_equal, make_data, model_fn, random_params, run

from jaxdissect.dissection.cache import ActivationCache
from jaxdissect.dissection.engine import LayerStatistics
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.progress import Progress
from jaxdissect.dissection.resident import ResidentCache, device_bound
from jaxdissect.sharding import make_mesh, shard_batch


def device_batches(mesh, count, rows=4):
    rng = np.random.default_rng(0)
    return [{"acts": {"l": shard_batch(mesh, rng.random((rows, 2, 2, 3), np.float32))},
             "seg": shard_batch(mesh, rng.integers(0, 5, (rows, 1, 4, 4)).astype(np.int32)),
             "mask": np.arange(rows) < rows - i % 2} for i in range(count)]


def test_keeps_device_arrays_while_they_fit_then_moves_all_to_the_host():
    mesh = make_mesh(2)
    kept = device_batches(mesh, 3)
    per_device = (4 * 2 * 2 * 3 * 4 + 4 * 16 * 4) // 2  # acts and seg bytes of one device
    cache = ResidentCache(ActivationCache(10**6), bound=2 * per_device, devices=2)
    for batch in kept[:2]:
        cache.append(batch)
    assert not cache.spilled and len(cache) == 2
    assert all(a["acts"]["l"] is b["acts"]["l"] for a, b in zip(cache, kept, strict=False))
    cache.append(kept[2])  # one more would not fit: everything moves to the host, in order
    assert cache.spilled and len(cache) == 3
    for got, want in zip(cache, kept, strict=True):
        assert isinstance(got["acts"]["l"], np.ndarray)
        np.testing.assert_array_equal(got["acts"]["l"], np.asarray(want["acts"]["l"]))
        np.testing.assert_array_equal(got["seg"], np.asarray(want["seg"]))
        np.testing.assert_array_equal(got["mask"], want["mask"])
    cache.close()
    assert len(cache) == 0


def test_check_fits_moves_early_and_cpu_bound_is_the_host_bound():
    mesh = make_mesh(2)
    cache = ResidentCache(ActivationCache(10**6), bound=10**4, devices=2)
    cache.append(device_batches(mesh, 1)[0])
    cache.check_fits(2)
    assert not cache.spilled
    cache.check_fits(100)
    assert cache.spilled and len(cache) == 1
    assert device_bound(mesh, 8 * 2**20) == 4 * 2**20  # CPU: the host bound, per device


def test_passes_over_device_batches_copy_nothing():
    """The engine uses batches already on the devices as they are: 0 host-to-device bytes
    (the small host mask aside), with the same thresholds as from host batches."""
    mesh = make_mesh(2)
    on_device = device_batches(mesh, 3)
    for i, batch in enumerate(on_device):
        batch["index"] = np.arange(4 * i, 4 * i + 4, dtype=np.int32)
    on_host = [jax.tree.map(np.asarray, b) for b in on_device]
    thresholds = []
    for source in (on_device, on_host):
        stats = LayerStatistics(get_config(topk=2), {"l": (2, 2, 3)}, (4, 4), mesh,
                                Progress(False))
        stats.first_pass(lambda source=source: iter(source), None)
        thresholds.append(stats.quantile_passes(lambda source=source: iter(source), None)["l"])
        copied = stats.host_to_device["threshold pass 1"]
        assert copied == (1 if source is on_device else 4 * 2 * 2 * 3 * 4 // 4 + 1)
    np.testing.assert_array_equal(*thresholds)


@pytest.mark.slow
def test_driver_results_equal_whether_the_cache_stays_or_moves(tmp_path, monkeypatch):
    """Two batches fit the bound, the third moves the cache to the host (then to disk)."""
    fn = model_fn(random_params(0, dyadic=True))
    images, segs = make_data(2)
    resident = run(fn, images, segs, 6, 1)
    moved_batches = []
    spill = ResidentCache._spill

    def spy(self):
        moved_batches.append(len(self._batches))
        spill(self)

    monkeypatch.setattr(ResidentCache, "_spill", spy)
    moved = run(fn, images, segs, 6, 1, memory_bound_bytes=50_000, cache_dir=tmp_path)
    assert moved_batches[0] == 2
    assert_results_equal(resident, moved)
    assert set(resident) == set(LAYERS)
    assert list(tmp_path.iterdir()) == []  # the spill files are gone
