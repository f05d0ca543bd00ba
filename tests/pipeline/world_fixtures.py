"""A tiny world classifier saved as a model folder, for end-to-end dissections in seconds."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.checkpoint import save_model
from jaxdissect.world.models import WorldVGG

SIZE = 32  # images of world:N with data option size=32; segmentations 16x16
SIZES = {"num_classes": 9, "widths": [4, 4, 6, 6], "fc_width": 8, "pool4_size": SIZE // 16}
NORMALIZATION = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "size": SIZE}


def tiny_world_classifier(folder: Path, seed: int = 0) -> Path:
    """Random WorldVGG weights (He-scaled normal, ``seed``) in a model folder (replaced if
    it exists)."""
    module = WorldVGG(SIZES["num_classes"], tuple(SIZES["widths"]), SIZES["fc_width"],
                      SIZES["pool4_size"])
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0),
                            jnp.zeros((1, SIZE, SIZE, 3)))["params"]
    rng = np.random.default_rng(seed)  # numpy draws: much faster than an eager flax init
    params = jax.tree.map(lambda s: (rng.normal(size=s.shape) * np.sqrt(2 / np.prod(
        s.shape[:-1])) if len(s.shape) > 1 else rng.normal(size=s.shape) * 0.1).astype(
            np.float32), shapes)
    meta = {"arch": "world_vgg", "sizes": SIZES, "normalization": NORMALIZATION,
            "default_layer": "conv4_2", "layers": list(WorldVGG.LAYERS)}
    return save_model(folder, params, meta, force=True)
