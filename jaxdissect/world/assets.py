"""The shipped world models: where they live, how they are saved and loaded.

``jaxdissect/assets/world/<name>/`` holds one converted-model folder per model (``params/``, an
orbax checkpoint, and ``meta.json`` with the architecture, sizes, training command and settings,
and the held-out accuracy), in the same layout ``jaxdissect.checkpoint.load`` reads.
Names: ``classifier`` (:class:`~jaxdissect.world.models.WorldVGG`), ``segmenter``
(:class:`~jaxdissect.world.models.WorldSegmenter`), ``generator`` (a
:class:`~jaxdissect.models.proggan.ProgressiveGenerator`) and ``vit``
(:class:`~jaxdissect.world.vit.WorldViT`, plain Flax code read through ``jaxdissect.wrap``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax.numpy as jnp

import jaxdissect
from jaxdissect import checkpoint
from jaxdissect.models.base import Net
from jaxdissect.models.registry import get_arch

ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "world"
WORLD_MODELS = ("classifier", "segmenter", "generator", "vit")


def asset_path(name: str, root: str | Path | None = None) -> Path:
    """Folder of the world model ``name`` (under ``root``, default the shipped assets)."""
    if name not in WORLD_MODELS:
        raise ValueError(f"unknown world model {name!r}; choose from {', '.join(WORLD_MODELS)}")
    return Path(root or ASSET_DIR).absolute() / name


def register_world_archs() -> None:
    """Register the world architectures (``world_vgg``, ``world_segmenter``, ``world_vit``)."""
    import jaxdissect.world.models  # noqa: F401
    import jaxdissect.world.vit  # noqa: F401


def save_world_model(name: str, params: Any, meta: dict, root: str | Path | None = None) -> Path:
    """Write a trained world model (replacing an older one); adds normalization and version."""
    register_world_archs()
    full = {
        **meta,
        "normalization": get_arch(meta["arch"]).normalization_json(meta["sizes"]),
        "jaxdissect_version": jaxdissect.__version__,
    }
    folder = checkpoint.save_model(asset_path(name, root), params, full, force=True)
    # orbax's commit marker records the absolute path it was written to; shipped models are
    # read back from a local folder, which needs no marker, so it is not kept.
    (folder / "params" / "commit_success.txt").unlink(missing_ok=True)
    return folder


def load_world_model(name: str, root: str | Path | None = None, dtype: Any = jnp.float32) -> Net:
    """A shipped (or retrained, under ``root``) world model as a ``Net``.

    ``net.meta`` holds the training settings and the held-out accuracy.
    """
    register_world_archs()

    path = asset_path(name, root)
    if not path.is_dir():
        raise FileNotFoundError(
            f"world model {name!r} not found at {path}; train it with "
            f"`python -m jaxdissect.world.train {name}`"
        )
    return checkpoint.load(path, dtype=dtype)
