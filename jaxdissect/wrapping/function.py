"""A plain function ``apply(params, x) -> {name: activation}`` (or ``(output, {name: ...})``),
for models outside Flax.

Its activations are read and dissected like any layer's; they cannot be edited (the function
computes them and nothing can put a changed value back into its forward), so ablation and
insertion refuse it with a message saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jaxdissect.wrapping.capture import Wrapped


class WrappedFunction(Wrapped):
    """Named activations returned by a function; ``output`` is the first of a returned pair,
    else None."""

    editable = False
    framework = "function"

    def __init__(self, fn: Callable, params, example, normalization, tokens):
        self.fn = fn
        super().__init__(getattr(fn, "__name__", "function"), params, example, normalization,
                         tokens)

    def run(self, params, x, hook):
        result = self.fn(params, x)
        output, acts = (None, result) if isinstance(result, Mapping) else result
        if not isinstance(acts, Mapping):
            raise ValueError(f"{self.name}(params, x) must return a dict of named activations "
                             f"or (output, dict), got {type(result).__name__}")
        for name, value in acts.items():
            hook(str(name), value)
        return output
