"""Exact per-unit thresholds: the order statistic at level ``1 - q`` by streaming radix selection.

Unit ``u``'s threshold ``t_u`` is the k-th largest of its ``n`` values over every pixel of every
valid image, ``k = max(1, ceil(q * n))``, so that ``count(a > t) <= q * n <= count(a >= t)``.
``q`` is taken as the decimal it prints as (``0.01`` is exactly 1/100), so ``q * n`` is exact.

Radix selection: values are mapped to an order-preserving uint32 key
(:mod:`jaxdissect.stats.order_key`); pass ``p`` histograms the next ``bits_per_pass[p]`` key bits
(2048 bins for 11 bits) of the values whose higher bits equal the prefix fixed by the earlier
passes. Between passes, :meth:`ExactQuantile.next_pass` walks each unit's histogram from the top,
fixes the bin that holds the k-th largest value and keeps the rank inside it. After 32 bits the
prefix is the threshold's key: exact, with integer counts only, so results are bit-identical for
any batch size, device count or merge order. Every pass streams the same data (the driver
re-reads cached activations); ``next_pass`` checks that each pass saw as many values as pass 0.

No early exit: a unit's threshold is known before the last pass only if all of its candidates
are equal, and detecting that needs a min/max over every candidate, measured on XLA:CPU at +25%
of a pass (pass 0) and about +3x (later passes, where the min/max is masked), for a gain only
when *every* unit is settled, which real layers never are. ``done`` is True once the last pass
is streamed.

Values are upcast to float32 before keying (a bf16 or float16 input gives the threshold of its
float32 values). ``-0.0`` counts as ``+0.0``. NaN must be rejected upstream: a NaN in a valid row
seen by :meth:`ExactQuantile.update` sets ``saw_nan`` and ``next_pass`` / ``finalize`` raise
(:meth:`ExactQuantile.histogram`, the int32 half of an update, does not check). Memory: two int32
words per bin and unit (8 MiB for 512 units at 11 bits).

Speed on XLA:CPU: the scatter-add costs ~1-2 ns per value while its temporaries (the values, an
int32 index and a count per value) stay in the caches, and several times more once they spill
(one whole batch at once: a 2.5x slower pass per image at 2 images of 56x56x512 than at 1). The
dissection engine therefore calls :meth:`histogram` on one block of rows of one image at a time
in a loop on each device, sums int32 histograms, and adds them to the wide counts once per
batch; :meth:`update` with a big batch counts in spatial chunks. A comparison-sum costs ~0.8 ns
per value *per bin* (~1000x the scatter-add at 2048 bins).

Two ways to count a pass's digits (``count_with``), same integers:

* ``"scatter"`` (default): one scatter-add per value into the (nb * U,) histogram; values that
  are not candidates get an index past the end and are dropped.
* ``"matmul"`` (no scatter, for TPUs, where XLA compiles a scatter into a serial loop): the digit
  is split into a high and a low part, each a 0/1 one-hot (bfloat16, exact), and the per-unit
  histogram is a batched matmul ``hist[u, a, b] = sum_n hi[n, u, a] * lo[n, u, b]`` with float32
  accumulation (exact while a call sees fewer than 2**24 values per unit, checked). Candidates
  only enter through the one-hots: the matrix units do the same work for every value.

:meth:`ExactQuantile.histogrammed` says how many values of each unit entered a pass's
histogram (pass 0: all of them; later passes: the candidates, those sharing the fixed prefix).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxdissect.sharding import to_host
from jaxdissect.stats.order_key import float32_order_key, key_to_float32
from jaxdissect.stats.wide_count import WideCount, check_batch_count

KEY_BITS = 32
CHUNK_ABOVE = 1 << 23  # values per update above which the batch is counted in spatial chunks
CHUNK_SIZE = 1 << 21  # target values per chunk
COUNT_WITH = ("scatter", "matmul")
MATMUL_EXACT = 1 << 24  # float32 accumulates 0/1 products exactly below this many values


@struct.dataclass
class QuantileState:
    """Per-pass state. ``U`` units, ``nb = 2**bits_per_pass[pass_index]`` bins.

    hist: (nb, U) counts of the pass's key digit among candidates (values matching ``prefix``).
    prefix: (U,) uint32 key bits fixed so far (low bits zero); the threshold's key at the end.
    rank: (U,) the rank sought among candidates, from the largest (1-based); 0 during pass 0.
    seen: () values per unit streamed in this pass; total: () values per unit in pass 0.
    saw_nan: () bool, a NaN was seen in a valid row.
    """

    hist: WideCount
    prefix: jax.Array
    rank: WideCount
    seen: WideCount
    total: WideCount
    saw_nan: jax.Array
    pass_index: int = struct.field(pytree_node=False)


@dataclasses.dataclass(frozen=True)
class ExactQuantile:
    """Static configuration (hashable). ``q``: fraction of values above the threshold;
    ``count_with``: how a pass counts digits (see the module docstring)."""

    num_units: int
    q: float = 0.01
    bits_per_pass: tuple[int, ...] = (11, 11, 10)
    count_with: str = "scatter"

    def __post_init__(self):
        object.__setattr__(self, "bits_per_pass", tuple(int(b) for b in self.bits_per_pass))
        if self.num_units < 1:
            raise ValueError(f"num_units={self.num_units}: need at least one unit")
        if not 0.0 <= self.q <= 1.0:
            raise ValueError(f"q={self.q}: the fraction of values above the threshold is in [0, 1]")
        if sum(self.bits_per_pass) != KEY_BITS or not all(1 <= b <= 16 for b in self.bits_per_pass):
            raise ValueError(
                f"bits_per_pass={self.bits_per_pass}: the bits must sum to 32, each from 1 to 16"
            )
        if self.count_with not in COUNT_WITH:
            raise ValueError(f"count_with={self.count_with!r}: choose one of {COUNT_WITH}")

    @property
    def num_passes(self) -> int:
        return len(self.bits_per_pass)

    def rank_of(self, n: int) -> int:
        """k = max(1, ceil(q * n)): the threshold is the k-th largest of n values."""
        return max(1, math.ceil(Fraction(repr(float(self.q))) * n))

    def init(self) -> QuantileState:
        """The state for pass 0."""
        u = self.num_units
        return self._pass_state(
            0,
            prefix=np.zeros(u, np.uint32),
            rank=np.zeros(u, np.int64),
            total=0,
        )

    def _pass_state(self, pass_index, prefix, rank, total) -> QuantileState:
        u = self.num_units
        bins = 1 << self.bits_per_pass[pass_index] if pass_index < self.num_passes else 0
        return QuantileState(
            hist=WideCount.zeros((bins, u)),
            prefix=jnp.asarray(prefix, jnp.uint32),
            rank=WideCount.from_int64(rank),
            seen=WideCount.zeros(()),
            total=WideCount.from_int64(np.int64(total)),
            saw_nan=jnp.zeros((), bool),
            pass_index=pass_index,
        )

    def _digit_layout(self, pass_index: int) -> tuple[int, int, int]:
        """(bits, shift of the digit, mask of the fixed high bits) for a pass."""
        fixed = sum(self.bits_per_pass[:pass_index])
        bits = self.bits_per_pass[pass_index]
        high_mask = (0xFFFFFFFF << (KEY_BITS - fixed)) & 0xFFFFFFFF if fixed else 0
        return bits, KEY_BITS - fixed - bits, high_mask

    def update(self, state: QuantileState, x: jax.Array, mask: jax.Array) -> QuantileState:
        """Count a batch. ``x`` (B, ..., U) float32/bf16/float16, ``mask`` (B,) bool. Jittable;
        independent of ``q`` (which enters in :meth:`next_pass`).

        The same as :meth:`histogram` into :meth:`empty_histogram`, then :meth:`add_histogram`,
        plus a NaN check of ``x`` (the two-step form lets a caller sum the histograms of many
        batches, or of a loop over images, in int32 before one wide addition)."""
        values = _as_batch_of_units(x, mask, self.num_units)
        counts = self.histogram(state, values, mask, self.empty_histogram(state))
        valid = jnp.asarray(mask, bool)
        nan_rows = jnp.isnan(values.max(axis=(1, 2)).astype(jnp.float32)) & valid
        state = self.add_histogram(state, counts, jnp.sum(valid, dtype=jnp.int32) * values.shape[1])
        return state.replace(saw_nan=state.saw_nan | jnp.any(nan_rows))

    def empty_histogram(self, state: QuantileState) -> jax.Array:
        """Zero int32 counts for :meth:`histogram` in ``state``'s pass, flat (nb * U,)."""
        self._check_pass(state)
        return jnp.zeros(((1 << self.bits_per_pass[state.pass_index]) * self.num_units,),
                         jnp.int32)

    def histogram(self, state: QuantileState, x: jax.Array, mask: jax.Array,
                  counts: jax.Array) -> jax.Array:
        """``counts`` plus the histogram of this pass's key digit over the candidates of ``x``
        (B, ..., U) in valid rows (``mask`` (B,)); int32 (nb * U,), bin-major. Jittable. The
        caller keeps the int32 sum below :data:`~jaxdissect.stats.wide_count.MAX_BATCH_COUNT`
        values per unit before :meth:`add_histogram`; NaN is not checked here."""
        self._check_pass(state)
        values = _as_batch_of_units(x, mask, self.num_units)
        batch, spatial, units = values.shape
        check_batch_count(batch * spatial, "ExactQuantile.histogram")
        bits, shift, high_mask = self._digit_layout(state.pass_index)
        valid = jnp.asarray(mask, bool)
        size = (1 << bits) * units

        def count(chunk, counts):  # chunk (B, s, U): histogram its candidates' digits
            key = float32_order_key(chunk)
            candidate = jnp.broadcast_to(valid[:, None, None], key.shape)
            if high_mask:
                # Candidates share the prefix's high bits: key - prefix (wrapping) is below
                # 2**(shift + bits) exactly for them, and is then the key's low bits (about 10%
                # faster in a microbenchmark on XLA:CPU than masking the key and comparing).
                key = key - state.prefix
                candidate = candidate & (key < jnp.uint32(1 << (shift + bits)))
            digit = ((key >> shift) & jnp.uint32((1 << bits) - 1)).astype(jnp.int32)
            if self.count_with == "matmul":
                return counts + _matmul_histogram(digit, candidate, bits)
            # Bin-major flat index (the histogram is (nb, U), so the unit axis, last in the
            # values, walks along memory); non-candidates point past the end and are dropped
            # (a negative index would wrap around instead).
            index = jnp.where(candidate, digit * units + jnp.arange(units, dtype=jnp.int32), size)
            return counts.at[index.reshape(-1)].add(1, mode="drop")

        return _count_in_chunks(count, values, counts)

    def histogrammed(self, state: QuantileState) -> np.ndarray:
        """Host side: int64 (U,) values of each unit that entered this pass's histogram so far
        (all values in pass 0; the candidates sharing the fixed prefix in later passes)."""
        return state.hist.to_numpy().sum(axis=0)

    def add_histogram(self, state: QuantileState, counts: jax.Array,
                      values_per_unit: jax.Array) -> QuantileState:
        """Add int32 ``counts`` from :meth:`histogram` (at most ``MAX_BATCH_COUNT`` per bin),
        made from ``values_per_unit`` valid values of each unit, to the state."""
        bins = 1 << self.bits_per_pass[state.pass_index]
        return state.replace(
            hist=state.hist.add(counts.reshape(bins, self.num_units)),
            seen=state.seen.add(jnp.asarray(values_per_unit, jnp.int32)),
        )

    def _check_pass(self, state: QuantileState) -> None:
        if state.pass_index >= self.num_passes:
            raise ValueError("ExactQuantile: every pass is done; call finalize()")

    def merge(self, a: QuantileState, b: QuantileState) -> QuantileState:
        """Combine two states of the same pass (disjoint data); exact and order-free."""
        if a.pass_index != b.pass_index:
            raise ValueError(f"cannot merge states of passes {a.pass_index} and {b.pass_index}")
        return a.replace(
            hist=a.hist.merge(b.hist),
            seen=a.seen.merge(b.seen),
            saw_nan=a.saw_nan | b.saw_nan,
        )

    def next_pass(self, state: QuantileState) -> QuantileState:
        """Host side, between passes: fix each unit's next key digit; returns the next pass's state.

        After the last pass the state is final (``pass_index == num_passes``, ``prefix`` holds the
        thresholds' keys); calling ``next_pass`` on a final state returns it unchanged.
        """
        p = state.pass_index
        if p >= self.num_passes:
            return state
        self._check_clean(state)
        seen = int(state.seen.to_numpy())
        if p == 0:
            if seen == 0:
                raise ValueError("ExactQuantile: pass 0 saw no valid values (all rows masked?)")
            total, rank = seen, np.full(self.num_units, self.rank_of(seen), np.int64)
        else:
            total, rank = int(state.total.to_numpy()), state.rank.to_numpy()
            if seen != total:
                raise ValueError(
                    f"ExactQuantile: pass {p} saw {seen} values per unit but pass 0 saw {total}; "
                    "every pass must stream the same images"
                )
        _, shift, _ = self._digit_layout(p)
        digit, rank = _select_digit(state.hist.to_numpy(), rank, p)
        prefix = np.asarray(to_host(state.prefix)) | (digit.astype(np.uint32) << np.uint32(shift))
        return self._pass_state(p + 1, prefix, rank, total)

    def done(self, state: QuantileState) -> bool:
        """True when :meth:`finalize` can answer: the last pass is streamed (or narrowed)."""
        if state.pass_index >= self.num_passes:
            return True
        if state.pass_index < self.num_passes - 1:
            return False
        total = int(state.total.to_numpy())
        return total > 0 and int(state.seen.to_numpy()) == total

    def finalize(self, state: QuantileState) -> np.ndarray:
        """Float32 (U,) thresholds. Raises unless :meth:`done`."""
        if not self.done(state):
            raise ValueError(
                f"ExactQuantile.finalize: {self.num_passes} passes over the data are needed and "
                f"this state is in pass {state.pass_index}; stream the data again after next_pass()"
            )
        if state.pass_index < self.num_passes:
            state = self.next_pass(state)
        return key_to_float32(np.asarray(to_host(state.prefix)))

    def _check_clean(self, state: QuantileState) -> None:
        if bool(to_host(state.saw_nan)):
            raise ValueError(
                "ExactQuantile: NaN activations in valid rows; a threshold over NaN is undefined. "
                "Check the model and inputs (or mask those images)"
            )


