"""An order-preserving uint32 key for float32 values, shared by the quantile and top-k statistics.

``key(a) < key(b)`` exactly when ``a < b`` for non-NaN float32 values, so integer histograms of
key bits select order statistics exactly (radix selection), and integer sorts rank values.

The map flips every bit of a negative value and only the sign bit of a non-negative one. The
bit pattern of ``-0.0`` counts as non-negative, so it gets the key of ``+0.0``: the two zeros are
one value (ranking, thresholds and ties treat them alike) and ``key_to_float32`` returns ``+0.0``.
Subnormals keep their own keys (the tests are on integers: XLA:CPU flushes subnormals in float
compares). NaN has no place in an order: callers must reject it upstream; the statistics flag it
(see ``saw_nan`` in their states) and refuse to finalize. For the record, a NaN with the sign bit
clear keys above ``+inf``, one with the sign bit set keys below ``-inf``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SIGN_BIT = 0x80000000


def float32_order_key(x: jax.Array) -> jax.Array:
    """Order-preserving key. ``x`` float32 of any shape -> uint32 of the same shape."""
    bits = jax.lax.bitcast_convert_type(x.astype(jnp.float32), jnp.uint32)
    # Integer tests only: XLA:CPU flushes subnormals, so a float `x < 0` misses tiny negatives.
    negative = (bits > jnp.uint32(SIGN_BIT))  # sign bit set and not -0.0
    return jnp.where(negative, ~bits, bits | jnp.uint32(SIGN_BIT))


def float32_order_key_np(x: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`float32_order_key` (for tests and host code)."""
    bits = np.asarray(x, np.float32).view(np.uint32)
    negative = bits > np.uint32(SIGN_BIT)
    return np.where(negative, ~bits, bits | np.uint32(SIGN_BIT)).astype(np.uint32)


def key_to_float32(key: np.ndarray) -> np.ndarray:
    """Inverse of the key on the host: uint32 keys -> float32 values (zero comes back as +0.0)."""
    key = np.asarray(key, np.uint32)
    non_negative = key >= np.uint32(SIGN_BIT)
    bits = np.where(non_negative, key & np.uint32(SIGN_BIT - 1), ~key).astype(np.uint32)
    return bits.view(np.float32)
