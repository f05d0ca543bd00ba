"""The Progressive GAN generator (Karras et al. 2018) as used by GAN dissection, in Flax.

Structure and parameter names follow the published PyTorch port, so converted checkpoints line
up key by key (``ports/proggan.py``):

- ``z`` (N, Z) is treated as a 1x1 map with Z channels;
- ``layer1``: PixelNorm -> conv 4x4 (padding 3, so 1x1 becomes 4x4) -> WScale -> LeakyReLU(0.2);
- ``layer2``: PixelNorm -> conv 3x3 -> WScale -> LeakyReLU;
- then one pair per resolution doubling: an upscale block (PixelNorm -> nearest x2 -> conv 3x3 ->
  WScale -> LeakyReLU) and a plain block;
- ``output_RxR``: PixelNorm -> conv 1x1 to RGB -> WScale, **no tanh** (output roughly in [-1, 1],
  not clamped).

WScale is ``x * scale + b`` with the constant He scale ``sqrt(2) / (k * sqrt(in_channels))``
(``1 / sqrt(in_channels)`` for the output layer); ``scale`` is not a parameter, ``b`` is.

The channel schedule ``sizes`` is read from a checkpoint: ``sizes[0]`` is the latent size,
``sizes[1]`` the width of layers 1-2, ``sizes[k]`` (k >= 2) the width of layers 2k-1 and 2k.
The 256x256 LSUN generators have ``(512, 512, 512, 512, 256, 128, 64, 32)`` (14 layers), the
1024x1024 CelebA-HQ one ``(512,) * 5 + (256, 128, 64, 32, 16)`` (18 layers).

Precision: with ``dtype=bfloat16`` the convolutions run in bfloat16 (parameters stay float32);
PixelNorm's mean of squares is taken in float32. Activations come back in the compute dtype, the
images in float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import check_layers
from jaxdissect.models.edits import Edits, tap
from jaxdissect.models.registry import ArchSpec, register_arch

LSUN_256_SIZES = (512, 512, 512, 512, 256, 128, 64, 32)
CELEBAHQ_1024_SIZES = (512, 512, 512, 512, 512, 256, 128, 64, 32, 16)


def num_layers(sizes: Sequence[int]) -> int:
    """Number of ``layerN`` blocks for a channel schedule: two at 4x4, two per doubling."""
    if len(sizes) < 2:
        raise ValueError(f"a ProGAN channel schedule needs at least 2 entries, got {sizes}")
    return 2 * len(sizes) - 2


def output_resolution(sizes: Sequence[int]) -> int:
    """Side of the generated image: 4 doubled once per upscale pair."""
    return 4 * 2 ** (len(sizes) - 2)


def output_name(sizes: Sequence[int]) -> str:
    """Name of the RGB output block, e.g. ``output_256x256``."""
    r = output_resolution(sizes)
    return f"output_{r}x{r}"


def pixel_norm(x: jax.Array) -> jax.Array:
    """``x / sqrt(mean_channels(x^2) + 1e-8)`` over the last axis; the mean in float32."""
    ms = jnp.mean(jnp.square(x.astype(jnp.float32)), axis=-1, keepdims=True)
    return (x.astype(jnp.float32) * jax.lax.rsqrt(ms + 1e-8)).astype(x.dtype)


def upsample_nearest_x2(x: jax.Array) -> jax.Array:
    """(N, H, W, C) -> (N, 2H, 2W, C), each pixel repeated in a 2x2 block."""
    n, h, w, c = x.shape
    x = jnp.broadcast_to(x[:, :, None, :, None, :], (n, h, 2, w, 2, c))
    return x.reshape(n, 2 * h, 2 * w, c)


class WScale(nn.Module):
    """``x * scale + b``: ``scale`` a constant from the fan-in, ``b`` (C,) a parameter."""

    features: int
    scale: float
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b = self.param("b", nn.initializers.zeros, (self.features,), jnp.float32)
        return x * jnp.asarray(self.scale, self.dtype) + b.astype(self.dtype)


class NormConvBlock(nn.Module):
    """PixelNorm -> [nearest x2] -> conv (no bias) -> WScale [-> LeakyReLU(0.2)]."""

    features: int
    kernel: int
    padding: int
    gain: float
    upscale: bool = False
    activate: bool = True
    dtype: jnp.dtype = jnp.float32
    precision: jax.lax.Precision | None = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = x.shape[-1]
        x = pixel_norm(x)
        if self.upscale:
            x = upsample_nearest_x2(x)
        x = nn.Conv(
            self.features,
            (self.kernel, self.kernel),
            padding=self.padding,
            use_bias=False,
            dtype=self.dtype,
            precision=self.precision,
            name="conv",
        )(x)
        x = WScale(self.features, self.gain / float(np.sqrt(fan_in)), self.dtype, name="wscale")(x)
        return nn.leaky_relu(x, 0.2) if self.activate else x


class ProgressiveGenerator(nn.Module):
    """ProGAN generator: ``images, acts = gen.apply(vars, z, layers=..., edits=...)``.

    ``z``: (N, sizes[0]) float. ``images``: (N, R, R, 3) float32, NHWC, roughly in [-1, 1].
    ``acts``: the requested ``layerN`` outputs after LeakyReLU, NHWC, in the compute dtype, with
    ``edits`` (``{layer: UnitEdit}``) applied before the next layer reads them.
    """

    sizes: tuple[int, ...] = LSUN_256_SIZES
    dtype: jnp.dtype = jnp.float32
    precision: jax.lax.Precision | None = None

    @property
    def LAYERS(self) -> tuple[str, ...]:  # noqa: N802 (the attribute every model exposes)
        return tuple(f"layer{i}" for i in range(1, num_layers(self.sizes) + 1))

    def _block(self, index: int) -> NormConvBlock:
        """Block ``layer{index}`` (1-based) with its published kernel, padding and width."""
        width = self.sizes[1] if index <= 2 else self.sizes[(index + 1) // 2]
        kernel, padding = (4, 3) if index == 1 else (3, 1)
        return NormConvBlock(
            features=width,
            kernel=kernel,
            padding=padding,
            gain=float(np.sqrt(2.0)) / kernel,
            upscale=index >= 3 and index % 2 == 1,
            dtype=self.dtype,
            precision=self.precision,
            name=f"layer{index}",
        )

    @nn.compact
    def __call__(
        self, z: jax.Array, layers: Sequence[str] = (), edits: Edits | None = None
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        check_layers(layers, self.LAYERS, "ProgressiveGenerator")
        if edits is not None:
            check_layers(tuple(edits), self.LAYERS, "ProgressiveGenerator")
        if z.ndim != 2 or z.shape[-1] != self.sizes[0]:
            raise ValueError(
                f"ProgressiveGenerator expects z of shape (N, {self.sizes[0]}), got {z.shape}"
            )
        acts: dict[str, jax.Array] = {}
        x = z.astype(self.dtype)[:, None, None, :]
        for index in range(1, num_layers(self.sizes) + 1):
            x = self._block(index)(x)
            x = tap(f"layer{index}", x, layers, edits, acts)
        rgb = NormConvBlock(
            features=3,
            kernel=1,
            padding=0,
            gain=1.0,
            activate=False,
            dtype=self.dtype,
            precision=self.precision,
            name=output_name(self.sizes),
        )(x)
        return rgb.astype(jnp.float32), acts


def build_from_sizes(sizes: dict, dtype=jnp.float32) -> ProgressiveGenerator:
    """The generator for a converted checkpoint's ``sizes`` (``{"sizes": [...], ...}``)."""
    return ProgressiveGenerator(sizes=tuple(int(s) for s in sizes["sizes"]), dtype=dtype)


register_arch(
    ArchSpec(
        name="proggan",
        build=build_from_sizes,
        normalization=lambda sizes: None,  # the input is a latent z, not an image
        default_layer="layer4",
        converter="ports.proggan:convert",
        detector="ports.proggan:matches",
        inputs="latent",
        latent_size=lambda sizes: int(sizes["sizes"][0]),
    )
)
