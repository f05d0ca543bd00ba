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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from jaxdissect.data.world_backdrop import Scene, draw_backdrop
from jaxdissect.data.world_canvas import Canvas
from jaxdissect.data.world_layout import (
    SCENE_CLASSES,
    SCENE_RULES,
    SEA_CLASSES,
    Draws,
    decide_content,
    draw_uniforms,
)
from jaxdissect.data.world_objects import draw_ground_objects
from jaxdissect.data.world_vocab import (
    MATERIAL_NUMBER,
    OBJECT_NUMBER,
    OBJECTS,
    name_colours,
    quad_number,
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


class WorldSource:
    """Random access to world images (grain ``RandomAccessDataSource`` protocol).

    ``source[i]`` is one example dict (``image`` (H, W, 3), ``seg`` (K, h, w), ``label``,
    ``index``); :meth:`batches` draws whole batches at once, which is much faster.
    """

    def __init__(self, config: WorldConfig, num_images: int):
        if num_images < 1:
            raise ValueError(f"num_images must be positive, got {num_images}")
        self.config = config
        self.num_images = int(num_images)

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, i: int) -> dict:
        if not 0 <= int(i) < self.num_images:
            raise IndexError(f"image {i} out of range: the source has {self.num_images} images")
        example = render_world(self.config, [int(i)])
        return {k: v[0] for k, v in example.items()}

    def batches(self, batch_size: int, start: int = 0, stop: int | None = None) -> Iterator[dict]:
        """Padded, masked batches of images ``start..stop``; see :func:`world_batches`."""
        stop = self.num_images if stop is None else min(stop, self.num_images)
        return world_batches(self.config, np.arange(start, stop), batch_size)


def world_batches(config: WorldConfig, indices: Sequence[int] | np.ndarray,
                  batch_size: int) -> Iterator[dict]:
    """Batches in the driver's format: ``image`` uint8 (B, H, W, 3), ``seg`` int32 (B, K, h, w),
    ``label`` (B,) int32, ``index`` (B,) int64, ``mask`` (B,) bool; the last batch is padded
    with zeros (index 0, mask False)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    indices = np.asarray(indices, np.int64).reshape(-1)
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        drawn = render_world(config, chunk)
        valid = len(chunk)
        batch = {}
        for key, value in drawn.items():
            dtype = np.int32 if key == "label" else value.dtype
            padded = np.zeros((batch_size, *value.shape[1:]), dtype)
            padded[:valid] = value
            batch[key] = padded
        batch["mask"] = np.arange(batch_size) < valid
        yield batch
