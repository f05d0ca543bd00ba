"""Exact integer counters wider than int32, as a pair of int32 words, for counts beyond 2**31.

A dissection of 10**7 images at 64x64 counts up to 4e10 pixels per unit, past int32, and
accelerators (and jax without x64) have no fast int64. A :class:`WideCount` keeps every counter
as ``hi * 2**20 + lo`` with ``0 <= lo < 2**20``: adding a batch's int32 counts ``c`` to ``lo``
cannot overflow as long as ``c < 2**31 - 2**20`` (checked from the static batch shape by the
statistics), the carry ``(lo + c) >> 20`` moves to ``hi``, and ``hi`` holds up to ``2**31``
carries, so a counter reaches ``2**51``. The representation is canonical (``lo`` always below
``2**20``), so the words are bit-identical whatever the order of additions and merges. The host
combines the words into int64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxdissect.sharding import to_host

CARRY_BITS = 20
LOW_MASK = (1 << CARRY_BITS) - 1
MAX_BATCH_COUNT = (1 << 31) - (1 << CARRY_BITS) - 1  # largest count one update may add


@struct.dataclass
class WideCount:
    """Counters of any shape: ``value = hi * 2**20 + lo``, both int32, ``0 <= lo < 2**20``."""

    lo: jax.Array
    hi: jax.Array

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> WideCount:
        return cls(lo=jnp.zeros(shape, jnp.int32), hi=jnp.zeros(shape, jnp.int32))

    @classmethod
    def from_int64(cls, value: np.ndarray) -> WideCount:
        """Build from non-negative host integers (below 2**51)."""
        value = np.asarray(value, np.int64)
        if value.size and (value.min() < 0 or value.max() >= 1 << (31 + CARRY_BITS)):
            raise ValueError("WideCount holds integers from 0 to 2**51 - 1")
        return cls(
            lo=jnp.asarray((value & LOW_MASK).astype(np.int32)),
            hi=jnp.asarray((value >> CARRY_BITS).astype(np.int32)),
        )

    def add(self, counts: jax.Array) -> WideCount:
        """Add int32 ``counts`` (same shape, ``0 <= counts <= MAX_BATCH_COUNT``)."""
        total = self.lo + counts.astype(jnp.int32)
        return WideCount(lo=total & LOW_MASK, hi=self.hi + (total >> CARRY_BITS))

    def merge(self, other: WideCount) -> WideCount:
        """Exact sum of two counters of the same shape."""
        total = self.lo + other.lo
        return WideCount(lo=total & LOW_MASK, hi=self.hi + other.hi + (total >> CARRY_BITS))

    def to_numpy(self) -> np.ndarray:
        """The counts as int64 numpy (host side)."""
        lo, hi = to_host((self.lo, self.hi))
        return (np.asarray(hi, np.int64) << CARRY_BITS) + np.asarray(lo, np.int64)


def check_batch_count(count_per_update: int, what: str) -> None:
    """Raise when one update could add more than int32 words can carry (static shapes)."""
    if count_per_update > MAX_BATCH_COUNT:
        raise ValueError(
            f"{what}: one update may add {count_per_update} to a counter, above the "
            f"{MAX_BATCH_COUNT} one int32 update can carry; use a smaller batch"
        )
