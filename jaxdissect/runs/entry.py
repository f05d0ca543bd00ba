"""``python:MODULE:FUNCTION`` model specs: a function, importable or in a ``.py`` file, that
returns the model to study (a ``Net``, usually from :func:`jaxdissect.wrap`).

``python:mypackage.models:build`` imports ``mypackage.models``; ``python:path/to/model.py:build``
runs that file as a module. ``FUNCTION`` is called with no arguments.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from jaxdissect.models.base import Net

PREFIX = "python:"


def load_entry(spec: str) -> Net:
    """The ``Net`` returned by the function that ``spec`` (``python:MODULE:FUNCTION``) names."""
    target, sep, function = spec.removeprefix(PREFIX).rpartition(":")
    if not sep or not target or not function:
        raise ValueError(f"model {spec!r}: write python:MODULE:FUNCTION or "
                         "python:path/to/file.py:FUNCTION (a function returning "
                         "jaxdissect.wrap(...))")
    module = _import(target, spec)
    build = getattr(module, function, None)
    if not callable(build):
        raise ValueError(f"model {spec!r}: {target} has no function {function!r}")
    net = build()
    if not isinstance(net, Net):
        raise ValueError(f"model {spec!r}: {function}() returned a {type(net).__name__}; it "
                         "must return a jaxdissect.Net, e.g. jaxdissect.wrap(module, variables, "
                         "normalization=...)")
    return net


def _import(target: str, spec: str):
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise FileNotFoundError(f"model {spec!r}: file {target} not found")
        name = f"_jaxdissect_entry_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path.absolute())
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as err:
        raise ValueError(f"model {spec!r}: cannot import {target} ({err}); is its folder on "
                         "PYTHONPATH?") from None
