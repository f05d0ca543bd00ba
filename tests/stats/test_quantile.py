"""Exact radix-selection thresholds against a numpy oracle, across devices, batches and merges."""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from stats_streaming import assert_same_state, host_leaves, stream

from jaxdissect.stats import quantile
from jaxdissect.stats.order_key import float32_order_key_np
from jaxdissect.stats.quantile import ExactQuantile
from jaxdissect.stats.wide_count import WideCount

UNITS = 12
SHAPE = (21, 4, 5, UNITS)  # 21 images: divisible by neither the batch sizes nor 8


def oracle(values: np.ndarray, q: float) -> np.ndarray:
    """k-th largest per unit of (n, U) float32 values, k = max(1, ceil(q n))."""
    n = values.shape[0]
    k = max(1, math.ceil(Fraction(repr(q)) * n))
    return -np.sort(-values, axis=0)[k - 1]


def unit_mix(rng, shape) -> np.ndarray:
    """A (N, h, w, U) array whose units have different troublesome distributions."""
    n_units = shape[-1]
    x = np.empty(shape, np.float32)
    for u in range(n_units):
        kind = u if u < 8 else rng.integers(8)
        z = rng.standard_normal(shape[:-1]).astype(np.float32)
        x[..., u] = [
            z,                                   # plain
            np.round(z * 2) / 2,                 # many ties
            np.zeros_like(z),                    # all zero
            np.full_like(z, -1.75),              # constant, negative
            -np.abs(z) * 1e-3,                   # all negative
            np.maximum(z - 2.0, 0.0),            # mostly zero (ReLU)
            np.where(z > 0, 0.0, -0.0) * (z > -3),  # only signed zeros
            np.exp(4 * z) * np.sign(z),          # huge dynamic range, both signs
        ][kind]
    return x


def run(q: ExactQuantile, x, batch_size=4, devices=1, order=None):
    """All passes; returns thresholds and the state at the end of each pass.

    ``update`` does not depend on ``q`` (it enters in ``next_pass``), so every ``q`` streams
    through one compiled step.
    """
    streamer = ExactQuantile(q.num_units, bits_per_pass=q.bits_per_pass)
    state, per_pass = q.init(), []
    for _ in range(q.num_passes):
        state = stream(streamer.update, state, (x,), batch_size, devices, order)
        per_pass.append(state)
        state = q.next_pass(state)
        if q.done(state):
            break
    return q.finalize(state), per_pass


def check_rank_property(values, thresholds, q):
    n = values.shape[0]
    qn = Fraction(repr(q)) * n
    above = (values > thresholds).sum(0)
    at_least = (values >= thresholds).sum(0)
    assert np.all(above <= qn) and np.all(qn <= at_least)


def test_matches_oracle_on_mixed_units(rng):
    x = unit_mix(rng, SHAPE)
    q = ExactQuantile(UNITS)
    t, _ = run(q, x)
    values = x.reshape(-1, UNITS)
    np.testing.assert_array_equal(t, oracle(values, 0.01))
    assert not np.any(np.signbit(t) & (t == 0)), "zero thresholds come back as +0.0"
    check_rank_property(values, t, 0.01)


@pytest.mark.parametrize("q_level", [0.005, 0.3, 1.0])
def test_rank_property_on_many_random_cases(q_level):
    q = ExactQuantile(UNITS, q=q_level)
    rng = np.random.default_rng(7)
    for _ in range(25):
        x = unit_mix(rng, (int(rng.integers(1, 12)),) + SHAPE[1:])
        if rng.random() < 0.5:  # coarse values: heavy ties across units
            x = np.round(x * rng.integers(1, 4)).astype(np.float32)
        t, _ = run(q, x)
        values = x.reshape(-1, UNITS)
        np.testing.assert_array_equal(t, oracle(values, q_level))
        check_rank_property(values, t, q_level)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_low_precision_inputs_give_threshold_of_float32_values(rng, dtype):
    with np.errstate(over="ignore"):  # float16 overflows to +-inf: ordered values too
        x = (unit_mix(rng, SHAPE) * 3).astype(dtype)
    t, _ = run(ExactQuantile(UNITS), x)
    np.testing.assert_array_equal(t, oracle(x.astype(np.float32).reshape(-1, UNITS), 0.01))


