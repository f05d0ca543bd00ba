"""Dissect a JAX model as it is: any ``flax.linen`` or ``flax.nnx`` module, or a plain function.

``jaxdissect.wrap(model, params, normalization=...)`` returns a :class:`~jaxdissect.Net` that
the whole tool accepts (``net(x, layers=..., edits=...)``, ``dissect_model``, strips, the
experiments, and the command line through ``--model python:MODULE:FUNCTION``). Layers are
named by module path; ``jaxdissect.layers(net)`` (``jaxdissect layers --model ...``) lists them
with their shapes. See :mod:`.layout` for which shapes are dissected (feature maps, transformer
tokens on their patch grid, vectors) and :mod:`.capture` for how capture and edits work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from jaxdissect.models.base import Net, Normalization, as_normalization
from jaxdissect.models.registry import INPUTS
from jaxdissect.wrapping.capture import Wrapped
from jaxdissect.wrapping.layout import TokenGrid


def wrap(model: Any, params: Any = None, *, inputs: str = "image",
         normalization: Normalization | Mapping | None = None, latent_dim: int | None = None,
         grid: tuple[int, int] | None = None, patch_size: int | None = None,
         default_layer: str | None = None, classes: Sequence[str] | None = None,
         method: str | None = None, call_kwargs: Mapping | None = None) -> Net:
    """A ``Net`` over ``model``, with its layers named by module path.

    ``model``: a ``flax.linen.Module`` (``params``: its variables ``{"params": ...}`` or the
    params tree; ``method`` / ``call_kwargs`` go to ``module.apply``, e.g. ``train=False``), a
    ``flax.nnx.Module`` (no ``params``: its state is taken from it), or a function
    ``apply(params, x) -> {name: activation}`` (or ``(output, {...})``; read-only: no edits).

    ``inputs``: ``"image"`` (the model reads NHWC images normalised by ``normalization``, a
    :class:`~jaxdissect.Normalization` whose ``size`` is the image side) or ``"latent"`` (a
    generator reading (N, ``latent_dim``) latents and returning NHWC RGB in [-1, 1]).
    ``grid`` (h, w) or ``patch_size`` place transformer tokens on the image (default: inferred
    from the token count). ``default_layer``: the layer dissected when none is named (default:
    the last feature map or token layer). ``classes``: names of the output classes.
    """
    norm, example = _inputs(inputs, normalization, latent_dim)
    tokens = TokenGrid(None if grid is None else tuple(grid), patch_size)
    wrapped = _adapter(model, params, example, norm, tokens, method, call_kwargs)
    net_params = params
    if wrapped.framework == "flax.linen":
        from jaxdissect.wrapping.linen import as_variables

        net_params = as_variables(params)
    elif wrapped.framework == "flax.nnx":
        net_params = wrapped.initial_state
    if default_layer is not None:
        wrapped.check_names([default_layer], maps_only=True)
    meta = {
        "arch": f"wrapped {wrapped.framework}",
        "name": wrapped.name,
        "framework": wrapped.framework,
        "inputs": inputs,
        "normalization": dataclasses.asdict(norm) if norm is not None else None,
        "default_layer": default_layer or _default_layer(wrapped),
        "layers": list(wrapped.LAYERS),
        "editable": wrapped.editable,
    }
    if inputs == "latent":
        meta.update(latent_dim=int(latent_dim), sizes={"sizes": [int(latent_dim)]})
    if classes is not None:
        meta["classes"] = list(classes)
    return Net(module=wrapped, params=net_params, meta=meta)


def _inputs(inputs, normalization, latent_dim):
    if inputs not in INPUTS:
        raise ValueError(f"inputs={inputs!r}: give 'image' (a classifier or any image model) "
                         "or 'latent' (a generator)")
    if inputs == "latent":
        if not latent_dim:
            raise ValueError("inputs='latent' needs latent_dim=, the size of the model's "
                             "latent vectors")
        return None, (1, int(latent_dim))
    if normalization is None:
        raise ValueError("an image model needs normalization=jaxdissect.Normalization(mean, "
                         "std, size): how uint8 images become its input, and their side")
    normalization = as_normalization(normalization)
    size = int(normalization.size)
    return normalization, (1, size, size, 3)


def _adapter(model, params, example, norm, tokens, method, call_kwargs) -> Wrapped:
    import flax.linen as nn
    from flax import nnx

    if isinstance(model, nn.Module):
        from jaxdissect.wrapping.linen import WrappedLinen, as_variables

        if params is None:
            raise ValueError("a flax.linen module needs its variables: wrap(module, variables)")
        return WrappedLinen(model, as_variables(params), example, norm, tokens, method,
                            call_kwargs)
    if isinstance(model, nnx.Module):
        from jaxdissect.wrapping.nnx import WrappedNNX

        if params is not None:
            raise ValueError("a flax.nnx module carries its own state: wrap(module) without "
                             "params")
        return WrappedNNX(model, example, norm, tokens)
    if callable(model):
        from jaxdissect.wrapping.function import WrappedFunction

        return WrappedFunction(model, params, example, norm, tokens)
    raise ValueError(f"cannot wrap a {type(model).__name__}: give a flax.linen module with its "
                     "variables, a flax.nnx module, or a function apply(params, x) -> dict")


def _default_layer(wrapped: Wrapped) -> str:
    """The last feature map or token layer with more than 3 units, else the last layer."""
    for name in reversed(wrapped.LAYERS):
        layout = wrapped.layouts[name]
        if layout.kind in ("map", "tokens") and layout.shape[-1] > 3:
            return name
    return wrapped.LAYERS[-1]


def layers(net: Net) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, output shape without batch, layout) of every layer of ``net``, in call order.

    For the package's own models: their ``LAYERS`` with their map shapes."""
    table = getattr(net.module, "layer_table", None)
    if table is not None:
        return table()
    example = (1, *_example_shape(net))
    shapes = net.layer_shapes(example)
    return [(name, shapes[name], "map") for name in net.layer_names]


def _example_shape(net: Net) -> tuple[int, ...]:
    if net.is_generator:
        return (net.latent_size,)
    norm = net.normalization
    if norm is None:
        raise ValueError(f"{net.name} gives neither an input normalisation nor a latent size; "
                         "its input shape is unknown")
    return (int(norm.size), int(norm.size), 3)


def layers_text(net: Net) -> str:
    """The layer listing as aligned text: name, shape, layout."""
    rows = layers(net)
    width = max(len(name) for name, _, _ in rows)
    shape_text = [f"({', '.join(map(str, shape))})" for _, shape, _ in rows]
    shape_width = max(len(s) for s in shape_text)
    return "\n".join(f"{name:<{width}}  {s:<{shape_width}}  {kind}"
                     for (name, _, kind), s in zip(rows, shape_text, strict=True))
