"""A ``flax.nnx`` module seen by attribute path.

NNX has no method interception, so the forward runs on a fresh copy of the module
(``nnx.merge`` of its graph and state, inside the traced call) whose submodules' classes have
their ``__call__`` wrapped for the duration of the call: the wrapper passes the output of the
submodules of that copy (recognised by identity, named by their path ``blocks/3/mlp``) through
the hook. The user's module object is never touched; classes are restored when the call
returns, and instances outside the copy pass through unchanged.

Put the module in evaluation mode (``model.eval()``) before wrapping if it has dropout or
batch statistics.
"""

from __future__ import annotations

from flax import nnx

from jaxdissect.wrapping.capture import Wrapped


def nnx_name(path) -> str | None:
    return "/".join(str(p) for p in path) if path else None


class WrappedNNX(Wrapped):
    """``nnx.merge(graphdef, state)(x)`` with named outputs; params are the ``nnx.State``."""

    framework = "flax.nnx"

    def __init__(self, module: nnx.Module, example, normalization, tokens):
        self.graphdef, self.initial_state = nnx.split(module)
        super().__init__(type(module).__name__, self.initial_state, example, normalization,
                         tokens)

    def run(self, state, x, hook):
        model = nnx.merge(self.graphdef, state)
        names = {id(sub): nnx_name(path) for path, sub in nnx.iter_modules(model) if path}
        classes = {type(sub) for path, sub in nnx.iter_modules(model) if path}
        saved = {cls: cls.__dict__.get("__call__") for cls in classes}
        for cls in classes:
            cls.__call__ = _tapped(cls.__call__, names, hook)
        try:
            return model(x)
        finally:
            for cls, own in saved.items():
                if own is None:
                    del cls.__call__
                else:
                    cls.__call__ = own


def _tapped(call, names: dict, hook):
    def tapped(self, *args, **kwargs):
        out = call(self, *args, **kwargs)
        name = names.get(id(self))
        return out if name is None else hook(name, out)

    return tapped
