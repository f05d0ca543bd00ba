"""What every dissectable model shares: layer validation and the ``Net`` wrapper.

A Flax model of this package is a ``flax.linen.Module`` whose ``__call__(x, layers=(),
edits=None)`` returns ``(output, acts)``, ``acts`` a dict of the requested layers' NHWC
activations, and which lists its dissectable layers in the class attribute ``LAYERS`` (names in
forward order). :class:`Net` binds such a module to its parameters and metadata; it is what
``jaxdissect.load`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from jaxdissect.models.edits import Edits, UnitEdit


def check_layers(requested: Sequence[str], valid: Sequence[str], model: str = "model") -> None:
    """Raise a ValueError naming unknown layers and listing the valid ones."""
    unknown = [name for name in requested if name not in valid]
    if unknown:
        raise ValueError(
            f"unknown layer(s) {unknown} for {model}; dissectable layers are: {', '.join(valid)}"
        )


@dataclass(frozen=True)
class Normalization:
    """How raw images become model input: ``(x / 255 - mean) / std`` on RGB in [0, 255]."""

    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    size: int = 224

    def __call__(self, images_uint8: jax.Array) -> jax.Array:
        """(N, H, W, 3) uint8 -> float32 normalised, NHWC."""
        x = jnp.asarray(images_uint8, jnp.float32) / 255.0
        return (x - jnp.asarray(self.mean)) / jnp.asarray(self.std)


@dataclass
class Net:
    """A model bound to its parameters: ``output, acts = net(x, layers=[...], edits={...})``.

    ``dtype`` is the compute dtype (float32 or bfloat16, explicit). Calls are jitted once per
    set of requested layers and edited layers.
    """

    module: Any
    params: Any
    meta: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def layer_names(self) -> list[str]:
        return list(self.module.LAYERS)

    @property
    def name(self) -> str:
        """The model's name in messages: ``meta["name"]``, else the module's class."""
        return str((self.meta or {}).get("name") or type(self.module).__name__)

    def check_layers(self, names: Sequence[str], label: str | None = None, *,
                     edits: bool = False, maps_only: bool = False) -> None:
        """Raise a ValueError for names that are not layers of this model (``edits``: layers
        that cannot be edited; ``maps_only``: names that are no map, as a dissection needs)."""
        check = getattr(self.module, "check_names", None)
        if check is not None:
            check(tuple(names), label or self.name, edits=edits, maps_only=maps_only)
        else:
            check_layers(names, self.layer_names, label or self.name)

    def _fn(self, layers: tuple[str, ...], edit_layers: tuple[str, ...], vmapped: bool):
        key = (layers, edit_layers, vmapped)
        if key not in self._cache:
            module = self.module

            def run(params, x, edits):
                return module.apply({"params": params}, x, layers=layers, edits=edits)

            if vmapped:
                run = jax.vmap(run, in_axes=(None, None, 0))
            self._cache[key] = jax.jit(run)
        return self._cache[key]

    def __call__(self, x: jax.Array, layers: Sequence[str] = (), edits: Edits | None = None):
        layers = tuple(layers)
        self.check_layers(layers)
        edits = dict(edits or {})
        self.check_layers(tuple(edits), edits=True)
        return self._fn(layers, tuple(sorted(edits)), False)(self.params, x, edits)

    def apply_edits(self, x: jax.Array, edits: Mapping[str, UnitEdit], layers: Sequence[str] = ()):
        """Evaluate many edits in one compiled call: every leaf of ``edits`` has a leading axis E
        (see ``stack_edits``); returns outputs and activations with a leading axis E."""
        layers = tuple(layers)
        self.check_layers(layers)
        self.check_layers(tuple(edits), edits=True)
        return self._fn(layers, tuple(sorted(edits)), True)(self.params, x, dict(edits))

    def layer_shapes(self, batch_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """Shape (without batch) of every dissectable layer for an input of ``batch_shape``."""
        x = jax.ShapeDtypeStruct(tuple(batch_shape), jnp.float32)
        _, acts = jax.eval_shape(
            lambda p, x: self.module.apply({"params": p}, x, layers=tuple(self.layer_names)),
            self.params,
            x,
        )
        return {k: tuple(v.shape[1:]) for k, v in acts.items()}
