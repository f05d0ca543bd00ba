"""Tests of jaxdissect/sharding.py: pad-and-mask, placement and exact per-device sums."""

import jax
import numpy as np
import pytest

from jaxdissect import sharding


def test_pad_rows_masks_the_new_rows_only():
    batch = sharding.pad_rows({"x": np.ones((5, 2)), "mask": np.array([1, 0, 1, 1, 1], bool)}, 8)
    assert batch["x"].shape == (8, 2) and batch["x"][5:].sum() == 0
    assert list(batch["mask"]) == [True, False, True, True, True, False, False, False]
    assert list(sharding.pad_rows({"x": np.ones(2)}, 3)["mask"]) == [True, True, False]
    with pytest.raises(ValueError, match="different numbers of rows"):
        sharding.pad_rows({"a": np.zeros(3), "b": np.zeros(4)}, 4)
    with pytest.raises(ValueError, match="5 rows do not fit in 4"):
        sharding.pad_zeros(np.zeros(5), 4)


def test_place_rows_pads_to_the_devices_and_narrows_64_bit(devices):
    mesh = sharding.make_mesh(3)
    placed = sharding.place_rows(mesh, {"x": np.ones((5, 2)), "index": np.arange(5)})
    assert placed["x"].shape == (6, 2) and placed["x"].dtype == np.float32
    assert placed["index"].dtype == np.int32 and len(placed["x"].sharding.device_set) == 3
    assert list(np.asarray(placed["mask"])) == [True] * 5 + [False]


def test_shard_sums_add_up_to_the_plain_sum(devices):
    mesh = sharding.make_mesh(8)
    x = sharding.place_rows(mesh, {"v": np.arange(24, dtype=np.int32).reshape(12, 2)})["v"]
    partial = jax.jit(lambda v: sharding.shard_sums(v, 8))(x)  # padded to 16 rows
    assert partial.shape == (8, 2) and len(partial.sharding.device_set) == 8
    total = sharding.add_shards(partial)
    assert total.dtype == np.int64
    np.testing.assert_array_equal(total, np.arange(24).reshape(12, 2).sum(0))
    with pytest.raises(ValueError, match="does not split over 5 devices"):
        sharding.shard_sums(np.zeros((12, 2)), 5)
