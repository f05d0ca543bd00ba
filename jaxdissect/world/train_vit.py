"""Train the world's small vision transformer (:class:`~jaxdissect.world.vit.WorldViT`).

The same recipe as the world classifier (:mod:`.train_classifier`: fresh world images of seed
0, softmax cross-entropy over the nine scenes, accuracy on held-out images of seed 1) with the
ViT's own settings. ``python -m jaxdissect.world.train vit`` runs it. The saved parameters are
the linen variables ``{"params": ...}``, as the wrapped model reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jaxdissect.world.source import WorldConfig
from jaxdissect.world.train_classifier import ClassifierSettings, fit_classifier
from jaxdissect.world.vit import WorldViT, sizes_of


@dataclass(frozen=True)
class ViTSettings(ClassifierSettings):
    steps: int = 600
    batch_size: int = 48
    learning_rate: float = 1e-3


def train_vit(settings: ViTSettings = ViTSettings(), log: Callable[[str], None] | None = print):
    """Train and evaluate; returns ``(module, variables, meta)`` with ``meta`` JSON-able."""
    module = WorldViT()
    params, report, evaluation = fit_classifier(module, settings, log)
    meta = {
        "arch": "world_vit",
        "name": "WorldViT",
        "sizes": sizes_of(module),
        "classes": list(WorldConfig().classes),
        "default_layer": "block4",
        "training": report.record(settings),
        "evaluation": evaluation,
    }
    return module, {"params": params}, meta
