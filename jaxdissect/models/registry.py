"""Architecture registry: one entry per ``--arch`` name, shared by the converter and the loader.

An :class:`ArchSpec` ties an architecture name to

- ``build(sizes, dtype) -> flax.linen.Module``: the Flax model for the sizes read from a
  checkpoint (``sizes`` is the JSON-able dict stored in ``meta.json``, e.g. ``num_classes``);
- ``inputs``: ``"image"`` (the default) or ``"latent"`` (a generator: it reads (N, Z) latents
  and returns RGB in [-1, 1]), with ``latent_size(sizes) -> Z``;
- ``normalization(sizes) -> Normalization | None``: how uint8 images become the model's input
  (``None`` for a generator, or a model that prepares its images itself, as the segmenters);
- ``default_layer``: the layer dissected when none is named;
- ``converter`` (optional): ``"module:function"`` naming ``function(state) -> (params, sizes)``,
  where ``state`` maps torch keys to float32 numpy arrays and ``params`` is the Flax params
  pytree; an architecture with no published checkpoint (the world models) registers without;
- ``detector`` (optional): ``"module:function"`` naming ``function(keys) -> bool``, true when a
  set of torch keys has this architecture's layout (used when ``--arch`` is not given);
- ``loader`` (optional): ``"module:function"`` naming ``function(path) -> state`` for sources
  that are not one ``.pth`` file (default ``ports.common.load_state_dict``).

These facts (``inputs``, ``normalization``, ``latent_size``) are the one source of what a model
reads: ``jaxdissect convert`` records them in ``meta.json`` and :class:`~jaxdissect.models.base.Net`
exposes them as properties.

Converters and detectors are named by strings and imported only when used, so this module (and
every model module) stays free of torch and of the ``ports`` package.

Adding a family takes one call at the bottom of its model module, for example::

    register_arch(ArchSpec(
        name="proggan", build=lambda sizes, dtype: ProgressiveGenerator(sizes["sizes"], dtype),
        normalization=lambda sizes: None, default_layer="layer4",
        converter="ports.proggan:convert", detector="ports.proggan:matches",
        inputs="latent", latent_size=lambda sizes: sizes["sizes"][0]))

Every module and subpackage of ``jaxdissect.models`` is imported on the first lookup, so a new
module that calls ``register_arch`` is found without editing this file (a subpackage registers
from its ``__init__``). An architecture registered by a module elsewhere is known once that
module is imported; model folders record it (``meta.json`` ``arch_module``) and
``jaxdissect.load`` imports it.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

from jaxdissect.models.base import Normalization

# Modules of jaxdissect.models that define no architecture (skipped by discovery).
_NOT_FAMILIES = frozenset({"base", "edits", "registry", "layers"})

INPUTS = ("image", "latent")

_REGISTRY: dict[str, ArchSpec] = {}
_discovered = False


@dataclass(frozen=True)
class ArchSpec:
    """How to build, convert and feed one architecture (see the module docstring)."""

    name: str
    build: Callable[[Mapping[str, Any], Any], Any]
    normalization: Callable[[Mapping[str, Any]], Normalization | None]
    default_layer: str
    converter: str | None = None
    detector: str | None = None
    loader: str | None = None
    inputs: str = "image"
    latent_size: Callable[[Mapping[str, Any]], int] | None = None

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"architecture {self.name!r}: inputs={self.inputs!r}, choose one "
                             f"of {', '.join(INPUTS)}")
        if self.inputs == "latent" and self.latent_size is None:
            raise ValueError(f"architecture {self.name!r} reads latents: give latent_size")

    def make_module(self, sizes: Mapping[str, Any], dtype=jnp.float32):
        """The Flax module for ``sizes`` computing in ``dtype``."""
        return self.build(sizes, dtype)

    def normalization_json(self, sizes: Mapping[str, Any]) -> dict | None:
        """:attr:`normalization` for ``sizes`` as ``meta.json`` records it."""
        norm = self.normalization(sizes)
        return dataclasses.asdict(norm) if norm is not None else None

    def convert_fn(self) -> Callable:
        """The converter; an architecture without one is an error naming those with one."""
        if self.converter is None:
            raise ValueError(f"architecture {self.name!r} has no converter (no published "
                             "PyTorch checkpoint to convert); architectures that convert: "
                             f"{', '.join(convertible_arch_names())}")
        return resolve(self.converter)

    def detect_fn(self) -> Callable[[Iterable[str]], bool] | None:
        return resolve(self.detector) if self.detector else None

    def loader_fn(self) -> Callable | None:
        return resolve(self.loader) if self.loader else None


def resolve(ref: str) -> Callable:
    """Import ``"package.module:function"`` and return the function."""
    module_name, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"reference {ref!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


def register_arch(spec: ArchSpec) -> ArchSpec:
    """Add ``spec`` under ``spec.name``; registering the same name twice is an error."""
    old = _REGISTRY.get(spec.name)
    if old is not None and old != spec:
        raise ValueError(f"architecture {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _discover() -> None:
    """Import every model module once so that their ``register_arch`` calls run."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module("jaxdissect.models")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _NOT_FAMILIES and not info.name.startswith("_"):
            importlib.import_module(f"jaxdissect.models.{info.name}")
    _discovered = True


def arch_names() -> list[str]:
    """Every registered architecture name, sorted."""
    _discover()
    return sorted(_REGISTRY)


def convertible_arch_names() -> list[str]:
    """The registered architectures that have a converter, sorted."""
    return [name for name in arch_names() if _REGISTRY[name].converter is not None]


def find_arch(name: str | None) -> ArchSpec | None:
    """The spec of ``name``, or None when no architecture of that name is registered."""
    if not isinstance(name, str):
        return None
    _discover()
    return _REGISTRY.get(name)


def get_arch(name: str) -> ArchSpec:
    """The spec of ``name``; an unknown name is an error listing the known ones."""
    _discover()
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown architecture {name!r}; known architectures: {', '.join(arch_names())}"
        )
    return _REGISTRY[name]
