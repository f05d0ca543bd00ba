"""How one captured activation becomes a dissectable (N, h, w, U) map, and edits go back.

Four layouts, decided from the activation's shape (batch axis first):

- ``map``: (N, H, W, C), a convolutional feature map, used as it is;
- ``vector``: (N, D), a dense layer, used as a 1x1 map (N, 1, 1, D), as the zoo's fc layers;
- ``tokens``: (N, T, D), a vision transformer's tokens: ``P`` leading class / register tokens
  then ``h * w`` patch tokens in row-major order. The patch tokens become the (N, h, w, D)
  map; the leading tokens are dropped from it and read separately (layer ``NAME#prefix``,
  (N, P, D)). The grid is given, or follows from the input size and the patch size, or is the
  largest square that leaves fewer leading tokens than its side (197 tokens: 1 + 14 x 14);
- ``none``: anything else (no spatial or token layout): listed, never dissected or edited.

An edit is applied to the map and written back in the activation's own layout (the leading
tokens untouched), so the model runs on from the edited values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from jaxdissect.models.edits import UnitEdit

PREFIX = "#prefix"
DISSECTABLE_SHAPES = ("(N, H, W, C) feature maps, (N, T, D) tokens of a patch grid (after any "
                      "class or register tokens), or (N, D) vectors")


@dataclass(frozen=True)
class TokenGrid:
    """How tokens sit on the image: ``grid`` (h, w) of patches, or ``patch_size`` in pixels
    (the grid is then the input size over it). Neither: inferred from the token count."""

    grid: tuple[int, int] | None = None
    patch_size: int | None = None

    def patches(self, input_hw: tuple[int, int] | None) -> tuple[int, int] | None:
        if self.grid is not None:
            return (int(self.grid[0]), int(self.grid[1]))
        if self.patch_size is not None and input_hw is not None:
            return (input_hw[0] // self.patch_size, input_hw[1] // self.patch_size)
        return None


@dataclass(frozen=True)
class Layout:
    """The layout of one captured activation; ``shape`` excludes the batch axis."""

    shape: tuple[int, ...]
    kind: str
    grid: tuple[int, int] | None = None
    prefix: int = 0
    note: str = ""

    @property
    def dissectable(self) -> bool:
        return self.kind != "none"

    @property
    def map_shape(self) -> tuple[int, ...] | None:
        """Shape of the (h, w, U) map dissected, None for ``none``."""
        if self.kind == "map":
            return self.shape
        if self.kind == "vector":
            return (1, 1, self.shape[0])
        if self.kind == "tokens":
            return (*self.grid, self.shape[1])
        return None

    def describe(self) -> str:
        """One phrase for the layer listing."""
        if self.kind == "map":
            return "map"
        if self.kind == "vector":
            return "vector (a 1x1 map)"
        if self.kind == "tokens":
            h, w = self.grid
            lead = f"{self.prefix} leading token(s) (read as #prefix) + " if self.prefix else ""
            return f"tokens: {lead}{h}x{w} patch grid{self.note}"
        return f"not dissectable: {self.note}"

    def to_map(self, x: jax.Array) -> jax.Array:
        """(N, *shape) -> (N, h, w, U)."""
        if self.kind == "map":
            return x
        if self.kind == "vector":
            return x[:, None, None, :]
        if self.kind == "tokens":
            return x[:, self.prefix:].reshape(x.shape[0], *self.grid, x.shape[-1])
        raise ValueError(f"an activation of shape {self.shape} is not dissectable")

    def leading(self, x: jax.Array) -> jax.Array:
        """The class / register tokens (N, P, D) of a token layer."""
        return x[:, :self.prefix]

    def edit(self, x: jax.Array, edit: UnitEdit) -> jax.Array:
        """Apply ``edit`` to the map of ``x`` and return it in ``x``'s own layout."""
        edited = edit.apply(self.to_map(x))
        if self.kind == "map":
            return edited
        if self.kind == "vector":
            return edited[:, 0, 0, :]
        flat = edited.reshape(x.shape[0], -1, x.shape[-1])
        return jnp.concatenate([x[:, :self.prefix], flat], axis=1)


def layout_of(shape: tuple[int, ...], tokens: TokenGrid,
              input_hw: tuple[int, int] | None) -> Layout:
    """The layout of an activation of ``shape`` (batch axis excluded)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return Layout(shape, "map")
    if len(shape) == 1:
        return Layout(shape, "vector")
    if len(shape) == 2:
        return _token_layout(shape, tokens, input_hw)
    return Layout(shape, "none", note=f"shape (N, {', '.join(map(str, shape))}); dissectable "
                  f"shapes are {DISSECTABLE_SHAPES}")


def _token_layout(shape, tokens: TokenGrid, input_hw) -> Layout:
    count = shape[0]
    grid = tokens.patches(input_hw)
    note = ""
    if grid is None:
        side = math.isqrt(count)
        if side == 0 or count - side * side >= side:
            return Layout(shape, "none", note=(
                f"{count} tokens are no square patch grid plus a few leading tokens; give the "
                f"grid (tokens=TokenGrid(grid=(h, w)) or patch_size=...); dissectable shapes "
                f"are {DISSECTABLE_SHAPES}"))
        grid, note = (side, side), " (inferred)"
    prefix = count - grid[0] * grid[1]
    if prefix < 0:
        return Layout(shape, "none", note=f"{count} tokens are fewer than the {grid[0]}x"
                      f"{grid[1]} patch grid")
    return Layout(shape, "tokens", grid, prefix, note)
