"""Semantic painting (PNAS 2020, section 5): draw or erase a concept by editing its units.

Each concept maps to its ``n`` units with the highest IoU (:func:`brush`, from a dissection's
``iou`` (U, C)). Painting a region (a boolean (h, w) mask at the layer's resolution) sets those
units to high values (typically each unit's 0.995 quantile,
:func:`~jaxdissect.interventions.insertion.unit_quantiles`) inside the region; erasing sets
them to zero there. Both are one :func:`~jaxdissect.models.edits.insert` edit, so the layer
changes exactly inside the region, for the brush's units only, and the model runs the rest of
its layers on the edited map. ``paint_many`` evaluates several strokes on the same inputs in
one compiled call (``Net.apply_edits``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.interventions.units import concept_units
from jaxdissect.models.base import Net
from jaxdissect.models.edits import UnitEdit, insert, stack_edits


@dataclass(frozen=True)
class Brush:
    """A concept's ``units`` (int, best first) at ``layer`` and the ``values`` (float32 (U,))
    that painting writes."""

    layer: str
    units: np.ndarray
    values: np.ndarray

    @property
    def num_units(self) -> int:
        return len(self.values)


def brush(iou: np.ndarray, concept: int, layer: str, values, count: int = 20) -> Brush:
    """The brush of ``concept``: its ``count`` units of highest IoU in ``iou`` (U, C), painting
    ``values`` (scalar or (U,), e.g. unit quantiles)."""
    width = np.asarray(iou).shape[0]
    vals = np.broadcast_to(np.asarray(values, np.float32), (width,)).copy()
    return Brush(layer=layer, units=concept_units(iou, concept, count), values=vals)


def _region(region) -> jax.Array:
    """An (h, w) mask as float32 (the edit checks it against the layer's map size)."""
    mask = np.asarray(region)
    if mask.ndim != 2:
        raise ValueError(f"a region is an (h, w) mask at the layer's resolution, got shape "
                         f"{mask.shape}")
    return jnp.asarray(mask, jnp.float32)


def stroke(brush: Brush, region, erase: bool = False) -> UnitEdit:
    """The edit of one stroke: the brush's units set to its values (or 0 when ``erase``)
    inside ``region`` (h, w) bool."""
    values = 0.0 if erase else brush.values
    return insert(brush.units, values, _region(region), brush.num_units)


def paint(net: Net, inputs: jax.Array, brush: Brush, region, *, erase: bool = False,
          layers: Sequence[str] = ()):
    """Run ``net`` on ``inputs`` with one stroke; returns ``(output, acts)`` as ``net(...)``
    (``acts`` of ``layers``, the brush's layer edited)."""
    return net(inputs, layers=layers, edits={brush.layer: stroke(brush, region, erase)})


def erase(net: Net, inputs: jax.Array, brush: Brush, region, *, layers: Sequence[str] = ()):
    """:func:`paint` with ``erase=True``: the brush's units zeroed inside ``region``."""
    return paint(net, inputs, brush, region, erase=True, layers=layers)


def paint_many(net: Net, inputs: jax.Array, strokes: Sequence[tuple[Brush, object, bool]],
               layers: Sequence[str] = ()):
    """Several ``(brush, region, erase)`` strokes (same layer), each applied alone to the same
    ``inputs``, in one compiled call: outputs and acts with a leading stroke axis."""
    if not strokes:
        raise ValueError("paint_many: no strokes given")
    layer_names = {b.layer for b, _, _ in strokes}
    if len(layer_names) != 1:
        raise ValueError(f"paint_many: strokes must share one layer, got {sorted(layer_names)}")
    edits = [{b.layer: stroke(b, region, erase_it)} for b, region, erase_it in strokes]
    return net.apply_edits(inputs, stack_edits(edits), layers)
