"""The top-k images of every unit, ranked by a per-image score, as a mergeable streaming state.

The score of an image for a unit is the spatial maximum of the unit's raw (not upsampled)
activation, computed by the caller. Ranking is a total order: value descending, then dataset
index ascending, so the k kept images are a function of the *set* of (score, index) pairs seen,
not of batch sizes, device counts or merge order: results are bit-identical however the data is
split. ``-0.0`` ranks as ``+0.0`` (see :mod:`jaxdissect.stats.order_key`). Dataset indices must be
distinct and in ``[0, 2**31 - 2]``; each image must be streamed once. NaN scores in valid rows set
``saw_nan`` and :meth:`TopK.finalize` raises: reject them upstream.

Each update sorts ``k + B`` rows per unit (``lax.sort`` with two keys), cheap next to the
quantile and counting passes; memory is ``k x U`` values and indices.
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


@struct.dataclass
class TopKState:
    """values (k, U) float32 and indices (k, U) int32, best first; ``saw_nan`` () bool."""

    values: jax.Array
    indices: jax.Array
    saw_nan: jax.Array


@dataclasses.dataclass(frozen=True)
class TopK:
    """Static configuration (hashable): ``k`` best images for each of ``num_units`` units."""

    num_units: int
    k: int = 100

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
        values, kept = self._best(
            jnp.concatenate([state.values, batch_values]),
            jnp.concatenate([state.indices, batch_indices]),
        )
        nan = jnp.any(jnp.isnan(scores) & valid)
        return TopKState(values=values, indices=kept, saw_nan=state.saw_nan | nan)

    def merge(self, a: TopKState, b: TopKState) -> TopKState:
        """The top k of the union of two disjoint streams."""
        values, kept = self._best(
            jnp.concatenate([a.values, b.values]), jnp.concatenate([a.indices, b.indices])
        )
        return TopKState(values=values, indices=kept, saw_nan=a.saw_nan | b.saw_nan)

    def _best(self, values: jax.Array, indices: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Sort (n, U) rows per unit by (value desc, index asc) and keep the first k."""
        descending = ~float32_order_key(values)
        _, indices, values = jax.lax.sort((descending, indices, values), dimension=0, num_keys=2)
        return values[: self.k], indices[: self.k]

    def finalize(self, state: TopKState) -> tuple[np.ndarray, np.ndarray]:
        """values float32 (U, k) and indices int64 (U, k), best first; -inf / -1 where unfilled."""
        values, indices, saw_nan = to_host((state.values, state.indices, state.saw_nan))
        if bool(saw_nan):
            raise ValueError("TopK: NaN scores in valid rows; check the model and inputs")
        indices = np.asarray(indices, np.int64)
        empty = indices == EMPTY_INDEX
        values = np.where(empty, -np.inf, values).astype(np.float32)
        return values.T.copy(), np.where(empty, -1, indices).T.copy()
