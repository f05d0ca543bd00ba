"""Models written with no knowledge of jaxdissect (what a user brings), for the wrap tests."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import jaxdissect

SIZE = 16


class Block(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x):
        return nn.relu(nn.Conv(self.features, (3, 3))(x))


class SmallCNN(nn.Module):
    """stem (16x16x4) -> pool -> body (8x8x6) -> mean -> head (3 classes)."""

    def setup(self):
        self.stem = Block(4)
        self.body = Block(6)
        self.head = nn.Dense(3)

    def __call__(self, x):
        x = self.embed(x)
        x = nn.max_pool(x, (2, 2), (2, 2))
        return self.head(self.body(x).mean((1, 2)))

    def embed(self, x):
        return self.stem(x)


class TinyViT(nn.Module):
    """4x4 patches of a 16x16 image -> 1 class token + 16 patch tokens, two blocks."""

    dim: int = 8

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(self.dim, (4, 4), strides=(4, 4), name="patchify")(x)
        x = x.reshape(x.shape[0], -1, self.dim)
        cls = self.param("cls", nn.initializers.normal(1.0), (1, 1, self.dim))
        x = jnp.concatenate([jnp.broadcast_to(cls, (x.shape[0], 1, self.dim)), x], axis=1)
        x = x + self.param("pos", nn.initializers.normal(0.1), (1, 17, self.dim))
        for i in range(2):
            y = nn.LayerNorm(name=f"norm_{i}")(x)
            y = nn.MultiHeadDotProductAttention(2, name=f"attn_{i}")(y)
            x = x + y
            x = x + nn.Dense(self.dim, name=f"mlp_{i}")(nn.gelu(x))
            x = nn.Dropout(0.1, deterministic=True, name=f"drop_{i}")(x)
        return nn.Dense(3, name="head")(x[:, 0])


class NNXCNN(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.stem = nnx.Conv(3, 4, (3, 3), rngs=rngs)
        self.body = nnx.Conv(4, 6, (3, 3), rngs=rngs)
        self.head = nnx.Linear(6, 3, rngs=rngs)

    def __call__(self, x):
        x = nnx.relu(self.stem(x))
        x = nnx.max_pool(x, (2, 2), (2, 2))
        x = nnx.relu(self.body(x))
        return self.head(x.mean((1, 2)))


def inputs(n=5, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(n, SIZE, SIZE, 3)), jnp.float32)


@functools.cache
def linen_cnn():
    module = SmallCNN()
    return module, jax.jit(module.init)(jax.random.PRNGKey(1), inputs(1))


@functools.cache
def linen_vit():
    module = TinyViT()
    return module, jax.jit(module.init)(jax.random.PRNGKey(0), inputs(1))


def build():
    """The python:MODULE:FUNCTION entry the CLI tests use."""
    module, variables = linen_cnn()
    return jaxdissect.wrap(module, variables, normalization=jaxdissect.Normalization(size=SIZE),
                           classes=["a", "b", "c"])


class FeatureMap(nn.Module):
    """A model whose output is a feature map, not class scores."""

    @nn.compact
    def __call__(self, x):
        return Block(4, name="features")(x)


def build_feature_map():
    module = FeatureMap()
    return jaxdissect.wrap(module, jax.jit(module.init)(jax.random.PRNGKey(0), inputs(1)),
                           normalization=jaxdissect.Normalization(size=SIZE))
