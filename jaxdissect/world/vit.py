"""A small vision transformer of the synthetic world, written as any Flax user would.

:class:`WorldViT` knows nothing of this package: plain ``flax.linen`` code returning logits.
It is dissected through :func:`jaxdissect.wrap` (layers named by module path: ``block1`` ..
``block4`` are the residual stream after each encoder block, (N, 65, 64) tokens: one class
token and the 8x8 grid of 8x8-pixel patches of a 64x64 image; ``block4/mlp_in`` the hidden
MLP units, and so on). The class token is kept apart from the patch map; the head reads the
mean of all tokens, so every patch token of the last block reaches the output.

The shipped model (``world:vit``) is registered as architecture ``world_vit``, whose module is
the wrapped ViT, so ``jaxdissect.load`` and model folders work as for the other world models.
``python -m jaxdissect.world.train vit`` retrains it.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.world.layout import SCENE_CLASSES
from jaxdissect.world.models import WORLD_NORMALIZATION


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: attention then a GELU MLP, each added to the stream."""

    heads: int
    mlp_dim: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        dim = x.shape[-1]
        y = nn.LayerNorm(dtype=self.dtype, name="norm1")(x)
        x = x + nn.MultiHeadDotProductAttention(self.heads, dtype=self.dtype, name="attn")(y)
        y = nn.LayerNorm(dtype=self.dtype, name="norm2")(x)
        y = nn.gelu(nn.Dense(self.mlp_dim, dtype=self.dtype, name="mlp_in")(y))
        return x + nn.Dense(dim, dtype=self.dtype, name="mlp_out")(y)


class WorldViT(nn.Module):
    """(N, 64, 64, 3) normalised images -> logits (N, num_classes)."""

    num_classes: int = len(SCENE_CLASSES)
    patch: int = 8
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_dim: int = 128
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Conv(self.dim, (self.patch, self.patch), strides=self.patch, padding="VALID",
                    dtype=self.dtype, name="patchify")(x.astype(self.dtype))
        n, h, w, d = x.shape
        x = x.reshape(n, h * w, d)
        cls = self.param("cls", nn.initializers.zeros, (1, 1, d))
        pos = self.param("pos", nn.initializers.normal(0.02), (1, h * w + 1, d))
        x = jnp.concatenate([jnp.broadcast_to(cls, (n, 1, d)).astype(x.dtype), x], axis=1)
        x = x + pos.astype(x.dtype)
        for i in range(1, self.depth + 1):
            x = EncoderBlock(self.heads, self.mlp_dim, self.dtype, name=f"block{i}")(x)
        x = nn.LayerNorm(dtype=self.dtype, name="norm")(x)
        return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(x.mean(axis=1))


def sizes_of(module: WorldViT) -> dict:
    """The JSON-able sizes that rebuild ``module`` (``meta.json``)."""
    return {k: getattr(module, k) for k in ("num_classes", "patch", "dim", "depth", "heads",
                                              "mlp_dim")}


def wrapped_vit(sizes: dict, dtype=jnp.float32):
    """The ViT of ``sizes`` as the package's model protocol (:class:`WrappedLinen`); its
    parameters are the linen variables ``{"params": ...}``."""
    from jaxdissect.wrapping.layout import TokenGrid
    from jaxdissect.wrapping.linen import WrappedLinen

    module = WorldViT(**sizes, dtype=dtype)
    size = WORLD_NORMALIZATION.size
    example = (1, size, size, 3)
    variables = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros(example))
    return WrappedLinen(module, variables, example, WORLD_NORMALIZATION,
                        TokenGrid(patch_size=module.patch))


register_arch(ArchSpec(
    name="world_vit",
    build=lambda sizes, dtype: wrapped_vit(dict(sizes), dtype),
    normalization=lambda sizes: WORLD_NORMALIZATION,
    default_layer="block4",
))
