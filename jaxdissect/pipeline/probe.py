"""Probe data for a model dissection: a data spec opened, sized for the model, optionally cut.

Specs are those of :func:`jaxdissect.data.factory.open_source` (``folder:PATH``,
``tfds:NAME[:SPLIT]``, ``broden:PATH``, ``latents:N``) plus ``world:N``: the first N images of
the synthetic concept world (:mod:`jaxdissect.data.world`) with their exact segmentations
(options ``seed`` (1, the world models' held-out seed), ``size`` (64), ``classes``).

Sizing: image folders and tfds sets are squashed to ``round(S * 8 / 7)`` (256 for the 224 and
227 inputs of the published models) and centre-cropped to the model's input size S, unless the
options say otherwise; latents get the generator's latent size. ``limit`` keeps the first N rows
(:class:`FirstRows`), and is part of the data's identity.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from jaxdissect.data import (
    world,
    world_backdrop,
    world_canvas,
    world_layout,
    world_objects,
    world_vocab,
)
from jaxdissect.data.factory import SCHEMES, open_source
from jaxdissect.data.source import Field, RowSource
from jaxdissect.data.world import WorldConfig, render_world
from jaxdissect.data.world_layout import SCENE_CLASSES

WORLD_SPEC = "world:N (N images of the synthetic concept world, exact segmentations)"
_WORLD_CODE = (world, world_backdrop, world_canvas, world_layout, world_objects, world_vocab)


def world_code_sha256() -> str:
    """Hash of the world's drawing code: a change to it changes the data's identity."""
    digest = hashlib.sha256()
    for module in _WORLD_CODE:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


class WorldRows(RowSource):
    """Rows ``image`` (size, size, 3) uint8, ``seg`` (K, g, g) int32 (exact labels, joint world
    concept numbers), ``label`` () int32 (scene class) of world images ``0..N-1``."""

    def __init__(self, num_images: int, *, seed: int = 1, size: int = 64,
                 classes: Sequence[str] | str | None = None, quads: bool = False):
        if int(num_images) < 1:
            raise ValueError(f"world:{num_images}: draw at least one image")
        if isinstance(classes, str):
            classes = [c for c in classes.split(",") if c]
        self.config = WorldConfig(size=int(size), seed=int(seed), quads=bool(quads),
                                  classes=tuple(classes) if classes else SCENE_CLASSES)
        self.num_images = int(num_images)
        grid, channels = self.config.grid, len(self.config.channels)
        self.fields = {"image": Field((self.config.size, self.config.size, 3), "uint8"),
                       "seg": Field((channels, grid, grid), "int32"),
                       "label": Field((), "int32")}
        self.description = f"{self.num_images} world images (seed {self.config.seed})"
        self.classes = list(SCENE_CLASSES)

    def __len__(self) -> int:
        return self.num_images

    def row_name(self, index: int) -> str:
        return f"world[{index}]"

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        arrays, _ = self.read_batch([index])
        return {k: v[0] for k, v in arrays.items()}

    def read_batch(self, indices: Sequence[int], executor: Executor | None = None
                   ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """All rows drawn at once (the world draws whole batches much faster than rows)."""
        rows = np.asarray(indices, np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_images):
            raise IndexError(f"world rows must be in [0, {self.num_images})")
        if rows.size == 0:
            return {k: f.zeros(0) for k, f in self.fields.items()}, np.zeros(0, bool)
        drawn = render_world(self.config, rows)
        arrays = {k: drawn[k].astype(self.fields[k].dtype) for k in self.fields}
        return arrays, np.ones(rows.size, bool)

    def identity(self) -> dict:
        c = self.config
        return {"kind": "world", "num_images": self.num_images, "seed": c.seed, "size": c.size,
                "seg_size": c.grid, "quads": c.quads, "classes": list(c.classes),
                "code_sha256": world_code_sha256()}

    def vocabulary(self):
        return world_vocab.world_vocabulary(self.config.quads)


class FirstRows(RowSource):
    """The first ``limit`` rows of ``source`` (all of them when it has fewer)."""

    def __init__(self, source: RowSource, limit: int):
        if int(limit) < 1:
            raise ValueError(f"limit={limit}: keep at least one row")
        self.source, self.limit = source, min(int(limit), len(source))
        self.fields, self.strict = source.fields, source.strict
        self.description = f"the first {self.limit} rows of {source.description}"
        self.classes = getattr(source, "classes", None)

    def __len__(self) -> int:
        return self.limit

    def row_name(self, index: int) -> str:
        return self.source.row_name(index)

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        return self.source.read_row(index)

    def read_batch(self, indices, executor=None):
        if len(indices) and max(indices) >= self.limit:
            raise IndexError(f"row {max(indices)} is beyond the limit of {self.limit} rows")
        return self.source.read_batch(indices, executor)

    def identity(self) -> dict:
        return {"kind": "first_rows", "rows": self.limit, "of": self.source.identity()}

    def vocabulary(self):
        return self.source.vocabulary()

    @property
    def summary(self):
        return self.source.summary


def _resize_for(crop: int) -> int:
    return max(crop, round(crop * 8 / 7)) if crop < 224 else max(256, crop)


def open_probe_data(spec: str, *, options: dict | None = None, image_size: int | None = None,
                    latent_dim: int | None = None, limit: int | None = None) -> RowSource:
    """The probe data of ``spec`` (see the module docstring); errors name the problem before
    anything is computed."""
    options = dict(options or {})
    scheme, sep, argument = str(spec).partition(":")
    if scheme == "world" and sep:
        try:
            count = int(argument)
        except ValueError:
            raise ValueError(f"data source {spec!r}: N must be an integer") from None
        unknown = sorted(set(options) - {"seed", "size", "classes", "quads"})
        if unknown:
            raise ValueError(f"data source {spec!r}: unknown option(s) {unknown}; world data "
                             "accepts seed, size, classes, quads")
        source = WorldRows(count, **options)
    elif not sep or scheme not in SCHEMES:
        raise ValueError(f"data source {spec!r}: unknown scheme {scheme!r}; use one of: "
                         + "; ".join([*SCHEMES.values(), WORLD_SPEC]))
    else:
        if scheme in ("folder", "tfds") and image_size is not None:
            options.setdefault("crop", image_size)
            options.setdefault("resize", _resize_for(int(options["crop"])))
        if scheme == "latents" and latent_dim is not None:
            options.setdefault("dim", latent_dim)
        source = open_source(spec, **options)
    return source if limit is None else FirstRows(source, limit)


def source_identity(spec: str, source: RowSource, options: dict | None = None) -> dict:
    """The data's part of a run identity: the spec, its options, the row count and what the
    source reports about its content."""
    return {"spec": str(spec), "options": dict(sorted((options or {}).items())),
            "rows": len(source), "fields": {k: f.as_dict() for k, f in source.fields.items()},
            "source": source.identity()}
