"""The model a dissection studies: a classifier (images in) or a generator (latents in).

``load_studied_model(spec, dtype)`` reads a model folder (``jaxdissect convert`` output, or
any folder :func:`jaxdissect.checkpoint.load` reads) or ``world:NAME`` for a shipped world model
(``world:classifier``, ``world:generator``). A model whose architecture reads images is a
*classifier*: batches carry uint8 images, normalised on the device as the architecture says. One
that reads latents is a *generator*: batches carry latents ``z`` (of the architecture's latent
size) and its output, RGB roughly in [-1, 1], is what gets segmented and shown.

:func:`rgb_and_acts` is the traced forward both the dissection and the unit strips use: it
returns the images as float32 RGB in [-1, 1] (a classifier's inputs mapped there, a
generator's outputs) and the requested activations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxdissect.checkpoint import load
from jaxdissect.models.base import Net, Normalization
from jaxdissect.runs.entry import PREFIX as ENTRY_PREFIX
from jaxdissect.runs.entry import load_entry
from jaxdissect.runs.runkey import model_identity

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclass
class StudiedModel:
    """A loaded model and where it came from; what it reads (images or latents, the
    normalisation, the latent size) is the ``Net``'s (:attr:`Net.inputs
    <jaxdissect.models.base.Net.inputs>`, from the architecture spec)."""

    net: Net
    location: str
    dtype: str

    @property
    def normalization(self) -> Normalization | None:
        """The input normalisation of a classifier; None for a generator."""
        return None if self.net.is_generator else self.net.image_normalization()

    @property
    def kind(self) -> str:
        return "generator" if self.net.is_generator else "classifier"

    @property
    def name(self) -> str:
        return self.net.name

    @property
    def latent_dim(self) -> int:
        size = self.net.latent_size
        if size is None:
            raise ValueError(f"{self.location} reads images, not latents")
        return size

    @property
    def default_layer(self) -> str:
        return str(self.net.meta.get("default_layer") or self.net.layer_names[-1])

    def image_size(self) -> int:
        """Side of the images the model reads (classifier) or makes (generator)."""
        if not self.net.is_generator:
            return int(self.normalization.size)
        z = jax.ShapeDtypeStruct((1, self.latent_dim), jnp.float32)
        images = jax.eval_shape(lambda p, z: self.net.module.apply({"params": p}, z)[0],
                                self.net.params, z)
        return int(images.shape[1])

    def check_layers(self, layers: Sequence[str]) -> None:
        self.net.check_layers(layers, f"{self.name} ({self.location})", maps_only=True)

    def identity(self) -> dict:
        return model_identity(dict(self.net.meta), self.net.params, self.dtype)


def studied_net(net: Net) -> StudiedModel:
    """A ``Net`` in hand (from :func:`jaxdissect.wrap` or :func:`jaxdissect.load`) as a studied
    model; its location in run records is its name."""
    return StudiedModel(net, net.name, "float32")


def load_studied_model(spec: str | Path, dtype: str = "float32") -> StudiedModel:
    """The model of ``spec`` (a folder, ``world:NAME`` or ``python:MODULE:FUNCTION``, see
    :mod:`jaxdissect.runs.entry`) computing in ``dtype``."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: choose one of {', '.join(DTYPES)}")
    spec = str(spec)
    if spec.startswith(ENTRY_PREFIX):
        if dtype != "float32":
            raise ValueError(f"{spec}: --dtype applies to model folders; a python: model "
                             "computes in the dtype its own code sets")
        net = load_entry(spec)
    elif spec.startswith("world:"):
        from jaxdissect.world.assets import load_world_model

        net = load_world_model(spec.partition(":")[2], dtype=DTYPES[dtype])
    else:
        if not Path(spec).is_dir():
            raise FileNotFoundError(f"model folder {spec} not found; give a folder written by "
                                    "`jaxdissect convert`, world:classifier / world:generator, "
                                    "or python:MODULE:FUNCTION (a function returning "
                                    "jaxdissect.wrap(...))")
        net = load(spec, dtype=DTYPES[dtype])
    return StudiedModel(net, spec, dtype)


def to_unit_range(images_uint8: jax.Array) -> jax.Array:
    """uint8 RGB -> float32 in [-1, 1] (``x / 127.5 - 1``)."""
    return images_uint8.astype(jnp.float32) / 127.5 - 1.0


def to_uint8(images: jax.Array) -> jax.Array:
    """float RGB in [-1, 1] -> uint8 (clipped, rounded); inverts :func:`to_unit_range`."""
    return jnp.clip(jnp.round((images.astype(jnp.float32) + 1.0) * 127.5), 0, 255).astype(
        jnp.uint8)


def rgb_and_acts(model: StudiedModel, params, batch: dict, layers: tuple[str, ...]):
    """(float32 (B, H, W, 3) RGB in [-1, 1], {layer: (B, h, w, U)}) for one batch (traced)."""
    module = model.net.module
    if not model.net.is_generator:
        images = batch["image"]
        _, acts = module.apply({"params": params}, model.normalization(images), layers=layers)
        return to_unit_range(images), acts
    out, acts = module.apply({"params": params}, batch["z"], layers=layers)
    return out.astype(jnp.float32), acts
