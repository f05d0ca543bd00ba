"""The adversarial half of the world generator's training: a small discriminator and the loss.

The loss is the non-saturating logistic GAN loss with an R1 penalty on real images (Mescheder
et al. 2018), the combination that trains small GANs stably: the discriminator minimises
``softplus(D(G(z))) + softplus(-D(x)) + gamma / 2 * |grad_x D(x)|^2`` and the generator
``softplus(-D(G(z)))``. Both are written as one scalar over ``{"generator", "discriminator"}``
with each player's view of the other's parameters held fixed (``stop_gradient``), so that one
gradient step of :func:`jaxdissect.world.training.fit` is a simultaneous step of both players.
The R1 term is computed at every step on the first ``r1_images`` real images of the batch
only. Its double backward pass is the expensive part of a step: measured on the CPU at the
world's sizes, a step without it took 0.23 s, with it on all 32 images 0.49 s, and on 8 of
them about 0.35 s. (Lazy R1, the whole batch on every k-th step behind a ``lax.cond``, was
slower still: a penalised step took 1.9 s, the conditional's backward pass being expensive
there.)

:class:`WorldDiscriminator` is discarded after training, like the VAE's encoder.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp


def minibatch_stddev(x: jax.Array) -> jax.Array:
    """Append one channel: the standard deviation of each feature over the batch, averaged
    (ProGAN's minibatch statistic: lets the discriminator see a lack of variety)."""
    std = jnp.sqrt(jnp.var(x, axis=0) + 1e-8).mean()
    return jnp.concatenate([x, jnp.broadcast_to(std, (*x.shape[:-1], 1))], axis=-1)


class WorldDiscriminator(nn.Module):
    """(N, R, R, 3) images in [-1, 1] -> (N,) logits (real > 0).

    A 3x3 conv, then per width a stride-2 4x4 conv halving the resolution (LeakyReLU 0.2), the
    minibatch standard deviation, a 3x3 conv and a linear read-out of the flattened map.
    """

    widths: tuple[int, ...] = (32, 64, 128)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.leaky_relu(nn.Conv(self.widths[0], (3, 3), padding=1)(x), 0.2)
        for width in self.widths:
            x = nn.leaky_relu(nn.Conv(width, (4, 4), strides=(2, 2), padding=1)(x), 0.2)
        x = minibatch_stddev(x)
        x = nn.leaky_relu(nn.Conv(self.widths[-1], (3, 3), padding=1)(x), 0.2)
        return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]


def gan_loss(generator: nn.Module, discriminator: WorldDiscriminator, r1_gamma: float,
             r1_images: int) -> Callable:
    """Both players' losses as one scalar of params ``{"generator", "discriminator"}`` and a
    batch ``{"image": (N, R, R, 3) real images in [-1, 1], "noise": (N, Z) latents}``.

    ``r1_gamma``: the R1 weight (0: no penalty); ``r1_images``: how many of the batch's real
    images (the first ones) it is estimated on."""
    if r1_gamma < 0 or r1_images < 1:
        raise ValueError(f"r1_gamma must be >= 0 and r1_images >= 1, got {r1_gamma}, "
                         f"{r1_images}")

    def loss_fn(params, batch):
        fake, _ = generator.apply({"params": params["generator"]}, batch["noise"])

        def score(d_params, x):
            return discriminator.apply({"params": d_params}, x)

        def r1_penalty(d_params):
            real_logits, vjp = jax.vjp(lambda x: score(d_params, x),
                                       batch["image"][:r1_images])
            (real_grad,) = vjp(jnp.ones_like(real_logits))
            return jnp.mean(jnp.sum(jnp.square(real_grad), axis=(1, 2, 3)))

        d_params = params["discriminator"]
        r1 = r1_penalty(d_params) if r1_gamma > 0 else 0.0
        d_loss = (jnp.mean(jax.nn.softplus(score(d_params, jax.lax.stop_gradient(fake))))
                  + jnp.mean(jax.nn.softplus(-score(d_params, batch["image"])))
                  + 0.5 * r1_gamma * r1)
        g_loss = jnp.mean(jax.nn.softplus(-score(jax.lax.stop_gradient(d_params), fake)))
        return d_loss + g_loss

    return loss_fn
