"""Top-k images per unit against a sort oracle; tie-breaking makes any split give the same bits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from stats_streaming import assert_same_state, stream

from jaxdissect.stats import topk as topk_module
from jaxdissect.stats.topk import TopK

N, U = 23, 6


def make_scores(rng, n=N):
    """Scores with heavy ties, a constant unit, negatives, signed zeros and infinities."""
    scores = np.round(rng.standard_normal((n, U)) * 2).astype(np.float32)
    scores[:, 1] = 0.0
    scores[::3, 1] = -0.0
    scores[:, 2] = -np.abs(scores[:, 2]) - 1
    scores[4, 3], scores[9, 3] = np.inf, -np.inf
    return scores


def oracle(scores, indices, k):
    """Per unit: sort by (value descending, index ascending), pad with (-inf, -1)."""
    values = np.full((U, k), -np.inf, np.float32)
    kept = np.full((U, k), -1, np.int64)
    for u in range(U):
        order = sorted(range(len(indices)), key=lambda i: (-scores[i, u], indices[i]))[:k]
        values[u, : len(order)] = scores[order, u]
        kept[u, : len(order)] = indices[order]
    return values, kept


def run(topk, scores, indices, batch_size=4, devices=1, order=None):
    return stream(topk.update, topk.init(), (scores, indices), batch_size, devices, order)


@pytest.mark.parametrize("k", [5, 40])  # 40 > N: unfilled slots
def test_matches_oracle(rng, k):
    scores = make_scores(rng)
    indices = rng.permutation(1000)[:N].astype(np.int32)  # dataset indices, not positions
    topk = TopK(U, k=k)
    values, kept = topk.finalize(run(topk, scores, indices))
    expected_values, expected_kept = oracle(scores, indices, k)
    np.testing.assert_array_equal(kept, expected_kept)
    np.testing.assert_array_equal(values, expected_values)
    assert values.dtype == np.float32 and kept.dtype == np.int64 and kept.shape == (U, k)


def test_bit_identical_for_devices_batch_sizes_and_orders(rng):
    scores = make_scores(rng)
    indices = np.arange(N, dtype=np.int32) * 3
    topk = TopK(U, k=7)
    reference = run(topk, scores, indices)
    for devices, batch_size, order in [(1, 5, rng.permutation(N)), (2, 6, rng.permutation(N)),
                                       (8, 8, None)]:
        assert_same_state(reference, run(topk, scores, indices, batch_size, devices, order))


def test_merge_is_associative_and_commutative(rng):
    scores = make_scores(rng)
    indices = np.arange(N, dtype=np.int32)
    topk = TopK(U, k=7)
    a, b, c = (run(topk, scores[s], indices[s]) for s in (slice(0, 9), slice(9, 12),
                                                           slice(12, N)))
    merged = topk.merge(topk.merge(a, b), c)
    assert_same_state(merged, topk.merge(a, topk.merge(b, c)))
    assert_same_state(merged, topk.merge(topk.merge(c, a), b))
    assert_same_state(merged, run(topk, scores, indices))


def test_masked_rows_never_count(rng):
    topk = TopK(U, k=3)
    scores = np.full((4, U), 100.0, np.float32)
    mask = jnp.asarray([False, True, False, False])
    state = jax.jit(topk.update)(topk.init(), scores, jnp.arange(4), mask)
    values, kept = topk.finalize(state)
    np.testing.assert_array_equal(kept[:, 0], 1)
    np.testing.assert_array_equal(kept[:, 1:], -1)
    assert np.all(values[:, 1:] == -np.inf)


def test_nan_and_shape_errors(rng):
    topk = TopK(U, k=3)
    scores = make_scores(rng)[:4]
    scores[2, 1] = np.nan
    state = jax.jit(topk.update)(topk.init(), scores, jnp.arange(4), jnp.ones(4, bool))
    with pytest.raises(ValueError, match="NaN"):
        topk.finalize(state)
    with pytest.raises(ValueError, match="scores must be"):
        topk.update(topk.init(), scores[:, :2], jnp.arange(4), jnp.ones(4, bool))
    with pytest.raises(ValueError, match="indices"):
        topk.update(topk.init(), scores, jnp.arange(3), jnp.ones(4, bool))


def test_sorting_path_for_many_rows_gives_the_same_bits(rng, monkeypatch):
    scores = make_scores(rng)
    indices = np.arange(N, dtype=np.int32)[::-1].copy()
    merged_pairwise = TopK(U, k=6)
    reference = run(merged_pairwise, scores, indices)
    monkeypatch.setattr(topk_module, "MAX_PAIRWISE", 0)
    by_sorting = TopK(U, k=6)
    state = jax.jit(by_sorting.update)(by_sorting.init(), scores, indices, jnp.ones(N, bool))
    assert_same_state(reference, state)
    values, kept = by_sorting.finalize(state)
    expected_values, expected_kept = oracle(scores, indices, 6)
    np.testing.assert_array_equal(kept, expected_kept)
    np.testing.assert_array_equal(values, expected_values)
