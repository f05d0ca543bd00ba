"""Train a Progressive-GAN-architecture generator of world scenes, as a VAE decoder.

How it is trained, plainly: **not adversarially**. The generator is the published ProGAN
architecture with its layer names (``ProgressiveGenerator``: PixelNorm, WScale, LeakyReLU(0.2),
nearest upsampling, ``layer1..layer8``, output ``output_32x32`` without tanh), trained as the
decoder of a variational autoencoder on 32x32 world scenes: a small convolutional encoder
(:class:`WorldEncoder`, discarded after training) maps an image to a Gaussian posterior over
``z``; the loss is the squared error of the decoded image (as a Gaussian likelihood with
standard deviation ``sigma``) plus the KL divergence of the posterior from N(0, I). Sampling
``z ~ N(0, I)`` then draws new scenes, as with the published generators. An adversarial run did
not fit the few CPU minutes this training may take; the VAE objective does, at the price of
blurrier images (fine texture noise comes out as its mean colour).

By default the generator draws one scene class, ``village`` (houses with roofs, doors and
windows, a road, and optionally trees, cars, people, clouds, sun), as each published generator
draws one LSUN category.

Evaluation (``meta.json``): reconstruction error of held-out images (seed 1), and how often the
world segmenter finds each object in 300 samples ``z ~ N(0, I)`` (images upsampled 2x to the
64x64 the segmenter reads) next to the same figures for real world images segmented the same
way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.data.world import WorldConfig, render_world
from jaxdissect.data.world_vocab import OBJECT_NUMBER
from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.world.training import HELD_OUT_SEED, TRAIN_SEED, fit

COUNTED_OBJECTS = ("house", "road", "tree", "car", "person", "cloud", "sun")


@dataclass(frozen=True)
class GeneratorSettings:
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 2e-3
    sizes: tuple[int, ...] = (128, 128, 64, 32, 16)
    classes: tuple[str, ...] = ("village",)
    sigma: float = 0.08  # likelihood standard deviation, on images in [-1, 1]
    init_seed: int = 0
    eval_images: int = 300


class WorldEncoder(nn.Module):
    """(N, R, R, 3) images in [-1, 1] -> posterior mean and log-variance, each (N, latent)."""

    latent: int
    widths: tuple[int, ...] = (32, 64, 128)

    @nn.compact
    def __call__(self, x):
        for width in self.widths:
            x = nn.leaky_relu(nn.Conv(width, (4, 4), strides=(2, 2), padding=1)(x), 0.2)
        x = x.reshape(x.shape[0], -1)
        stats = nn.Dense(2 * self.latent, kernel_init=nn.initializers.zeros)(x)
        return stats[:, :self.latent], stats[:, self.latent:]


def to_uint8(images: jax.Array) -> jax.Array:
    """Generator output in [-1, 1] (N, R, R, 3) float -> uint8 (clipped, rounded)."""
    return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


def upsample_uint8(images: jax.Array, factor: int) -> jax.Array:
    """Nearest-neighbour upsampling of (N, R, R, 3) by an integer factor."""
    return jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)


def output_size(module: ProgressiveGenerator) -> int:
    return 4 * 2 ** (len(module.sizes) - 2)


def vae_batches(config: WorldConfig, batch_size: int, latent: int):
    """Endless ``{"image", "noise"}`` batches: world images in [-1, 1] and N(0, I) draws."""
    start = 0
    while True:
        idx = np.arange(start, start + batch_size)
        images = render_world(config, idx)["image"].astype(np.float32) / 127.5 - 1.0
        noise = np.random.default_rng([config.seed, start]).standard_normal(
            (batch_size, latent), dtype=np.float32)
        yield {"image": images, "noise": noise}
        start += batch_size


def vae_loss(generator: ProgressiveGenerator, encoder: WorldEncoder, sigma: float) -> Callable:
    """Negative evidence lower bound per pixel value: params ``{"generator", "encoder"}``."""

    def loss_fn(params, batch):
        x = batch["image"]
        mean, log_var = encoder.apply({"params": params["encoder"]}, x)
        z = mean + jnp.exp(0.5 * log_var) * batch["noise"]
        decoded, _ = generator.apply({"params": params["generator"]}, z)
        reconstruction = jnp.sum(jnp.square(decoded - x), axis=(1, 2, 3)) / (2 * sigma**2)
        kl = 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var, axis=-1)
        return jnp.mean(reconstruction + kl) / x[0].size

    return loss_fn


def object_statistics(seg_objects: np.ndarray) -> dict[str, dict[str, float]]:
    """Per object of :data:`COUNTED_OBJECTS`: fraction of images where it covers at least 2
    cells, and its mean share of the cells; ``seg_objects`` (N, h, w) concept numbers."""
    stats = {}
    for name in COUNTED_OBJECTS:
        hit = seg_objects == OBJECT_NUMBER[name]
        stats[name] = {"images": float((hit.sum((1, 2)) >= 2).mean()), "share": float(hit.mean())}
    return stats


def evaluate_generator(module, params, segment: Callable | None, classes, images: int,
                       encoder_fn: Callable | None = None) -> dict:
    """Segmenter statistics of samples ``z ~ N(0, I)`` (seed 1) and of real images; with
    ``encoder_fn(images) -> z`` also the held-out reconstruction MSE (images in [-1, 1])."""
    size = output_size(module)
    real = render_world(WorldConfig(size=size, seg_size=size, classes=tuple(classes),
                                    seed=HELD_OUT_SEED), np.arange(images))["image"]
    result: dict = {"images": images}
    generate = jax.jit(module.apply)
    if encoder_fn is not None:
        x = real.astype(np.float32) / 127.5 - 1.0
        decoded, _ = generate({"params": params}, encoder_fn(x))
        result["reconstruction_mse"] = float(np.mean((np.asarray(decoded) - x) ** 2))
    if segment is None:
        return result
    z = np.random.default_rng(HELD_OUT_SEED).standard_normal((images, module.sizes[0]))
    samples, _ = generate({"params": params}, jnp.asarray(z, jnp.float32))
    factor = 64 // size
    found = np.asarray(segment(upsample_uint8(to_uint8(samples), factor)))[:, 0]
    seen = np.asarray(segment(upsample_uint8(jnp.asarray(real), factor)))[:, 0]
    result["samples"] = object_statistics(found)
    result["real"] = object_statistics(seen)
    return result


def train_generator(settings: GeneratorSettings = GeneratorSettings(),
                    log: Callable[[str], None] | None = print, segmenter_root=None):
    """Train and evaluate; returns ``(module, params, meta)`` with ``meta`` JSON-able.

    The evaluation uses the world segmenter saved under ``segmenter_root`` when there is one,
    else the shipped one.
    """
    module = ProgressiveGenerator(sizes=tuple(settings.sizes))
    encoder = WorldEncoder(settings.sizes[0])
    size = output_size(module)
    config = WorldConfig(size=size, seg_size=size, classes=tuple(settings.classes),
                         seed=TRAIN_SEED)
    key_g, key_e = jax.random.split(jax.random.PRNGKey(settings.init_seed))
    params = {
        "generator": module.init(key_g, jnp.zeros((1, settings.sizes[0])))["params"],
        "encoder": encoder.init(key_e, jnp.zeros((1, size, size, 3)))["params"],
    }
    batches = vae_batches(config, settings.batch_size, settings.sizes[0])
    params, report = fit(vae_loss(module, encoder, settings.sigma), params, batches,
                         settings.steps, settings.learning_rate, log)
    encode = jax.jit(lambda x: encoder.apply({"params": params["encoder"]}, x)[0])
    evaluation = evaluate_generator(module, params["generator"], _segmenter(segmenter_root),
                                    settings.classes, settings.eval_images, encode)
    if log:
        log(f"held-out evaluation {evaluation}")
    meta = {
        "arch": "proggan",
        "sizes": {"sizes": list(settings.sizes)},
        "classes": list(settings.classes),
        "default_layer": "layer4",
        "layers": list(module.LAYERS),
        "objective": "VAE decoder: Gaussian likelihood (sigma) + KL to N(0, I); not adversarial",
        "latent": "z ~ N(0, I)",
        "output": "RGB in [-1, 1], 32x32; no tanh",
        "training": report.record(settings),
        "evaluation": {"seed": HELD_OUT_SEED, **evaluation},
    }
    return module, params["generator"], meta


def _segmenter(root):
    """The world segmenter under ``root`` if there is one, else the shipped one, else None."""
    from jaxdissect.world.assets import asset_path, load_world_model
    from jaxdissect.world.segment import segment_fn

    for folder in (root, None):
        if asset_path("segmenter", folder).is_dir():
            return segment_fn(load_world_model("segmenter", folder))
    return None
