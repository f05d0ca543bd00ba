"""A ``flax.linen`` module seen by module path, through linen's method interception.

Every submodule's ``__call__`` output is named by its path (``"backbone/stage4/block2"``,
the names linen gives: ``Conv_0``, ``blocks_3``, ...); another method's output by the path and
the method (``"encoder.embed"``). The root module's own output is the model's output, not a
layer. :func:`flax.linen.intercept_methods` sees each call; the hook replaces its return value
when the layer is edited, so the rest of the forward runs on the edited values.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn

from jaxdissect.wrapping.capture import Wrapped


def linen_name(path: tuple[str, ...], method: str) -> str | None:
    """The layer name of a call to ``method`` of the submodule at ``path`` (None: no layer)."""
    if not path or method == "setup" or (method.startswith("_") and method != "__call__"):
        return None
    name = "/".join(path)
    return name if method == "__call__" else f"{name}.{method}"


class WrappedLinen(Wrapped):
    """``module.apply(variables, x, **call_kwargs)`` (or ``method=``) with named outputs."""

    framework = "flax.linen"

    def __init__(self, module: nn.Module, variables, example, normalization, tokens,
                 method: str | None = None, call_kwargs: Mapping | None = None):
        self.module = module
        self.method = method
        self.call_kwargs = dict(call_kwargs or {})
        super().__init__(type(module).__name__, variables, example, normalization, tokens)

    def run(self, variables, x, hook):
        def intercept(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            name = linen_name(tuple(context.module.path), context.method_name)
            return out if name is None else hook(name, out)

        kwargs = dict(self.call_kwargs)
        if self.method is not None:
            kwargs["method"] = self.method
        with nn.intercept_methods(intercept):
            return self.module.apply(variables, x, **kwargs)


def as_variables(params) -> dict:
    """A linen variables dict: ``{"params": ...}`` (and other collections) as given, or a bare
    params tree put under ``"params"``."""
    if isinstance(params, Mapping) and "params" in params:
        return dict(params)
    return {"params": params}
