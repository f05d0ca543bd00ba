"""Small Flax models with known behaviour, for the intervention tests.

* :class:`TinyClassifier`: two 3x3 convs (``conv1``, ``conv2``), global mean, dense logits.
* :class:`Readout`: logits are a fixed linear readout of the ``units`` layer (ReLU of the
  (N, 1, 1, U) input) plus a bias; built by :func:`readout_net` with chosen weights, so the
  effect of removing units is known by construction.
* :class:`ToyGenerator`: z -> ``layer1`` (4x4 map, U units) -> image whose pixel block under
  each map cell is the sum of that cell's units: a unit's activation appears exactly in its
  cell's 4x4 pixel block (16x16 images).
* :func:`threshold_segmenter`: a segmenter labelling a pixel with concept 1 where the first
  image channel exceeds a threshold, and concept 2 elsewhere.
* :func:`batches_of`, :func:`latent_batches`: padded, masked batches of arrays.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import Net, check_layers
from jaxdissect.models.edits import tap


class TinyClassifier(nn.Module):
    num_classes: int = 5
    widths: tuple[int, int] = (4, 6)

    LAYERS = ("conv1", "conv2")

    @nn.compact
    def __call__(self, x, layers=(), edits=None):
        check_layers(layers, self.LAYERS, "TinyClassifier")
        acts = {}
        for name, width in zip(self.LAYERS, self.widths, strict=True):
            x = nn.relu(nn.Conv(width, (3, 3), padding=1, name=name)(x))
            x = tap(name, x, layers, edits, acts)
        out = nn.Dense(self.num_classes, name="head")(x.mean(axis=(1, 2)))
        return out, acts


@functools.cache
def tiny_classifier(num_classes: int = 5, size: int = 8, seed: int = 0) -> Net:
    module = TinyClassifier(num_classes)
    variables = jax.jit(module.init)(jax.random.PRNGKey(seed), jnp.zeros((1, size, size, 3)))
    params = variables["params"]
    return Net(module=module, params=params)


class Readout(nn.Module):
    num_units: int
    num_classes: int

    LAYERS = ("units",)

    @nn.compact
    def __call__(self, x, layers=(), edits=None):
        acts = {}
        units = tap("units", nn.relu(x), layers, edits, acts)
        weights = self.param("weights", nn.initializers.zeros, (self.num_units, self.num_classes))
        bias = self.param("bias", nn.initializers.zeros, (self.num_classes,))
        return units[:, 0, 0, :] @ weights + bias, acts


def readout_net(weights: np.ndarray, bias: np.ndarray) -> Net:
    units, classes = weights.shape
    params = {"weights": jnp.asarray(weights, jnp.float32),
              "bias": jnp.asarray(bias, jnp.float32)}
    return Net(module=Readout(units, classes), params=params)


class ToyGenerator(nn.Module):
    """z (N, Z) -> image (N, 16, 16, 3); ``layer1`` (N, 4, 4, U) = relu(dense(z))."""

    num_units: int = 4

    LAYERS = ("layer1",)

    @nn.compact
    def __call__(self, z, layers=(), edits=None):
        acts = {}
        x = nn.Dense(16 * self.num_units, name="dense")(z).reshape(-1, 4, 4, self.num_units)
        x = tap("layer1", nn.relu(x), layers, edits, acts)
        cell = x.sum(axis=-1)
        pixels = jnp.repeat(jnp.repeat(cell, 4, axis=1), 4, axis=2)
        return jnp.stack([pixels, jnp.zeros_like(pixels), jnp.zeros_like(pixels)], -1), acts


def toy_generator(params: dict, num_units: int = 4) -> Net:
    return Net(module=ToyGenerator(num_units), params=params)


def threshold_segmenter(threshold: float = 0.5):
    """images (N, H, W, 3) -> (N, 1, H, W) int32: 1 where channel 0 > threshold, else 2."""
    def segment(images):
        return jnp.where(images[..., 0] > threshold, 1, 2).astype(jnp.int32)[:, None]

    return segment


def batches_of(images, labels, batch_size):
    for start in range(0, len(images), batch_size):
        chunk = slice(start, start + batch_size)
        rows = len(images[chunk])
        image = np.zeros((batch_size, *images.shape[1:]), np.float32)
        label = np.zeros(batch_size, np.int32)
        image[:rows], label[:rows] = images[chunk], labels[chunk]
        yield {"image": image, "label": label, "mask": np.arange(batch_size) < rows}


def make_generator(seed=0, units=4, z_dim=3):
    params = jax.jit(ToyGenerator(units).init)(jax.random.PRNGKey(seed),
                                               jnp.zeros((1, z_dim)))["params"]
    return toy_generator(params, units)


def latent_batches(z, batch_size):
    out = []
    for start in range(0, len(z), batch_size):
        rows = len(z[start:start + batch_size])
        padded = np.zeros((batch_size, z.shape[1]), np.float32)
        padded[:rows] = z[start:start + batch_size]
        out.append({"z": padded, "mask": np.arange(batch_size) < rows})
    return out
