"""The top-k images of every unit, ranked by a per-image score, as a mergeable streaming state.

The score of an image for a unit is the spatial maximum of the unit's raw (not upsampled)
activation, computed by the caller. Ranking is a total order: value descending, then dataset
index ascending, so the k kept images are a function of the *set* of (score, index) pairs seen,
not of batch sizes, device counts or merge order: results are bit-identical however the data is
split. ``-0.0`` ranks as ``+0.0`` (see :mod:`jaxdissect.stats.order_key`). Dataset indices must be
distinct and in ``[0, 2**31 - 2]``; each image must be streamed once. NaN scores in valid rows set
``saw_nan`` and :meth:`TopK.finalize` raises: reject them upstream.

An update merges the batch into the sorted state by counting, for each entry, the entries ranked
above it (batch x (k + batch) x U comparisons) and scattering it to that position: ~10x faster
on XLA:CPU than sorting the k + B rows of every unit with ``lax.sort``, which is used instead
when more than ``pairwise_up_to`` rows arrive at once (big global batches; 0: always, as on
TPU, where a scatter compiles into a serial loop). Both give the same bits. Memory is
``k x U`` values and indices.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxdissect.sharding import to_host
from jaxdissect.stats.order_key import float32_order_key

EMPTY_INDEX = np.iinfo(np.int32).max  # unfilled slot; ranks after any real image
MAX_PAIRWISE = 128  # rows merged by pairwise ranking; beyond, by sorting


@struct.dataclass
class TopKState:
    """values (k, U) float32 and indices (k, U) int32, best first; ``saw_nan`` () bool."""

    values: jax.Array
    indices: jax.Array
    saw_nan: jax.Array


@dataclasses.dataclass(frozen=True)
class TopK:
    """Static configuration (hashable): ``k`` best images for each of ``num_units`` units;
    ``pairwise_up_to``: the most new rows merged by pairwise ranking (a scatter), else a sort."""

    num_units: int
    k: int = 100
    pairwise_up_to: int = MAX_PAIRWISE

    def __post_init__(self):
        if self.num_units < 1 or self.k < 1:
            raise ValueError(f"TopK(num_units={self.num_units}, k={self.k}): both must be >= 1")

    def init(self) -> TopKState:
        shape = (self.k, self.num_units)
        return TopKState(
            values=jnp.full(shape, -jnp.inf, jnp.float32),
            indices=jnp.full(shape, EMPTY_INDEX, jnp.int32),
            saw_nan=jnp.zeros((), bool),
        )

    def update(
        self, state: TopKState, scores: jax.Array, indices: jax.Array, mask: jax.Array
    ) -> TopKState:
        """``scores`` (B, U) float, ``indices`` (B,) int dataset indices, ``mask`` (B,) bool."""
        scores = jnp.asarray(scores)
        batch = scores.shape[0]
        if scores.ndim != 2 or scores.shape[1] != self.num_units:
            raise ValueError(
                f"TopK.update: scores must be (batch, {self.num_units}), got {scores.shape}"
            )
        if tuple(jnp.shape(indices)) != (batch,) or tuple(jnp.shape(mask)) != (batch,):
            raise ValueError(
                f"TopK.update: indices {jnp.shape(indices)} and mask {jnp.shape(mask)} must be "
                f"({batch},)"
            )
        valid = jnp.asarray(mask, bool)[:, None]
        scores = scores.astype(jnp.float32)
        batch_values = jnp.where(valid, scores, -jnp.inf)
        batch_indices = jnp.where(valid, jnp.asarray(indices, jnp.int32)[:, None], EMPTY_INDEX)
        batch_indices = jnp.broadcast_to(batch_indices, batch_values.shape)
        values, kept = self._merge_sorted(state.values, state.indices, batch_values, batch_indices)
        nan = jnp.any(jnp.isnan(scores) & valid)
        return TopKState(values=values, indices=kept, saw_nan=state.saw_nan | nan)

    def merge(self, a: TopKState, b: TopKState) -> TopKState:
        """The top k of the union of two disjoint streams."""
        values, kept = self._merge_sorted(a.values, a.indices, b.values, b.indices)
        return TopKState(values=values, indices=kept, saw_nan=a.saw_nan | b.saw_nan)

    def _merge_sorted(self, values, indices, new_values, new_indices):
        """Keep the best k of a sorted (k, U) state and (n, U) new rows (any order)."""
        if new_values.shape[0] > self.pairwise_up_to:
            descending = ~float32_order_key(jnp.concatenate([values, new_values]))
            _, kept, best = jax.lax.sort(
                (descending, jnp.concatenate([indices, new_indices]),
                 jnp.concatenate([values, new_values])),
                dimension=0, num_keys=2,
            )
            return best[: self.k], kept[: self.k]
        state_key, new_key = float32_order_key(values), float32_order_key(new_values)
        # new_above[j, i, u]: new row j ranks strictly above state row i for unit u.
        new_above = _ranks_above(new_key[:, None], new_indices[:, None], state_key[None],
                                 indices[None])
        state_position = jnp.arange(self.k)[:, None] + new_above.sum(0)
        rows = jnp.arange(new_values.shape[0])
        among_new = _ranks_above(new_key[:, None], new_indices[:, None], new_key[None],
                                 new_indices[None], rows[:, None, None] < rows[None, :, None])
        new_position = self.k - new_above.sum(1) + among_new.sum(0)
        position = jnp.concatenate([state_position, new_position])  # a permutation per unit
        unit = jnp.broadcast_to(jnp.arange(self.num_units), position.shape)
        best = jnp.full((self.k, self.num_units), -jnp.inf, jnp.float32)
        best = best.at[position, unit].set(jnp.concatenate([values, new_values]), mode="drop")
        kept = jnp.full((self.k, self.num_units), EMPTY_INDEX, jnp.int32)
        kept = kept.at[position, unit].set(jnp.concatenate([indices, new_indices]), mode="drop")
        return best, kept

    def finalize(self, state: TopKState) -> tuple[np.ndarray, np.ndarray]:
        """values float32 (U, k) and indices int64 (U, k), best first; -inf / -1 where unfilled."""
        values, indices, saw_nan = to_host((state.values, state.indices, state.saw_nan))
        if bool(saw_nan):
            raise ValueError("TopK: NaN scores in valid rows; check the model and inputs")
        indices = np.asarray(indices, np.int64)
        empty = indices == EMPTY_INDEX
        values = np.where(empty, -np.inf, values).astype(np.float32)
        return values.T.copy(), np.where(empty, -1, indices).T.copy()


def _ranks_above(key_a, index_a, key_b, index_b, earlier=False):
    """a ranks strictly above b: larger key, or equal key and smaller index (or, for equal
    entries, ``earlier``: the position tie-break that keeps ranks a permutation)."""
    same = key_a == key_b
    return (key_a > key_b) | (same & (index_a < index_b)) | (same & (index_a == index_b) & earlier)
