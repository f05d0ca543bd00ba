"""Tests for jaxdissect/dissection/cache.py."""

import numpy as np
import pytest

from jaxdissect.dissection.cache import ActivationCache


def make_batches(rng, n=5, b=3):
    return [
        {
            "acts": {"conv": rng.normal(size=(b, 2, 2, 4)).astype(np.float16),
                     "fc": rng.normal(size=(b, 1, 1, 3)).astype(np.float32)},
            "seg": rng.integers(0, 9, size=(b, 2, 4, 4)).astype(np.int32),
            "mask": np.array([True] * (b - 1) + [i % 2 == 0]),
        }
        for i in range(n)
    ]


def assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        for key in ("seg", "mask"):
            np.testing.assert_array_equal(g[key], e[key])
            assert g[key].dtype == e[key].dtype
        for layer in e["acts"]:
            np.testing.assert_array_equal(g["acts"][layer], e["acts"][layer])
            assert g["acts"][layer].dtype == e["acts"][layer].dtype


def test_memory_only(rng):
    batches = make_batches(rng)
    with ActivationCache(memory_bound_bytes=10**9) as cache:
        for batch in batches:
            cache.append(batch)
        batches[0]["seg"][:] = -1  # the cache holds a copy
        assert cache.disk_bytes == 0
        got = list(cache)
        np.testing.assert_array_equal(got[1]["seg"], batches[1]["seg"])
        assert (got[0]["seg"] >= 0).all()
        assert_same(list(cache)[1:], batches[1:])  # can be replayed many times


def test_spills_to_disk_beyond_the_bound(rng, tmp_path):
    batches = make_batches(rng, n=7)
    cache = ActivationCache(memory_bound_bytes=1, cache_dir=tmp_path)
    cache.append(batches[0])
    bound = 2 * cache.batch_bytes
    cache = ActivationCache(memory_bound_bytes=bound, cache_dir=tmp_path / "c")
    for batch in batches:
        cache.append(batch)
    assert len(cache) == 7 and cache.disk_bytes == 5 * cache.batch_bytes
    assert_same(list(cache), batches)
    assert_same(list(cache), batches)
    spill_dirs = list((tmp_path / "c").iterdir())
    assert len(spill_dirs) == 1
    cache.close()
    assert not spill_dirs[0].exists()


def test_errors(rng):
    batches = make_batches(rng, n=3)
    cache = ActivationCache(memory_bound_bytes=10**9)
    cache.append(batches[0])
    with pytest.raises(ValueError, match="fixed size"):
        cache.append(make_batches(rng, n=1, b=2)[0])
    small = ActivationCache(memory_bound_bytes=cache.batch_bytes)
    small.append(batches[0])
    with pytest.raises(ValueError, match="pass cache_dir \\(--cache-dir\\)"):
        small.append(batches[1])
    with pytest.raises(ValueError, match="KiB for 10 batches, above the memory bound"):
        small.check_fits(10)
    small.check_fits(1)


def test_persistent_cache_reopens_at_a_checkpoint(rng, tmp_path):
    batches = make_batches(rng, n=5)
    cache = ActivationCache(10**9, tmp_path, persistent=True)
    for batch in batches:
        cache.append(batch)
    cache.sync()
    layout = cache.layout()
    assert cache.disk_bytes == 5 * cache.batch_bytes  # nothing kept in memory
    cache.close()
    assert len(list(tmp_path.iterdir())) == 4  # files stay
    again = ActivationCache.reopen(tmp_path, layout, num_batches=3)  # batches 3, 4 cut off
    assert_same(list(again), batches[:3])
    again.append(batches[4])
    assert_same(list(again), batches[:3] + batches[4:])
    again.close()
    with pytest.raises(ValueError, match="is incomplete"):
        ActivationCache.reopen(tmp_path, layout, num_batches=9)
