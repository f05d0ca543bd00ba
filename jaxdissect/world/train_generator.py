"""Train the world generator: a Progressive-GAN-architecture generator of world scenes.

The generator is the published ProGAN architecture with its layer names
(``ProgressiveGenerator``: PixelNorm, WScale, LeakyReLU(0.2), nearest upsampling,
``layer1..layer8``, output ``output_32x32`` without tanh), trained on 32x32 world scenes in up to
two stages by ``python -m jaxdissect.world.train generator [--gan-steps N]``:

1. **VAE** (``steps``): the generator is first trained as the decoder of a variational
   autoencoder (a small convolutional encoder, :class:`WorldEncoder`, maps an image to a
   Gaussian posterior over ``z``; the loss is the squared error of the decoded image as a
   Gaussian likelihood with standard deviation ``sigma`` plus the KL divergence of the
   posterior from N(0, I)); the encoder is discarded. This gives a decoder that already draws
   village layouts from ``z ~ N(0, I)``, blurrily (fine texture comes out as its mean colour),
   and a stable start for the adversarial stage.
2. **Adversarial training** (``gan_steps``, 1000 for the shipped generator): from the VAE
   decoder, generator and a small discriminator (:mod:`jaxdissect.world.gan`) play the
   non-saturating GAN game with an R1 penalty on real images (weight ``r1_gamma``, estimated on
   ``r1_images`` real images of each batch), with Adam (``betas``, learning rate
   ``gan_learning_rate`` after a warm-up, cosine decay) on fresh world images and latents. The
   shipped weights are the exponential moving average of the generator's (decay ``average``).
   Measured (segmenter Frechet distance of the samples, 300 images): at a learning rate of
   1e-3 and ``r1_gamma`` 0.1 the game collapsed within 150 steps (the segmenter found no
   trees, clouds or suns in the samples); at 2e-4 and 1.0 it was stable, the distance falling
   from the decoder's 0.78-0.88 to 0.15 after 500-1000 of 2000 steps and drifting back to
   0.25 by 2000, and a 1000-step stage ended at 0.33; with ``r1_gamma`` 10 (shipped) it ended
   at 0.22, and a 2000-step stage at 0.21, no better to the eye for twice the time.
   ``gan_steps = 0`` keeps the VAE decoder.

By default the generator draws one scene class, ``village`` (houses with roofs, doors and
windows, a road, and optionally trees, cars, people, clouds, sun), as each published generator
draws one LSUN category.

Evaluation (``meta.json``): the VAE's reconstruction error of held-out images (seed 1), and
(:mod:`jaxdissect.world.generator_quality`) the world segmenter's object frequencies on samples
``z ~ N(0, I)`` and on real images, and the segmenter Frechet distance of the samples to real
images with its real-vs-real floor; after an adversarial stage, the same for the VAE decoder it
started from (``vae_decoder``), so that the gain of the stage is on record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.world.gan import WorldDiscriminator, gan_loss
from jaxdissect.world.generator_quality import output_size, sample_quality
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.training import HELD_OUT_SEED, TRAIN_SEED, fit


@dataclass(frozen=True)
class GeneratorSettings:
    steps: int = 2000  # VAE steps
    batch_size: int = 32
    learning_rate: float = 2e-3  # of the VAE stage
    sizes: tuple[int, ...] = (128, 128, 64, 32, 16)
    classes: tuple[str, ...] = ("village",)
    sigma: float = 0.08  # the VAE's likelihood standard deviation, on images in [-1, 1]
    init_seed: int = 0
    eval_images: int = 300
    gan_steps: int = 1000  # adversarial steps after the VAE stage; 0: the VAE decoder is kept
    gan_learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)  # Adam's, in the adversarial stage
    r1_gamma: float = 10.0
    r1_images: int = 8  # the R1 penalty is estimated on this many real images of each batch
    average: float = 0.999  # decay of the generator's moving average (what is kept)
    discriminator_widths: tuple[int, ...] = (32, 64, 128)


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


def scene_batches(config: WorldConfig, batch_size: int, latent: int, start: int = 0):
    """Endless ``{"image", "noise"}`` batches: world images in [-1, 1] from image ``start`` on,
    and N(0, I) draws (of both stages: the VAE's posterior noise, the GAN's latents)."""
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


def train_generator(settings: GeneratorSettings = GeneratorSettings(),
                    log: Callable[[str], None] | None = print, segmenter_root=None):
    """Train and evaluate; returns ``(module, params, meta)`` with ``meta`` JSON-able.

    The evaluation uses the world segmenter saved under ``segmenter_root`` when there is one,
    else the shipped one.
    """
    module = ProgressiveGenerator(sizes=tuple(settings.sizes))
    size = output_size(module)
    config = WorldConfig(size=size, seg_size=size, classes=tuple(settings.classes),
                         seed=TRAIN_SEED)
    decoder, encode, report = pretrain_decoder(module, config, settings, log)
    evaluation = {"seed": HELD_OUT_SEED,
                  "reconstruction_mse": reconstruction_error(module, decoder, encode, config,
                                                             settings.eval_images)}
    params, seconds = decoder, report.seconds
    if settings.gan_steps > 0:
        params, report = train_adversarially(module, decoder, config, settings, log)
        seconds += report.seconds
    segmenter = _segmenter(segmenter_root)
    if segmenter is not None:
        evaluation.update(sample_quality(module, params, segmenter, settings.classes,
                                         settings.eval_images))
        if settings.gan_steps > 0:
            evaluation["vae_decoder"] = sample_quality(module, decoder, segmenter,
                                                       settings.classes, settings.eval_images)
    if log:
        log(f"held-out evaluation {evaluation}")
    objective = ("VAE decoder: Gaussian likelihood (sigma) + KL to N(0, I); not adversarial"
                 if settings.gan_steps == 0 else
                 "GAN: non-saturating logistic loss, R1 penalty on real images, moving "
                 "average of the generator; warm-started as a VAE decoder")
    meta = {
        "arch": "proggan",
        "sizes": {"sizes": list(settings.sizes)},
        "classes": list(settings.classes),
        "default_layer": "layer4",
        "layers": list(module.LAYERS),
        "objective": objective,
        "latent": "z ~ N(0, I)",
        "output": "RGB in [-1, 1], 32x32; no tanh",
        "training": {**report.record(settings), "seconds": seconds},
        "evaluation": evaluation,
    }
    return module, params, meta


def pretrain_decoder(module: ProgressiveGenerator, config: WorldConfig,
                     settings: GeneratorSettings, log):
    """Stage 1: the generator's params trained as a VAE decoder, the jitted encoder
    ``images -> posterior mean``, and the FitReport."""
    encoder = WorldEncoder(settings.sizes[0])
    key_g, key_e = jax.random.split(jax.random.PRNGKey(settings.init_seed))
    params = {
        "generator": module.init(key_g, jnp.zeros((1, settings.sizes[0])))["params"],
        "encoder": encoder.init(key_e, jnp.zeros((1, config.size, config.size, 3)))["params"],
    }
    batches = scene_batches(config, settings.batch_size, settings.sizes[0])
    params, report = fit(vae_loss(module, encoder, settings.sigma), params, batches,
                         settings.steps, settings.learning_rate, log)
    encode = jax.jit(lambda x: encoder.apply({"params": params["encoder"]}, x)[0])
    return params["generator"], encode, report


def reconstruction_error(module, params, encode: Callable, config: WorldConfig,
                         images: int) -> float:
    """Mean squared error of decoded held-out images (seed ``HELD_OUT_SEED``), in [-1, 1]."""
    held_out = dataclasses.replace(config, seed=HELD_OUT_SEED)
    x = render_world(held_out, np.arange(images))["image"].astype(np.float32) / 127.5 - 1.0
    decoded, _ = jax.jit(module.apply)({"params": params}, encode(x))
    return float(np.mean((np.asarray(decoded) - x) ** 2))


def train_adversarially(module: ProgressiveGenerator, generator_params, config: WorldConfig,
                        settings: GeneratorSettings, log):
    """Stage 2: GAN training from ``generator_params``; returns the moving average of the
    generator's params and the FitReport. Images continue where stage 1 stopped."""
    discriminator = WorldDiscriminator(tuple(settings.discriminator_widths))
    key = jax.random.fold_in(jax.random.PRNGKey(settings.init_seed), 1)
    params = {
        "generator": generator_params,
        "discriminator": discriminator.init(
            key, jnp.zeros((2, config.size, config.size, 3)))["params"],
    }
    scenes = scene_batches(config, settings.batch_size, settings.sizes[0],
                           start=settings.steps * settings.batch_size)
    loss = gan_loss(module, discriminator, settings.r1_gamma, settings.r1_images)
    _, report = fit(loss, params, scenes,
                    settings.gan_steps, settings.gan_learning_rate, log,
                    betas=tuple(settings.betas), average=settings.average)
    return report.average["generator"], report


def _segmenter(root):
    """The world segmenter under ``root`` if there is one, else the shipped one, else None."""
    from jaxdissect.world.assets import asset_path, load_world_model

    for folder in (root, None):
        if asset_path("segmenter", folder).is_dir():
            return load_world_model("segmenter", folder)
    return None
