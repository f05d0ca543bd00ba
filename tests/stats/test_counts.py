"""IoU pixel counts against a per-image numpy oracle, across methods, devices, batches, merges."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from stats_streaming import assert_same_state, stream

from jaxdissect.stats.counts import IoUCounts
from jaxdissect.stats.wide_count import WideCount

N, H, W, U, K, C = 11, 6, 7, 5, 3, 30
CATEGORY_OF = np.array([-1] + [i % 3 for i in range(1, C - 4)] + [-1] * 4)  # some uncategorised


def make_data(rng, n=N):
    """Label maps with repeats across channels, unused concepts and unlabelled images."""
    on = rng.random((n, H, W, U)) < rng.random(U)  # units from rarely to mostly on
    seg = rng.integers(0, C - 6, size=(n, K, H, W))  # concepts C-6..C-1 never appear
    seg[:, 1] = np.where(rng.random((n, H, W)) < 0.4, seg[:, 0], seg[:, 1])  # same label twice
    seg[:, 2] = np.where(rng.random((n, H, W)) < 0.5, 0, seg[:, 2])  # "no label"
    seg[n // 2] = 0  # an image without labels
    return on, seg.astype(np.int16)


def oracle(on, seg, mask, category_of=CATEGORY_OF):
    inter, unit_area = np.zeros((U, C), np.int64), np.zeros(U, np.int64)
    concept_area, by_category = np.zeros(C, np.int64), np.zeros((U, 3), np.int64)
    for image in np.flatnonzero(mask):
        on_px, seg_px = on[image].reshape(-1, U), seg[image].reshape(K, -1)
        unit_area += on_px.sum(0)
        present = [c for c in np.unique(seg_px) if c > 0]
        for c in present:
            at_c = (seg_px == c).any(0)
            concept_area[c] += at_c.sum()
            inter[:, c] += on_px[at_c].sum(0)
        for g in range(3):
            if any(category_of[c] == g for c in present):
                by_category[:, g] += on_px.sum(0)
    return inter, unit_area, concept_area, by_category


def check_result(result, on, seg, mask):
    inter, unit_area, concept_area, by_category = oracle(on, seg, mask)
    np.testing.assert_array_equal(result.inter, inter)
    np.testing.assert_array_equal(result.unit_area, unit_area)
    np.testing.assert_array_equal(result.concept_area, concept_area)
    np.testing.assert_array_equal(result.unit_area_by_category, by_category)
    assert result.num_images == mask.sum()
    assert result.inter.dtype == np.int64 and result.inter[:, 0].sum() == 0


def run(counts, on, seg, batch_size=4, devices=1, order=None):
    return stream(counts.update, counts.init(), (on, seg), batch_size, devices, order)


COUNTERS = {
    "scatter": IoUCounts(U, C, category_of=CATEGORY_OF),
    "scatter, 3 slots": IoUCounts(U, C, category_of=CATEGORY_OF, max_labels_per_image=3),
    # 4 slots per chunk against ~20 labels per image: the chunk loop runs several times.
    "matmul": IoUCounts(U, C, category_of=CATEGORY_OF, method="matmul", max_labels_per_image=4),
}
# The TPU plan's way: checked against the oracle and for scatters in its own test.
SORTED = IoUCounts(U, C, category_of=CATEGORY_OF, method="sorted", max_labels_per_image=4)


@pytest.mark.parametrize("method", sorted(COUNTERS))
def test_matches_oracle(rng, method):
    on, seg = make_data(rng)
    counts = COUNTERS[method]
    check_result(counts.finalize(run(counts, on, seg)), on, seg, np.ones(N, bool))


def test_without_categories_and_with_masked_rows(rng):
    on, seg = make_data(rng, 3)
    counts = IoUCounts(U, C)
    mask = np.array([True, False, True])
    state = jax.jit(counts.update)(counts.init(), on, seg, mask)
    result = counts.finalize(state)
    assert result.unit_area_by_category is None
    inter, unit_area, concept_area, _ = oracle(on, seg, mask)
    np.testing.assert_array_equal(result.inter, inter)
    np.testing.assert_array_equal(result.unit_area, unit_area)
    np.testing.assert_array_equal(result.concept_area, concept_area)
    assert result.num_images == 2


def test_bit_identical_for_methods_devices_and_batch_sizes(rng):
    on, seg = make_data(rng)
    reference = run(COUNTERS["scatter"], on, seg)
    assert_same_state(reference, run(COUNTERS["matmul"], on, seg))
    assert_same_state(reference, run(COUNTERS["scatter, 3 slots"], on, seg))
    order = rng.permutation(N)
    for devices, batch_size, image_order in [(2, 6, order), (8, 8, None)]:
        assert_same_state(reference, run(COUNTERS["scatter"], on, seg, batch_size, devices,
                                         image_order))
    assert_same_state(reference, run(COUNTERS["matmul"], on, seg, 8, 8, order))


def test_merge_is_associative_and_commutative(rng):
    on, seg = make_data(rng)
    counts = COUNTERS["scatter"]
    a, b, c = (run(counts, on[s], seg[s]) for s in (slice(0, 3), slice(3, 8), slice(8, N)))
    merged = counts.merge(counts.merge(a, b), c)
    assert_same_state(merged, counts.merge(a, counts.merge(b, c)))
    assert_same_state(merged, counts.merge(counts.merge(c, a), b))
    assert_same_state(merged, run(counts, on, seg))


def test_counts_past_int32_carry_exactly(rng):
    on, seg = make_data(rng, 4)
    counts = COUNTERS["scatter"]
    near = 2**31 - 7
    start = counts.init().replace(
        inter=WideCount.from_int64(np.full((C, U), near)),
        unit_area=WideCount.from_int64(np.full(U, 3 * 2**31 + 5)),
    )
    state = jax.jit(counts.update)(start, on, seg, jnp.ones(4, bool))
    result = counts.finalize(state)
    inter, unit_area, _, _ = oracle(on, seg, np.ones(4, bool))
    expected = inter + near
    expected[:, 0] = near  # label 0 is never counted, the preset value stays
    np.testing.assert_array_equal(result.inter, expected)
    np.testing.assert_array_equal(result.unit_area, unit_area + 3 * 2**31 + 5)
    assert result.inter.max() > 2**31


def test_labels_out_of_range_are_an_error(rng):
    on, seg = make_data(rng, 4)
    counts = COUNTERS["scatter"]
    bad = seg.copy()
    bad[1, 0, 0, 0] = C
    step = jax.jit(counts.update)
    with pytest.raises(ValueError, match=r"outside \[0, 30\)"):
        counts.finalize(step(counts.init(), on, bad, jnp.ones(4, bool)))
    bad[1, 0, 0, 0] = -2
    with pytest.raises(ValueError, match="outside"):
        counts.finalize(step(counts.init(), on, bad, jnp.ones(4, bool)))
    masked = np.array([True, False, True, True])  # the bad label sits in a masked row
    check_result(counts.finalize(step(counts.init(), on, bad, masked)), on, seg, masked)


def test_shape_and_config_errors(rng):
    on, seg = make_data(rng, 2)
    counts = COUNTERS["scatter"]
    with pytest.raises(ValueError, match="to match on"):
        counts.update(counts.init(), on, seg[:, :, :5], jnp.ones(2, bool))
    with pytest.raises(ValueError, match="on must be"):
        counts.update(counts.init(), on[..., :3], seg, jnp.ones(2, bool))
    with pytest.raises(ValueError, match="must be bool"):
        counts.update(counts.init(), on.astype(np.float32), seg, jnp.ones(2, bool))
    with pytest.raises(ValueError, match="method"):
        IoUCounts(U, C, method="dense")
    with pytest.raises(ValueError, match="category_of"):
        IoUCounts(U, C, category_of=np.zeros(C - 1, int))


def test_sorted_method_has_no_scatter(rng):
    """The TPU plan's counting: no scatter primitive in its jaxpr (the scatter method has
    several), matmuls instead; same counts on 2 devices."""
    on, seg = make_data(rng, 4)
    args = (on, seg, np.ones(4, bool))
    counters = {**COUNTERS, "sorted": SORTED}
    jaxprs = {m: str(jax.make_jaxpr(c.update)(c.init(), *args)) for m, c in counters.items()}
    assert "scatter" not in jaxprs["sorted"] and "dot_general" in jaxprs["sorted"]
    assert "scatter-add" in jaxprs["scatter"]
    on, seg = make_data(rng)
    counts = SORTED
    check_result(counts.finalize(run(counts, on, seg, batch_size=6, devices=2)), on, seg,
                 np.ones(N, bool))