def test_bit_identical_for_devices_and_batch_sizes(rng):
    x = unit_mix(rng, SHAPE)
    q = ExactQuantile(UNITS)
    reference_t, reference_passes = run(q, x)
    order = rng.permutation(SHAPE[0])
    for devices, batch_size, image_order in [(2, 6, None), (8, 8, order)]:
        t, passes = run(q, x, batch_size, devices, image_order)
        assert t.tobytes() == reference_t.tobytes()
        assert len(passes) == len(reference_passes)
        for a, b in zip(passes, reference_passes, strict=True):
            assert_same_state(a, b)


def test_merge_is_associative_and_commutative(rng):
    x = unit_mix(rng, SHAPE)
    q = ExactQuantile(UNITS)
    parts = [x[:5], x[5:13], x[13:]]
    state = q.init()
    for _ in range(q.num_passes):
        a, b, c = (stream(q.update, state, (p,), 4) for p in parts)
        merged = q.merge(q.merge(a, b), c)
        assert_same_state(merged, q.merge(a, q.merge(b, c)))
        assert_same_state(merged, q.merge(c, q.merge(b, a)))
        assert_same_state(merged, stream(q.update, state, (x,), 4))
        state = q.next_pass(merged)
        if q.done(state):
            break
    np.testing.assert_array_equal(q.finalize(state), oracle(x.reshape(-1, UNITS), 0.01))


def test_single_valued_units_and_the_pass_protocol(rng):
    x = np.zeros((7,) + SHAPE[1:], np.float32)
    x[..., 1] = 2.5
    x[..., 2] = np.where(rng.random(x.shape[:-1]) < 0.5, -0.0, 0.0)
    x[..., 3:] = -7.0
    q = ExactQuantile(UNITS)
    state = q.init()
    for p in range(q.num_passes):
        assert not q.done(state)
        state = stream(q.update, state, (x,), 4)
        assert q.done(state) == (p == q.num_passes - 1)
        state = q.next_pass(state)
    assert q.done(state) and q.next_pass(state) is state
    t = q.finalize(state)
    np.testing.assert_array_equal(t, [0.0, 2.5, 0.0] + [-7.0] * (UNITS - 3))
    assert not np.any(np.signbit(t[[0, 2]]))


def test_large_batches_are_counted_in_spatial_chunks(rng, monkeypatch):
    monkeypatch.setattr(quantile, "CHUNK_ABOVE", 100)
    monkeypatch.setattr(quantile, "CHUNK_SIZE", 2 * 4 * UNITS)  # (4 images of 20 px) -> 10 chunks
    q = ExactQuantile(UNITS, bits_per_pass=(10, 11, 11))  # a config no other test compiles
    x = unit_mix(rng, SHAPE)
    for devices in (1, 8):
        t, _ = run(q, x, batch_size=4 * devices, devices=devices)
        np.testing.assert_array_equal(t, oracle(x.reshape(-1, UNITS), 0.01))


def test_counts_past_int32_carry_exactly(rng):
    """A pass-0 state near 4e10 values per unit: the int32 words carry and selection is exact."""
    q = ExactQuantile(2)
    zero_bin, two_bin = 0x80000000 >> 21, 0xC0000000 >> 21  # key bins of 0.0 and 2.0
    big = np.zeros((2048, 2), np.int64)
    before = 30_000_000_000 + 2**31 - 3  # values per unit already counted
    big[two_bin] = [2**31 - 3, 500_000_000]
    big[zero_bin] = before - big[two_bin]
    batch = np.full((3, 2, 2, 2), 2.0, np.float32)  # adds 12 values at 2.0 to both units
    state = q.init().replace(hist=WideCount.from_int64(big), seen=WideCount.from_int64(before))
    state = jax.jit(q.update)(state, jnp.asarray(batch), jnp.ones(3, bool))
    hist = state.hist.to_numpy()
    assert hist[two_bin, 0] == 2**31 + 9 and hist[two_bin, 1] == 500_000_012
    n = before + 12
    assert int(state.seen.to_numpy()) == n
    narrowed = q.next_pass(state)
    k = q.rank_of(n)
    assert k == math.ceil(n / 100)
    assert np.all(np.asarray(narrowed.prefix) >> 21 == two_bin)
    np.testing.assert_array_equal(narrowed.rank.to_numpy(), [k, k])
    assert int(narrowed.total.to_numpy()) == n


