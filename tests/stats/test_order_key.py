"""The order-preserving float32 -> uint32 key and its inverse."""

import jax
import numpy as np

from jaxdissect.stats.order_key import float32_order_key, float32_order_key_np, key_to_float32


def test_key_orders_like_the_floats_and_inverts(rng):
    values = np.concatenate([
        rng.standard_normal(500).astype(np.float32) * 10.0 ** rng.integers(-40, 38, 500),
        np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 3.4e38, -3.4e38], np.float32),
    ]).astype(np.float32)
    keys = np.asarray(jax.jit(float32_order_key)(values))
    np.testing.assert_array_equal(keys, float32_order_key_np(values))
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(keys[order].astype(np.int64)) >= 0)
    equal_neighbours = values[order][1:] == values[order][:-1]
    np.testing.assert_array_equal(np.diff(keys[order].astype(np.int64)) == 0, equal_neighbours)
    np.testing.assert_array_equal(key_to_float32(keys), values)


def test_signed_zeros_share_one_key_and_come_back_positive():
    keys = float32_order_key_np(np.array([-0.0, 0.0], np.float32))
    assert keys[0] == keys[1] == 0x80000000
    back = key_to_float32(keys)
    assert not np.any(np.signbit(back))
