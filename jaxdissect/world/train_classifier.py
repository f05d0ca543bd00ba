"""Train the world's VGG-style scene classifier (:class:`~jaxdissect.world.models.WorldVGG`).

Softmax cross-entropy on the nine scene classes, images drawn fresh from the world (seed 0) and
normalised like the zoo classifiers; accuracy is measured on held-out images of seed 1.
``python -m jaxdissect.world.train classifier`` runs it with the shipped settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdissect.world.models import WORLD_NORMALIZATION, WorldVGG
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.training import HELD_OUT_SEED, TRAIN_SEED, fit, world_stream


@dataclass(frozen=True)
class ClassifierSettings:
    steps: int = 1200
    batch_size: int = 48
    learning_rate: float = 2e-3
    init_seed: int = 0
    eval_images: int = 1000


def classifier_inputs(images_uint8) -> jax.Array:
    """(N, 64, 64, 3) uint8 -> normalised float32 input of the world classifier."""
    return WORLD_NORMALIZATION(images_uint8)


def class_logits(module, params, x: jax.Array) -> jax.Array:
    """Logits of a world classifier: the first output of the package's models (which return
    ``(logits, acts)``), the whole output of a plain Flax module (the world ViT)."""
    out = module.apply({"params": params}, x)
    return out[0] if isinstance(out, tuple) else out


def classifier_loss(module) -> Callable:
    def loss_fn(params, batch):
        logits = class_logits(module, params, classifier_inputs(batch["image"]))
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()

    return loss_fn


def classifier_accuracy(module, params, images: np.ndarray, labels: np.ndarray,
                        batch_size: int = 250) -> float:
    """Top-1 accuracy of ``module`` on uint8 images (N, 64, 64, 3) with labels (N,)."""
    predict = jax.jit(lambda p, x: jnp.argmax(class_logits(module, p, classifier_inputs(x)),
                                              -1))
    hits = 0
    for start in range(0, len(images), batch_size):
        pred = predict(params, images[start:start + batch_size])
        hits += int((np.asarray(pred) == labels[start:start + batch_size]).sum())
    return hits / len(images)


def fit_classifier(module, settings: ClassifierSettings, log: Callable[[str], None] | None):
    """Train any world scene classifier ``module`` (logits or ``(logits, acts)`` out) on fresh
    world images and measure it on held-out ones: ``(params, FitReport, evaluation entry)``."""
    config = WorldConfig(seed=TRAIN_SEED)
    x0 = jnp.zeros((1, config.size, config.size, 3), jnp.float32)
    params = module.init(jax.random.PRNGKey(settings.init_seed), x0)["params"]
    batches = world_stream(config, settings.batch_size)
    params, report = fit(classifier_loss(module), params, batches, settings.steps,
                         settings.learning_rate, log)
    held_out = render_world(WorldConfig(seed=HELD_OUT_SEED), np.arange(settings.eval_images))
    accuracy = classifier_accuracy(module, params, held_out["image"], held_out["label"])
    if log:
        log(f"held-out accuracy {accuracy:.4f} on {settings.eval_images} images")
    evaluation = {"seed": HELD_OUT_SEED, "images": settings.eval_images, "accuracy": accuracy}
    return params, report, evaluation


def train_classifier(settings: ClassifierSettings = ClassifierSettings(),
                     log: Callable[[str], None] | None = print):
    """Train and evaluate; returns ``(module, params, meta)`` with ``meta`` JSON-able."""
    module = WorldVGG()
    params, report, evaluation = fit_classifier(module, settings, log)
    meta = {
        "arch": "world_vgg",
        "sizes": {"num_classes": module.num_classes, "widths": list(module.widths),
                  "fc_width": module.fc_width, "pool4_size": module.pool4_size},
        "classes": list(WorldConfig().classes),
        "default_layer": "conv4_2",
        "layers": list(module.LAYERS),
        "training": report.record(settings),
        "evaluation": evaluation,
    }
    return module, params, meta
