"""Pairs of int32 words as exact counters past 2**31."""

import jax
import numpy as np
import pytest

from jaxdissect.stats.wide_count import MAX_BATCH_COUNT, WideCount, check_batch_count


def test_add_and_merge_carry_past_int32():
    start = np.array([0, 2**20 - 1, 2**31 - 3, 2**40 + 12345, 2**49], np.int64)
    counts = np.array([5, 1, 10, MAX_BATCH_COUNT, 7], np.int32)
    added = jax.jit(WideCount.add)(WideCount.from_int64(start), counts)
    np.testing.assert_array_equal(added.to_numpy(), start + counts)
    assert np.all(np.asarray(added.lo) < 2**20)
    merged = added.merge(WideCount.from_int64(start))
    np.testing.assert_array_equal(merged.to_numpy(), 2 * start + counts)


def test_words_are_canonical_whatever_the_order(rng):
    counts = rng.integers(0, 2**30, size=(6, 4)).astype(np.int32)
    forward, backward = WideCount.zeros((4,)), WideCount.zeros((4,))
    for c in counts:
        forward = forward.add(c)
    for c in counts[::-1]:
        backward = backward.add(c)
    assert np.asarray(forward.lo).tobytes() == np.asarray(backward.lo).tobytes()
    assert np.asarray(forward.hi).tobytes() == np.asarray(backward.hi).tobytes()
    np.testing.assert_array_equal(forward.to_numpy(), counts.astype(np.int64).sum(0))


def test_limits_are_checked():
    with pytest.raises(ValueError, match="smaller batch"):
        check_batch_count(MAX_BATCH_COUNT + 1, "test")
    with pytest.raises(ValueError, match="2\\*\\*51"):
        WideCount.from_int64(np.array([-1]))
