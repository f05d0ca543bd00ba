"""What every dissectable model shares: layer validation and the ``Net`` wrapper.

A Flax model of this package is a ``flax.linen.Module`` whose ``__call__(x, layers=(),
edits=None)`` returns ``(output, acts)``, ``acts`` a dict of the requested layers' NHWC
activations, and which lists its dissectable layers in the class attribute ``LAYERS`` (names in
forward order). :class:`Net` binds such a module to its parameters and metadata; it is what
``jaxdissect.load`` returns.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from jaxdissect.models.edits import Edits, UnitEdit


def check_layers(requested: Sequence[str], valid: Sequence[str], model: str = "model", *,
                 nearest: bool = False, list_limit: int | None = None) -> None:
    """Raise a ValueError naming unknown layers and listing the valid ones: the one check of
    layer names (the package's models call it in ``__call__``, :meth:`Net.check_layers` and
    wrapped models before anything runs).

    ``nearest``: also name the valid names closest to each unknown one (module paths);
    ``list_limit``: past this many valid names, say how to list them instead of listing."""
    unknown = [name for name in requested if name not in valid]
    if not unknown:
        return
    near = []
    if nearest:
        for name in unknown:
            near += [n for n in nearest_names(name, valid) if n not in near]
    hint = f"; nearest: {', '.join(near)}" if near else ""
    if list_limit is not None and len(valid) > list_limit:
        listing = (f" ({len(valid)} layers; list them with `jaxdissect layers --model ...`)")
    else:
        listing = f"; dissectable layers are: {', '.join(valid)}"
    raise ValueError(f"unknown layer(s) {unknown} for {model}{hint}{listing}")


def nearest_names(name: str, valid: Sequence[str], count: int = 5) -> list[str]:
    """The names of ``valid`` closest to ``name`` (spelling, then the same last path part)."""
    names = list(valid)
    close = difflib.get_close_matches(name, names, n=count, cutoff=0.4)
    tail = name.rsplit("/", 1)[-1]
    same_tail = [n for n in names if n.rsplit("/", 1)[-1] == tail and n not in close]
    return (close + same_tail)[:count]


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


def as_normalization(value: Normalization | Mapping | None) -> Normalization | None:
    """A :class:`Normalization` from itself or its JSON form (``meta.json`` ``normalization``)."""
    if value is None or isinstance(value, Normalization):
        return value
    return Normalization(tuple(value["mean"]), tuple(value["std"]), int(value["size"]))


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

    # -- model facts: what the model reads --------------------------------------------------
    # Recorded in ``meta`` by whoever made the Net (``jaxdissect convert`` and the world models
    # from the architecture spec, ``jaxdissect.wrap`` from its arguments), else the registered
    # architecture's spec, else (a module bound by hand) the module's own ``normalization``.

    def _arch(self):
        from jaxdissect.models.registry import find_arch

        return find_arch((self.meta or {}).get("arch"))

    @property
    def inputs(self) -> str:
        """``"image"`` (uint8 RGB images; :attr:`normalization` makes them model input) or
        ``"latent"`` (a generator reading (N, :attr:`latent_size`) latents, returning RGB)."""
        recorded = (self.meta or {}).get("inputs")
        if recorded:
            return str(recorded)
        spec = self._arch()
        return spec.inputs if spec is not None else "image"

    @property
    def is_generator(self) -> bool:
        return self.inputs == "latent"

    @property
    def normalization(self) -> Normalization | None:
        """How uint8 images become this model's input (None: latents, or a model that
        prepares its images itself, as the segmenters do)."""
        meta = self.meta or {}
        if "normalization" in meta:
            return as_normalization(meta["normalization"])
        spec = self._arch()
        if spec is not None:
            return spec.normalization(meta.get("sizes") or {})
        norm = getattr(self.module, "normalization", None)
        return norm if isinstance(norm, Normalization) else None

    @property
    def latent_size(self) -> int | None:
        """The size Z of a generator's (N, Z) latents; None for an image model."""
        meta = self.meta or {}
        if meta.get("latent_dim"):
            return int(meta["latent_dim"])
        spec = self._arch()
        if spec is not None and spec.latent_size is not None:
            return int(spec.latent_size(meta.get("sizes") or {}))
        if self.inputs == "latent":
            raise ValueError(f"{self.name} reads latents but its metadata gives no latent "
                             "size; convert the model again, or wrap it with latent_dim=")
        return None

    def image_normalization(self) -> Normalization:
        """:attr:`normalization`, or a clear error for a model without one."""
        norm = self.normalization
        if norm is None:
            kind = "a generator (it reads latents)" if self.is_generator else (
                "a model without input normalisation")
            raise ValueError(f"{self.name} is {kind}: it has no input normalisation; this "
                             "needs a classifier, or pass inputs=... to say how batches become "
                             "inputs")
        return norm

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
