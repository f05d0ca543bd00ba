"""The model protocol of this package over a model that knows nothing of it.

A :class:`Wrapped` model behaves like the package's own Flax modules to everything that runs
models (``Net``, the dissection, strips, experiments): ``apply({"params": P}, x, layers=(),
edits=None) -> (output, acts)`` with ``LAYERS``. ``P`` is whatever the framework needs (a
linen variables dict, an NNX state, a function's parameters). Each framework supplies one
``run(P, x, hook)`` that calls the model and passes every named intermediate output through
``hook(name, value) -> value``; capture and edits happen in the hook, so the model's own code
is never changed.

A module called several times in one forward (shared weights) is edited at every call and
captured at its last call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

from jaxdissect.models.base import Normalization, check_layers
from jaxdissect.models.edits import UnitEdit
from jaxdissect.wrapping.layout import PREFIX, Layout, TokenGrid, layout_of

Hook = Callable[[str, jax.Array], jax.Array]


class Wrapped:
    """A model seen through named intermediate outputs (see the module docstring).

    ``run(params, x, hook) -> output``; ``example`` is the shape of one input batch used to
    find the layers (traced abstractly, nothing is computed); ``editable`` False for models
    whose intermediate values cannot be replaced (plain functions).
    """

    editable = True
    framework = "model"

    def __init__(self, name: str, example_params, example: tuple[int, ...],
                 normalization: Normalization | None, tokens: TokenGrid):
        self.name = name
        self.normalization = normalization
        self.tokens = tokens
        self.example = tuple(example)
        self.layouts = self._discover(example_params)
        self.LAYERS = tuple(n for n, layout in self.layouts.items() if layout.dissectable)

    def run(self, params, x: jax.Array, hook: Hook):  # pragma: no cover (per framework)
        raise NotImplementedError

    def _discover(self, params) -> dict[str, Layout]:
        shapes: dict[str, tuple[int, ...]] = {}

        def record(name, value):
            if isinstance(value, jax.Array) and value.ndim >= 2:
                shapes.pop(name, None)  # last call wins, listed in call order
                shapes[name] = tuple(value.shape[1:])
            return value

        x = jax.ShapeDtypeStruct(self.example, jnp.float32)
        jax.eval_shape(lambda p, x: self.run(p, x, record), params, x)
        if not shapes:
            raise ValueError(f"{self.name}: no intermediate array outputs were seen in a "
                             "forward pass; is it the model you meant to wrap?")
        input_hw = self.example[1:3] if len(self.example) == 4 else None
        return {name: layout_of(shape, self.tokens, input_hw) for name, shape in shapes.items()}

    # -- the package's model protocol -------------------------------------------------------

    def apply(self, variables: Mapping, x: jax.Array, layers: Sequence[str] = (),
              edits: Mapping[str, UnitEdit] | None = None):
        """``(output, acts)``: ``acts[name]`` the (N, h, w, U) map of each requested layer
        (``NAME#prefix``: the (N, P, D) leading tokens) after ``edits`` at their layers."""
        layers = tuple(layers)
        edits = dict(edits or {})
        self.check_names(layers)
        self.check_names(tuple(edits), edits=True)
        wanted = {name.partition("#")[0] for name in layers} | set(edits)
        acts: dict[str, jax.Array] = {}

        def hook(name, value):
            if name not in wanted:
                return value
            layout = self.layouts[name]
            if name in edits:
                value = layout.edit(value, edits[name])
            if name in layers:
                acts[name] = layout.to_map(value)
            if name + PREFIX in layers:
                acts[name + PREFIX] = layout.leading(value)
            return value

        output = self.run(variables["params"], x, hook)
        missing = [name for name in layers if name not in acts]
        if missing:
            raise ValueError(f"{self.name}: layer(s) {missing} produced no output in this "
                             "call (a branch not taken?)")
        return output, acts

    # -- names and the errors that help ---------------------------------------------------

    def check_names(self, names: Sequence[str], label: str | None = None, *,
                    edits: bool = False, maps_only: bool = False) -> None:
        """Raise a ValueError for the first name that is not a usable layer, saying why."""
        label = label or self.name
        if edits and names and not self.editable:
            raise ValueError(f"{label} is a plain function: its activations can be read and "
                             "dissected but not edited (no ablation or insertion); wrap a "
                             "flax.linen or flax.nnx module to edit units")
        for name in names:
            base, _, suffix = name.partition("#")
            layout = self.layouts.get(base)
            if layout is None:
                check_layers([base], self.LAYERS, label, nearest=True, list_limit=12)
            if not layout.dissectable:
                raise ValueError(f"layer {base!r} of {label} cannot be dissected or edited: "
                                 f"{layout.note}")
            if suffix:
                if "#" + suffix != PREFIX or layout.kind != "tokens" or not layout.prefix:
                    raise ValueError(f"{name!r}: only token layers with leading (class or "
                                     f"register) tokens have {base + PREFIX}")
                if edits or maps_only:
                    raise ValueError(f"{name!r} holds the leading tokens, which have no place "
                                     f"on the patch grid: they are read, not dissected or "
                                     f"edited; use {base!r} for the patch tokens")

    def layer_table(self) -> list[tuple[str, tuple[int, ...], str]]:
        """(name, shape without batch, layout description) of every captured output."""
        return [(name, layout.shape, layout.describe()) for name, layout in self.layouts.items()]
