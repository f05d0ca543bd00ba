"""``jaxdissect demo``: the shipped world models dissected, probed by experiments, reported.

Names are imported on first use, so that reading the settings (the command line's help does)
does not import jax."""

from __future__ import annotations

import importlib

_EXPORTS = {"FULL": "settings", "QUICK": "settings", "DemoSettings": "settings",
            "DemoResult": "run", "run_demo": "run"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jaxdissect.demo' has no attribute {name!r}")
    return getattr(importlib.import_module(f"jaxdissect.demo.{module}"), name)