def _as_batch_of_units(x: jax.Array, mask: jax.Array, num_units: int) -> jax.Array:
    """Check shapes; (B, ..., U) -> (B, S, U) in the input dtype."""
    x = jnp.asarray(x)
    if x.ndim < 2 or x.shape[-1] != num_units:
        raise ValueError(
            f"expected values of shape (batch, ..., {num_units}) with units last, got {x.shape}"
        )
    if tuple(mask.shape) != (x.shape[0],):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match batch {x.shape[0]}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"values must be floating point, got {x.dtype}")
    return x.reshape(x.shape[0], -1, num_units)


def _count_in_chunks(count, values: jax.Array, counts: jax.Array) -> jax.Array:
    """``count(chunk, counts)`` over (B, S, U) values, in spatial chunks when the batch is big.

    The scatter's temporaries (an int32 index and a count per value) are made per chunk, so they
    stay small. Chunks run in a loop over the spatial axis, which is never sharded (a loop over
    the batch axis would gather it onto every device). The dissection engine does better: it
    loops over images and row blocks per device, so the values are never all in memory.
    """
    batch, spatial, units = values.shape
    if batch * spatial * units <= CHUNK_ABOVE:
        return count(values, counts)
    # The fewest pieces that divide the spatial axis into chunks of at most CHUNK_SIZE values.
    divisors = [n for n in range(1, spatial + 1) if spatial % n == 0]
    pieces = next((n for n in divisors if batch * units * (spatial // n) <= CHUNK_SIZE), spatial)
    chunks = values.reshape(batch, pieces, spatial // pieces, units)
    return jax.lax.fori_loop(
        0, pieces,
        lambda i, c: count(jax.lax.dynamic_index_in_dim(chunks, i, 1, keepdims=False), c),
        counts,
    )


def _matmul_histogram(digit: jax.Array, candidate: jax.Array, bits: int) -> jax.Array:
    """Bin-major int32 (2**bits * U,) histogram of the candidates' ``digit`` (B, s, U), without
    a scatter: two 0/1 one-hots (high and low half of the digit) and a matmul per unit."""
    batch, spatial, units = digit.shape
    n = batch * spatial
    if n >= MATMUL_EXACT:
        raise ValueError(f"ExactQuantile(count_with='matmul'): {n} values per unit in one call; "
                         "use a smaller batch")
    low_bits = bits // 2
    high, low = digit >> low_bits, digit & ((1 << low_bits) - 1)

    def one_hot(part, size, on):
        hot = (part.reshape(n, units)[..., None] == jnp.arange(size, dtype=jnp.int32)) & on
        return hot.astype(jnp.bfloat16)

    on = candidate.reshape(n, units)[..., None]
    hist = jnp.einsum("nua,nub->abu", one_hot(high, 1 << (bits - low_bits), on),
                      one_hot(low, 1 << low_bits, jnp.bool_(True)),
                      preferred_element_type=jnp.float32)
    return hist.astype(jnp.int32).reshape(-1)


def _select_digit(hist: np.ndarray, rank: np.ndarray, pass_index: int):
    """Walk (nb, U) int64 histograms from the top: the bin holding the rank-th largest, per unit.

    Returns (digit (U,), rank within that bin (U,)).
    """
    from_top = np.cumsum(hist[::-1], axis=0)
    if np.any(from_top[-1] < rank):
        raise ValueError(
            f"ExactQuantile: pass {pass_index} found fewer candidates than earlier passes counted; "
            "every pass must stream the same images"
        )
    first = np.argmax(from_top >= rank[None, :], axis=0)
    digit = hist.shape[0] - 1 - first
    above = from_top[first, np.arange(hist.shape[1])] - hist[digit, np.arange(hist.shape[1])]
    return digit, rank - above
