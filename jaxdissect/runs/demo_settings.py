"""The sizes and choices of ``jaxdissect demo``; ``QUICK`` is the reduced set the tests run.

Probe images come from the world's held-out seed (1), never used in training; unit importance
for the ablation is measured on training-seed images (0) and the removals are evaluated on
held-out ones, as the paper measures on the training split and evaluates on validation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

HELD_OUT_SEED = 1
TRAIN_SEED = 0


@dataclass(frozen=True)
class DemoSettings:
    """images: probe images of the two classifier dissections; samples: latents of the
    generator dissection; ablation_images: images for unit importance and for the evaluation
    each; removal_samples / insertion_samples / quantile_samples: latents of the generator
    experiments (insertion runs the generator once per sample and layer cell)."""

    images: int = 2000
    samples: int = 2000
    classifier_layers: tuple[str, ...] = ("conv3_2", "conv4_2")
    segmenter_layers: tuple[str, ...] = ("conv4_2",)
    generator_layers: tuple[str, ...] = ("layer4",)
    ablation_layer: str = "conv4_2"
    ablation_classes: tuple[str, ...] = ("farm", "village", "harbour")
    ablation_object: str = "fence"  # the object that defines ablation_classes[0]
    ablation_images: int = 1000
    removal_samples: int = 200
    removal_max_units: int = 12
    insertion_samples: int = 32
    insertion_units: int = 10
    quantile_samples: int = 500
    batch_size: int = 64

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> DemoSettings:
        return dataclasses.replace(self, **changes)


FULL = DemoSettings()
QUICK = DemoSettings(images=160, samples=160, classifier_layers=("conv4_2",),
                     ablation_classes=("farm", "harbour"), ablation_images=120,
                     removal_samples=48, removal_max_units=6, insertion_samples=8,
                     insertion_units=4, quantile_samples=96, batch_size=48)
