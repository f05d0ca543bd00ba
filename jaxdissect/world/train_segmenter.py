"""Train the world segmenter (:class:`~jaxdissect.world.models.WorldSegmenter`).

Per-pixel softmax cross-entropy of the object, material and part heads against the world's
exact labels on its default 32x32 grid (images drawn fresh from seed 0). Half of each batch is
shown at half resolution (pixelated, or blurred), so that the segmenter also reads the 32x32
generator's images upsampled to 64x64; the labels stay the full-resolution ones. The colour channel
needs no training: it is named from the pixels. Evaluation: per-category pixel accuracy on
held-out images (seed 1), over all grid cells and over the cells that carry a label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdissect.world.models import HEAD_CONCEPTS, WORLD_NORMALIZATION, WorldSegmenter
from jaxdissect.world.segment import segment
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.training import HELD_OUT_SEED, TRAIN_SEED, fit, world_stream
from jaxdissect.world.vocabulary import NUM_BASE_CONCEPTS

CHANNEL = {"object": 0, "material": 1, "part": 2, "colour": 3}


@dataclass(frozen=True)
class SegmenterSettings:
    steps: int = 800
    batch_size: int = 32
    learning_rate: float = 3e-3
    init_seed: int = 0
    eval_images: int = 500


def head_targets() -> dict[str, np.ndarray]:
    """Concept number -> head index, one (NUM_BASE_CONCEPTS,) int32 table per head."""
    tables = {}
    for head, concepts in HEAD_CONCEPTS.items():
        table = np.zeros((NUM_BASE_CONCEPTS,), np.int32)
        table[concepts] = np.arange(len(concepts))
        tables[head] = table
    return tables


def coarsen(images_uint8: jax.Array) -> jax.Array:
    """Half-resolution look: every 2x2 block takes its top-left pixel, (N, H, W, 3) uint8."""
    small = images_uint8[:, ::2, ::2]
    return jnp.repeat(jnp.repeat(small, 2, axis=1), 2, axis=2)


def soften(images_uint8: jax.Array) -> jax.Array:
    """A 3x3 box blur at half resolution, upsampled back: how a 32x32 decoder's output looks."""
    small = images_uint8[:, ::2, ::2].astype(jnp.float32)
    padded = jnp.pad(small, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = small.shape[1:3]
    box = sum(padded[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0
    box = jnp.round(box).astype(jnp.uint8)
    return jnp.repeat(jnp.repeat(box, 2, axis=1), 2, axis=2)


def augment(images_uint8: jax.Array) -> jax.Array:
    """Keep the first half of the batch; coarsen the third quarter, soften the last quarter.

    So the segmenter also reads the generator's 32x32 images shown at 64x64.
    """
    n = images_uint8.shape[0]
    which = jnp.arange(n)[:, None, None, None]
    out = jnp.where(which >= n // 2, coarsen(images_uint8), images_uint8)
    return jnp.where(which >= (3 * n) // 4, soften(images_uint8), out)


def segmenter_loss(module: WorldSegmenter) -> Callable:
    tables = {k: jnp.asarray(v) for k, v in head_targets().items()}

    def loss_fn(params, batch):
        images = augment(batch["image"])
        logits, _ = module.apply({"params": params}, WORLD_NORMALIZATION(images))
        total = 0.0
        for head, table in tables.items():
            target = table[batch["seg"][:, CHANNEL[head]]]
            total += optax.softmax_cross_entropy_with_integer_labels(logits[head], target).mean()
        return total

    return loss_fn


def segmenter_accuracy(module: WorldSegmenter, params, images: np.ndarray, seg: np.ndarray,
                       batch_size: int = 100) -> dict[str, dict[str, float]]:
    """Per channel: ``{"all": accuracy over cells, "labelled": over cells with a label}``."""
    run = jax.jit(lambda p, x: segment(module, p, x))
    pred = np.concatenate([np.asarray(run(params, images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])
    result = {}
    for name, c in CHANNEL.items():
        hit = pred[:, c] == seg[:, c]
        labelled = seg[:, c] > 0
        result[name] = {"all": float(hit.mean()), "labelled": float(hit[labelled].mean())}
    return result


def train_segmenter(settings: SegmenterSettings = SegmenterSettings(),
                    log: Callable[[str], None] | None = print):
    """Train and evaluate; returns ``(module, params, meta)`` with ``meta`` JSON-able."""
    module = WorldSegmenter()
    config = WorldConfig(seed=TRAIN_SEED)
    x0 = jnp.zeros((1, config.size, config.size, 3), jnp.float32)
    params = module.init(jax.random.PRNGKey(settings.init_seed), x0)["params"]
    params, report = fit(segmenter_loss(module), params, world_stream(config, settings.batch_size),
                         settings.steps, settings.learning_rate, log)
    held_out = render_world(WorldConfig(seed=HELD_OUT_SEED), np.arange(settings.eval_images))
    accuracy = segmenter_accuracy(module, params, held_out["image"], held_out["seg"])
    if log:
        log(f"held-out pixel accuracy {accuracy}")
    meta = {
        "arch": "world_segmenter",
        "sizes": {"widths": list(module.widths)},
        "channels": list(config.channels),
        "seg_size": config.grid,
        "default_layer": "dec2",
        "layers": list(module.LAYERS),
        "training": report.record(settings),
        "evaluation": {"seed": HELD_OUT_SEED, "images": settings.eval_images,
                       "pixel_accuracy": accuracy},
    }
    return module, params, meta
