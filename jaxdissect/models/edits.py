"""Unit edits: the one mechanism for ablating and inserting units inside a model call.

An edit at a layer with ``U`` units and an ``(h, w)`` map replaces the activation ``a`` (NHWC) by

    a' = a * (1 - m) + values * m,    m[h, w, u] = units[u] * where[h, w]

``units`` is a 0/1 (or soft) mask over units, ``values`` the value written into edited units,
``where`` a spatial mask (all ones: the whole map). Zeroing units is ``values = 0``; inserting a
concept at a location sets ``values`` to a high activation inside ``where``.

Edits are plain arrays, so many of them evaluate in one compiled call: stack them on a leading
axis and ``jax.vmap`` the model over that axis (:func:`stack_edits`, and ``Net.apply_edits``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class UnitEdit:
    """An edit of one layer. Shapes: ``units (U,)``, ``values (U,)``, ``where (h, w)`` or None."""

    units: jax.Array
    values: jax.Array
    where: jax.Array | None = None

    def apply(self, x: jax.Array) -> jax.Array:
        """Apply to activations ``x`` of shape (N, h, w, U); keeps ``x``'s dtype."""
        if x.shape[-1] != self.units.shape[-1]:
            raise ValueError(
                f"edit has {self.units.shape[-1]} units but the layer has {x.shape[-1]}"
            )
        m = self.units.astype(x.dtype)[None, None, None, :]
        if self.where is not None:
            if tuple(self.where.shape) != tuple(x.shape[1:3]):
                raise ValueError(
                    f"edit mask has shape {tuple(self.where.shape)} but the layer map is "
                    f"{tuple(x.shape[1:3])}"
                )
            m = m * self.where.astype(x.dtype)[None, :, :, None]
        v = self.values.astype(x.dtype)[None, None, None, :]
        return x * (1 - m) + v * m


Edits = Mapping[str, UnitEdit]


def ablate(units: Sequence[int] | jax.Array, num_units: int) -> UnitEdit:
    """Zero the given units over the whole map."""
    mask = jnp.zeros((num_units,), jnp.float32).at[jnp.asarray(units, jnp.int32)].set(1.0)
    return UnitEdit(units=mask, values=jnp.zeros((num_units,), jnp.float32))


def insert(
    units: Sequence[int] | jax.Array,
    values: jax.Array | float,
    where: jax.Array,
    num_units: int,
) -> UnitEdit:
    """Set the given units to ``values`` (scalar, or one per unit of the layer) inside ``where``."""
    idx = jnp.asarray(units, jnp.int32)
    mask = jnp.zeros((num_units,), jnp.float32).at[idx].set(1.0)
    vals = jnp.broadcast_to(jnp.asarray(values, jnp.float32), (num_units,))
    return UnitEdit(units=mask, values=vals, where=jnp.asarray(where, jnp.float32))


def stack_edits(edits: Sequence[Edits]) -> dict[str, UnitEdit]:
    """Stack several edit dicts (same layers in each) on a new leading axis, for vmap."""
    if not edits:
        raise ValueError("stack_edits: no edits given")
    keys = set(edits[0])
    for e in edits[1:]:
        if set(e) != keys:
            raise ValueError(
                "stack_edits: every edit must name the same layers, got "
                f"{sorted(keys)} and {sorted(e)}"
            )
    return jax.tree.map(lambda *xs: jnp.stack(xs), *[dict(e) for e in edits])


def tap(
    name: str,
    x: jax.Array,
    layers: Sequence[str],
    edits: Edits | None,
    acts: dict[str, jax.Array],
) -> jax.Array:
    """Inside a model: edit the named layer's value if asked, record it if asked, pass it on."""
    if edits is not None and name in edits:
        x = edits[name].apply(x)
    if name in layers:
        acts[name] = x
    return x
