"""How good the world generator's samples are, measured with the world's own segmenter.

Two measures, both on samples ``z ~ N(0, I)`` (seed :data:`HELD_OUT_SEED`) against real world
images of the generator's scene classes (the same seed), upsampled 2x (nearest) to the 64x64
the segmenter reads:

* **object frequencies**: per object, the fraction of images where the segmenter finds it on at
  least 2 cells, and its mean share of the cells (:func:`object_statistics`);
* **segmenter Frechet distance** (an FID whose feature extractor is the world segmenter instead
  of Inception): the Frechet distance between Gaussians fitted to the spatial means of the
  segmenter's deepest encoder map ``enc4`` (64 features) of the two sets
  (:func:`frechet_distance`). Its floor is the distance between two sets of real images of
  different seeds (:data:`HELD_OUT_SEED` and :data:`TEST_SEED`) of the same size, which is not
  zero because the sets are finite.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import linalg

from jaxdissect.models.base import Net
from jaxdissect.world.models import WORLD_NORMALIZATION, labels_from_logits
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.training import HELD_OUT_SEED, TEST_SEED
from jaxdissect.world.vocabulary import OBJECT_NUMBER

COUNTED_OBJECTS = ("house", "road", "tree", "car", "person", "cloud", "sun")
FEATURE_LAYER = "enc4"
SEGMENTER_SIZE = 64


def to_uint8(images: jax.Array) -> jax.Array:
    """Generator output in [-1, 1] (N, R, R, 3) float -> uint8 (clipped, rounded)."""
    return jnp.clip(jnp.round((images + 1.0) * 127.5), 0, 255).astype(jnp.uint8)


def upsample_uint8(images: jax.Array, factor: int) -> jax.Array:
    """Nearest-neighbour upsampling of (N, R, R, 3) by an integer factor."""
    return jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)


def output_size(module) -> int:
    """Side of a ProgressiveGenerator's images."""
    return 4 * 2 ** (len(module.sizes) - 2)


def object_statistics(seg_objects: np.ndarray) -> dict[str, dict[str, float]]:
    """Per object of :data:`COUNTED_OBJECTS`: fraction of images where it covers at least 2
    cells, and its mean share of the cells; ``seg_objects`` (N, h, w) concept numbers."""
    stats = {}
    for name in COUNTED_OBJECTS:
        hit = seg_objects == OBJECT_NUMBER[name]
        stats[name] = {"images": float((hit.sum((1, 2)) >= 2).mean()), "share": float(hit.mean())}
    return stats


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets ``a`` (N, F) and ``b`` (M, F):
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    # a tiny ridge: some ReLU features are zero on every image, making the covariances singular
    ridge = 1e-9 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def segmenter_view(segmenter: Net, batch: int = 250) -> Callable[[np.ndarray], tuple]:
    """``fn(images_uint8 (N, 64, 64, 3)) -> (objects (N, 32, 32), features (N, 64))`` on the
    host: the segmenter's object channel and its :data:`FEATURE_LAYER` spatial means."""

    @jax.jit
    def run(params, x):
        logits, acts = segmenter.module.apply(
            {"params": params}, WORLD_NORMALIZATION(x), layers=[FEATURE_LAYER])
        return labels_from_logits(logits, x)[:, 0], acts[FEATURE_LAYER].mean((1, 2))

    def view(images):
        parts = [run(segmenter.params, images[i:i + batch]) for i in range(0, len(images), batch)]
        return tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in (0, 1))

    return view


def real_images(classes, size: int, seed: int, count: int) -> np.ndarray:
    """(count, size, size, 3) uint8 world images of ``classes`` from ``seed``."""
    config = WorldConfig(size=size, seg_size=size, classes=tuple(classes), seed=seed)
    return render_world(config, np.arange(count))["image"]


def generator_samples(module, params, images: int, seed: int = HELD_OUT_SEED) -> np.ndarray:
    """(images, R, R, 3) uint8 samples of latents ``z ~ N(0, I)`` drawn with numpy ``seed``."""
    z = np.random.default_rng(seed).standard_normal((images, module.sizes[0]))
    out, _ = jax.jit(module.apply)({"params": params}, jnp.asarray(z, jnp.float32))
    return np.asarray(to_uint8(out))


def sample_quality(module, params, segmenter: Net, classes, images: int,
                   seeds: tuple[int, int] = (HELD_OUT_SEED, TEST_SEED)) -> dict:
    """Object frequencies and the segmenter Frechet distance of ``images`` samples, next to the
    real images' frequencies and the real-vs-real floor (JSON-able). ``seeds``: the latents'
    and real images' seed, and the seed of the second real set (the floor)."""
    view = segmenter_view(segmenter)
    size = output_size(module)

    def seen(images_uint8):
        return view(upsample_uint8(images_uint8, SEGMENTER_SIZE // size))

    fake_objects, fake_features = seen(generator_samples(module, params, images, seeds[0]))
    real_objects, real_features = seen(real_images(classes, size, seeds[0], images))
    _, floor_features = seen(real_images(classes, size, seeds[1], images))
    return {
        "images": images,
        "samples": object_statistics(fake_objects),
        "real": object_statistics(real_objects),
        "segmenter_frechet": {"samples": frechet_distance(fake_features, real_features),
                              "real_other_seed": frechet_distance(floor_features, real_features),
                              "layer": FEATURE_LAYER},
    }
