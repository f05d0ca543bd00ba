"""Architecture registry: one entry per ``--arch`` name, shared by the converter and the loader.

An :class:`ArchSpec` ties an architecture name to

- ``build(sizes, dtype) -> flax.linen.Module``: the Flax model for the sizes read from a
  checkpoint (``sizes`` is the JSON-able dict stored in ``meta.json``, e.g. ``num_classes``);
- ``normalization(sizes) -> Normalization | None``: the input the model expects (``None`` for
  models whose input is not an image, e.g. a GAN's latents);
- ``default_layer``: the layer dissected when none is named;
- ``converter``: ``"module:function"`` naming ``function(state) -> (params, sizes)``, where
  ``state`` maps torch keys to float32 numpy arrays and ``params`` is the Flax params pytree;
- ``detector`` (optional): ``"module:function"`` naming ``function(keys) -> bool``, true when a
  set of torch keys has this architecture's layout (used when ``--arch`` is not given);
- ``loader`` (optional): ``"module:function"`` naming ``function(path) -> state`` for sources
  that are not one ``.pth`` file (default ``ports.common.load_state_dict``).

Converters and detectors are named by strings and imported only when used, so this module (and
every model module) stays free of torch and of the ``ports`` package.

Adding a family takes one call at the bottom of its model module, for example::

    register_arch(ArchSpec(
        name="proggan", build=lambda sizes, dtype: ProgressiveGenerator(sizes["sizes"], dtype),
        normalization=lambda sizes: None, default_layer="layer4",
        converter="ports.proggan:convert", detector="ports.proggan:matches"))

Every module and subpackage of ``jaxdissect.models`` is imported on the first lookup, so a new
module that calls ``register_arch`` is found without editing this file (a subpackage registers
from its ``__init__``). An architecture registered by a module elsewhere is known once that
module is imported; model folders record it (``meta.json`` ``arch_module``) and
``jaxdissect.load`` imports it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

from jaxdissect.models.base import Normalization

# Modules of jaxdissect.models that define no architecture (skipped by discovery).
_NOT_FAMILIES = frozenset({"base", "edits", "registry", "layers"})

_REGISTRY: dict[str, ArchSpec] = {}
_discovered = False


@dataclass(frozen=True)
class ArchSpec:
    """How to build, convert and feed one architecture (see the module docstring)."""

    name: str
    build: Callable[[Mapping[str, Any], Any], Any]
    normalization: Callable[[Mapping[str, Any]], Normalization | None]
    default_layer: str
    converter: str
    detector: str | None = None
    loader: str | None = None

    def make_module(self, sizes: Mapping[str, Any], dtype=jnp.float32):
        """The Flax module for ``sizes`` computing in ``dtype``."""
        return self.build(sizes, dtype)

    def convert_fn(self) -> Callable:
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


def get_arch(name: str) -> ArchSpec:
    """The spec of ``name``; an unknown name is an error listing the known ones."""
    _discover()
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown architecture {name!r}; known architectures: {', '.join(arch_names())}"
        )
    return _REGISTRY[name]
