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


UPERNET_LABELS = {"object": ["-", "sky", "house", "tree"], "material": ["-", "wood", "grass"],
                  "object_part": {"house": ["-", "door", "roof"], "tree": ["-", "trunk"]}}


COLOR_LABELS = {"labels": [{"name": n, "category": "color"} for n in ("-", "red", "blue")],
                "categories": [{"name": "color"}],
                "imageformat": {"byteorder": "BGR", "mean": [0.4] * 3, "stdev": [0.25] * 3}}


def tiny_upernet(folder: Path, seed: int = 0) -> Path:
    """A UPerNet with tiny widths and random weights, saved like a converted segmenter folder
    (upernet50 with its labels), so the published pipeline runs in seconds."""
    from jaxdissect.models.segmenter.upernet import build_upernet

    sizes = {"num_objects": 4, "num_parts": 5, "num_materials": 3, "fpn_dim": 8, "ppm_dim": 8,
             "stem_widths": [4, 4, 8], "stage_sizes": [1, 1, 1, 1],
             "stage_widths": [4, 8, 8, 8], "labels": UPERNET_LABELS}
    return _random_segmenter(folder, "upernet50", build_upernet(sizes), sizes, seed)


def tiny_colornet(folder: Path, seed: int = 1) -> Path:
    """A colour model with tiny widths and random weights, saved like a converted folder
    (colorseg with its labels: none, red, blue)."""
    from jaxdissect.models.segmenter.colornet import build_colornet

    sizes = {"num_classes": 3, "ppm_dim": 4, "last_dim": 4, "stem_widths": [4, 4, 8],
             "stage_sizes": [1, 1, 1, 1], "stage_widths": [4, 4, 8, 8], "labels": COLOR_LABELS}
    return _random_segmenter(folder, "colorseg", build_colornet(sizes), sizes, seed)


def _random_segmenter(folder: Path, arch: str, module, sizes: dict, seed: int) -> Path:
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    rng = np.random.default_rng(seed)

    def draw(path, s):
        name = jax.tree_util.keystr(path)
        if "var" in name:  # batch-norm variances must be positive
            return (1 + rng.random(s.shape)).astype(np.float32)
        return (rng.normal(size=s.shape) * 0.3).astype(np.float32)

    params = jax.tree_util.tree_map_with_path(draw, shapes["params"])
    return save_model(folder, params, {"arch": arch, "sizes": sizes, "normalization": None,
                                       "default_layer": "layer4"}, force=True)