def test_errors_are_clear(rng):
    q = ExactQuantile(UNITS)
    x = rng.standard_normal((4,) + SHAPE[1:]).astype(np.float32)
    state = stream(q.update, q.init(), (x,), 4)
    with pytest.raises(ValueError, match="passes over the data are needed"):
        q.finalize(state)
    short = stream(q.update, q.next_pass(state), (x[:3],), 4)
    with pytest.raises(ValueError, match="every pass must stream the same images"):
        q.next_pass(short)
    x[1, 0, 0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        q.next_pass(stream(q.update, q.init(), (x,), 4))
    q.next_pass(stream(q.update, q.init(), (x[2:],), 4))  # without the NaN image: fine
    with pytest.raises(ValueError, match="units last"):
        q.update(q.init(), jnp.zeros((4, 2, 2, 5)), jnp.ones(4, bool))
    with pytest.raises(ValueError, match="no valid values"):
        q.next_pass(stream(q.update, q.init(), (x[:0],), 4))
    with pytest.raises(ValueError, match="bits must sum to 32"):
        ExactQuantile(3, bits_per_pass=(16, 8))


def test_state_is_a_pytree_of_fixed_shapes():
    q = ExactQuantile(5, bits_per_pass=(8, 8, 8, 8))
    assert q.num_passes == 4 and hash(q) == hash(ExactQuantile(5, bits_per_pass=[8, 8, 8, 8]))
    shapes = [leaf.shape for leaf in host_leaves(q.init())]
    assert (256, 5) in shapes


def test_matmul_counting_gives_the_same_states_without_a_scatter(rng):
    """count_with="matmul" (the TPU plan's way): the same histograms as the scatter, pass by
    pass, and no scatter in its jaxpr; histogrammed() is every value in pass 0, then the
    candidates sharing the prefix."""
    x = unit_mix(rng, SHAPE)
    scatter = ExactQuantile(UNITS)
    matmul = ExactQuantile(UNITS, count_with="matmul")
    t_scatter, passes_scatter = run(scatter, x)
    t_matmul, passes_matmul = run(matmul, x, batch_size=8, devices=2)
    assert t_matmul.tobytes() == t_scatter.tobytes()
    for a, b in zip(passes_matmul, passes_scatter, strict=True):
        assert_same_state(a, b)
    values = x.reshape(-1, UNITS)
    np.testing.assert_array_equal(matmul.histogrammed(passes_matmul[0]), [len(values)] * UNITS)
    prefix = np.asarray(matmul.next_pass(passes_matmul[0]).prefix)  # pass 1's 11 fixed bits
    keys = float32_order_key_np(values)
    candidates = ((keys >> 21) == (prefix >> 21)).sum(axis=0)
    np.testing.assert_array_equal(matmul.histogrammed(passes_matmul[1]), candidates)
    jaxpr = str(jax.make_jaxpr(matmul.update)(matmul.init(), x[:4], np.ones(4, bool)))
    assert "scatter" not in jaxpr and "dot_general" in jaxpr
    assert "scatter-add" in str(jax.make_jaxpr(scatter.update)(scatter.init(), x[:4],
                                                               np.ones(4, bool)))
    with pytest.raises(ValueError, match="count_with"):
        ExactQuantile(3, count_with="sort")
