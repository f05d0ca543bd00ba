"""A synthetic concept world: procedurally drawn scenes with exact multi-label segmentations.

Scenes of nine classes (``village``, ``forest``, ``beach``, ``street``, ``farm``, ``lake``,
``ski_resort``, ``harbour``, ``park``; rules in ``world_layout``) are drawn as flat shapes with
textured materials: sky, ground, mountains (with snowy peaks), lake or sea, road, houses (roof,
door, windows), trees (trunk, crown), cars (wheels, window), people (head, torso, legs), boats
(hull, sail), fences, sun and clouds. The segmentation is exact because the labels are the
painting itself: every pixel knows the surface painted last there.

Segmentation format (as the published merged segmenter): int32 (N, K, h, w) of joint concept
numbers (``world_vocab``), 0 = none. Channels ``object, material, part, colour``; with
``quads=True``: ``object, material, part, quad_tb, quad_lr, colour``. Default grid: half the
image size (32x32 for 64x64 images), sampled at one pixel per cell (pixel ``f*j + f//2`` for
stride ``f``), so the colour channel is exactly the colour name of that pixel's RGB. Quad halves
cut each 8-connected component of each object class at the middle of its bounding box on the
segmentation grid (``mid = (first + last + 1) // 2``), like the published merge (without its
skipped-last-component quirk).

Determinism: image ``i`` depends only on ``(seed, i)``; any subset, order or batch size
reproduces it. Speed (numpy, one core): about 1,000 64x64 images per second with the default
grid; quad channels (connected components per image, on the host) cost about 60% more.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from jaxdissect.data.source import Field, RowSource
from jaxdissect.world.backdrop import Scene, draw_backdrop
from jaxdissect.world.canvas import Canvas
from jaxdissect.world.layout import (
    SCENE_CLASSES,
    SCENE_RULES,
    SEA_CLASSES,
    Draws,
    decide_content,
    draw_uniforms,
)
from jaxdissect.world.objects import draw_ground_objects
from jaxdissect.world.vocabulary import (
    MATERIAL_NUMBER,
    OBJECT_NUMBER,
    OBJECTS,
    name_colours,
    quad_number,
    world_vocabulary,
)

CHUNK = 256  # images drawn at once (bounds the memory of per-instance masks)


@dataclass(frozen=True)
class WorldConfig:
    """Image ``size``; ``seg_size`` (default size // 2) must divide it; ``classes`` restricts
    which scene classes are drawn (labels keep their global class numbers)."""

    size: int = 64
    seg_size: int | None = None
    seed: int = 0
    quads: bool = False
    classes: tuple[str, ...] = SCENE_CLASSES

    def __post_init__(self):
        if self.size < 16:
            raise ValueError(f"world size {self.size} is too small; use 16 pixels or more")
        if self.size % self.grid:
            raise ValueError(f"seg_size {self.grid} must divide the image size {self.size}")
        unknown = [c for c in self.classes if c not in SCENE_RULES]
        if unknown or not self.classes:
            raise ValueError(f"unknown scene classes {unknown}; choose from {SCENE_CLASSES}")

    @property
    def grid(self) -> int:
        return self.seg_size if self.seg_size is not None else self.size // 2

    @property
    def channels(self) -> tuple[str, ...]:
        if self.quads:
            return ("object", "material", "part", "quad_tb", "quad_lr", "colour")
        return ("object", "material", "part", "colour")


def render_world(config: WorldConfig, indices: Sequence[int] | np.ndarray) -> dict:
    """Draw the given images: ``image`` (N, size, size, 3) uint8, ``seg`` (N, K, g, g) int32,
    ``label`` (N,) int64 scene class, ``index`` (N,) int64."""
    indices = np.asarray(indices, np.int64).reshape(-1)
    parts = [_render_chunk(config, indices[i:i + CHUNK]) for i in range(0, len(indices), CHUNK)]
    if not parts:
        parts = [_render_chunk(config, indices)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _render_chunk(config: WorldConfig, indices: np.ndarray) -> dict:
    uniforms, keys = draw_uniforms(config.seed, indices)
    draws = Draws(uniforms)
    content = decide_content(draws, config.classes)
    horizon = draws.range(0.35, 0.5)
    ground_names = np.array([SCENE_RULES[c].ground for c in SCENE_CLASSES])[content.label]
    ground = np.array([MATERIAL_NUMBER[g] for g in ground_names], np.int32).reshape(-1)
    canvas = Canvas(len(indices), config.size)
    scene = Scene(canvas, draws, content, horizon, ground_top=horizon)
    draw_backdrop(scene, ground, content.class_is(SEA_CLASSES))
    draw_ground_objects(scene)
    image = canvas.render(keys)
    stride = config.size // config.grid
    cells = (slice(None), slice(stride // 2, None, stride), slice(stride // 2, None, stride))
    obj, part, material = (m[cells] for m in canvas.labels())
    channels = [obj, material, part]
    if config.quads:
        channels += list(quad_labels(obj))
    channels.append(name_colours(image[cells]))
    return {
        "image": image,
        "seg": np.stack(channels, axis=1).astype(np.int32),
        "label": content.label,
        "index": indices,
    }


def quad_labels(obj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quad halves of object maps (N, h, w): (top/bottom, left/right) concept maps, int32."""
    tb = np.zeros(obj.shape, np.int32)
    lr = np.zeros(obj.shape, np.int32)
    eight = np.ones((3, 3), bool)
    rows = np.arange(obj.shape[1])[:, None]
    cols = np.arange(obj.shape[2])[None, :]
    for n in range(obj.shape[0]):
        for number in np.unique(obj[n]):
            if number == 0:
                continue
            name = OBJECTS[number - OBJECT_NUMBER[OBJECTS[0]]]
            components, _ = ndimage.label(obj[n] == number, structure=eight)
            top, bottom = quad_number(name, "t"), quad_number(name, "b")
            left, right_half = quad_number(name, "l"), quad_number(name, "r")
            for c, (ys, xs) in enumerate(ndimage.find_objects(components), start=1):
                inside = components == c
                below = rows >= (ys.start + ys.stop) // 2  # mid = (first + last + 1) // 2
                right = cols >= (xs.start + xs.stop) // 2
                tb[n] = np.where(inside, np.where(below, bottom, top), tb[n])
                lr[n] = np.where(inside, np.where(right, right_half, left), lr[n])
    return tb, lr


_WORLD_MODULES = ("source", "backdrop", "canvas", "layout", "objects", "vocabulary")


def world_code_sha256() -> str:
    """Hash of the world's drawing code: a change to it changes the data's identity."""
    digest = hashlib.sha256()
    for name in _WORLD_MODULES:
        module = importlib.import_module(f"jaxdissect.world.{name}")
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
        return world_vocabulary(self.config.quads)
