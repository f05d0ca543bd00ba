"""Vectorised painting of a batch of world scenes: shapes, surfaces and textures.

A :class:`Canvas` paints N images at once with a depth buffer. Each paint call is one
*surface*: a boolean mask (N, H, W) and a depth with, per image, an object, part and material
concept number, a base colour and a texture; it shows where its mask is set and nothing nearer
was painted. The canvas only records which surface is visible at each pixel (an int16 map);
the label maps and the RGB image are gathered from the per-surface tables at the end, so every
label is exact by construction (a part is only ever painted together with its owning object,
and the visible surface at a pixel names all its labels).

Shapes are evaluated at pixel centres in normalised coordinates (x, y in [0, 1], y downwards),
so a scene looks the same at any image size. Textures are pixel-scale patterns modulated by a
per-image hash noise, deterministic in (image key, pixel).
"""

from __future__ import annotations

import numpy as np

# Texture ids; materials map onto their own texture, other surfaces use flat or sky shading.
TEXTURES = (
    "flat", "sky", "brick", "wood", "tile", "glass", "grass", "sand", "snow",
    "water", "rock", "asphalt", "foliage", "metal", "fabric", "skin",
)
TEXTURE_ID = {name: i for i, name in enumerate(TEXTURES)}
MORTAR_RGB = np.array([205, 200, 190], np.float32)


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1]: x (1, 1, size) and y (1, size, 1), float32."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return c[None, None, :], c[None, :, None]


def _centres(size: int) -> np.ndarray:
    return (np.arange(size, dtype=np.float32) + 0.5) / size


def _row_spans(size, lo, hi) -> np.ndarray:
    """Masks (N, M, H, W) from per-row column intervals lo <= x <= hi, each (N, M, H)."""
    c = _centres(size)
    return (c >= lo[..., None]) & (c <= hi[..., None])


def rect_masks(size, x0, x1, y0, y1) -> np.ndarray:
    """Axis-aligned rectangles x0 <= x < x1, y0 <= y < y1: parameters (N, M) -> (N, M, H, W)."""
    c = _centres(size)
    inside_x = (c >= x0[..., None]) & (c < x1[..., None])
    inside_y = (c >= y0[..., None]) & (c < y1[..., None])
    return inside_y[..., :, None] & inside_x[..., None, :]


def ellipse_masks(size, cx, cy, rx, ry) -> np.ndarray:
    """Filled ellipses, parameters (N, M) -> masks (N, M, H, W) bool."""
    dy = ((_centres(size) - cy[..., None]) / ry[..., None]) ** 2  # (N, M, H)
    half = rx[..., None] * np.sqrt(np.maximum(1.0 - dy, 0.0))
    half = np.where(dy <= 1.0, half, -1.0)  # rows outside: an empty span
    return _row_spans(size, cx[..., None] - half, cx[..., None] + half)


def trapezoid_masks(size, y0, y1, cx0, cx1, hw0, hw1) -> np.ndarray:
    """Horizontal-based trapezoids from row y0 (centre cx0, half-width hw0) to y1 (cx1, hw1).

    A triangle is a trapezoid with hw0 = 0. Parameters (N, M) -> masks (N, M, H, W) bool.
    """
    t = (_centres(size) - y0[..., None]) / np.maximum(y1 - y0, 1e-6)[..., None]  # (N, M, H)
    centre = cx0[..., None] + t * (cx1 - cx0)[..., None]
    half = hw0[..., None] + t * (hw1 - hw0)[..., None]
    half = np.where((t >= 0) & (t < 1), half, -1.0)
    return _row_spans(size, centre - half, centre + half)


def hash_noise(keys: np.ndarray, size: int, cell: int = 1) -> np.ndarray:
    """Uniform [0, 1) noise per pixel, (N,) uint32 keys -> (N, H, W) float32.

    ``cell`` > 1 gives blocky noise constant over cell x cell pixels. A fixed integer hash of
    (key, row, column): the same key always gives the same noise.
    """
    idx = np.arange(size, dtype=np.uint32) // np.uint32(cell)
    h = keys.astype(np.uint32)[:, None, None] ^ (idx[None, :, None] * np.uint32(0x9E3779B1))
    h = h ^ (idx[None, None, :] * np.uint32(0x85EBCA77))
    h = h ^ (h >> np.uint32(15))
    h = h * np.uint32(0x2C1B3C6D)
    h = h ^ (h >> np.uint32(12))
    h = h * np.uint32(0x297A2D39)
    h = h ^ (h >> np.uint32(15))
    return (h >> np.uint32(8)).astype(np.float32) / np.float32(1 << 24)


class Canvas:
    """Paints N images of size x size; surface 0 is the background given at construction."""

    def __init__(self, n: int, size: int):
        self.n, self.size = n, size
        self.surface = np.zeros((n, size, size), np.int16)
        self.depth = np.full((n, size, size), -np.inf, np.float32)
        self.obj: list[np.ndarray] = []
        self.part: list[np.ndarray] = []
        self.material: list[np.ndarray] = []
        self.colour: list[np.ndarray] = []
        self.texture: list[np.ndarray] = []

    def _per_image(self, value, dtype, shape=()) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype), (self.n, *shape)).copy()

    def add_surface(self, obj, part, material, colour, texture) -> int:
        """Register a surface; scalars or (N,) arrays (colour (3,) or (N, 3))."""
        self.obj.append(self._per_image(obj, np.int32))
        self.part.append(self._per_image(part, np.int32))
        self.material.append(self._per_image(material, np.int32))
        self.colour.append(self._per_image(colour, np.float32, (3,)))
        self.texture.append(self._per_image(texture, np.int32))
        if len(self.obj) > np.iinfo(np.int16).max:
            raise ValueError("too many surfaces for one canvas")
        return len(self.obj) - 1

    def paint(self, mask: np.ndarray, depth, obj, part, material, colour, texture) -> None:
        """Paint a new surface where ``mask`` (N, H, W) is true and nothing nearer is painted.

        ``depth`` (scalar or (N,)): larger is nearer; equal depth paints over (painter's order).
        """
        sid = self.add_surface(obj, part, material, colour, texture)
        hit = mask.any(axis=(1, 2))
        if not hit.any():
            return
        rows = slice(None) if hit.all() else np.flatnonzero(hit)  # skip untouched images
        d = np.asarray(depth, np.float32)
        d = d[rows, None, None] if d.ndim else d
        visible = mask[rows] & (d >= self.depth[rows])
        self.surface[rows] = np.where(visible, np.int16(sid), self.surface[rows])
        self.depth[rows] = np.where(visible, d, self.depth[rows])

    def paint_instances(self, masks, depth, obj, part, material, colour, texture) -> None:
        """Paint instances (N, M, H, W) in order m = 0..M-1; attributes scalar, (N,) or (N, M)."""
        m_count = masks.shape[1]
        for m in range(m_count):
            self.paint(
                masks[:, m],
                _column(depth, m, m_count),
                _column(obj, m, m_count),
                _column(part, m, m_count),
                _column(material, m, m_count),
                _column(colour, m, m_count, trailing=1),
                _column(texture, m, m_count),
            )

    def _gather(self, table: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(table, axis=1)  # (N, S, ...)
        flat = stacked.reshape(self.n * stacked.shape[1], *stacked.shape[2:])
        offsets = np.arange(self.n) * stacked.shape[1]
        index = self.surface.astype(np.int64) + offsets[:, None, None]
        return flat[index]

    def labels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Object, part and material concept numbers, each (N, H, W) int32."""
        return self._gather(self.obj), self._gather(self.part), self._gather(self.material)

    def render(self, keys: np.ndarray) -> np.ndarray:
        """The RGB image (N, H, W, 3) uint8, textured with per-image noise keys (N,) uint32."""
        base = self._gather(self.colour)
        texture = self._gather(self.texture)
        return shade(base, texture, keys, self.size)


def _column(value, m: int, m_count: int, trailing: int = 0):
    """Instance m's attribute: (N, M[, 3]) arrays are indexed, scalars and (N[, 3]) pass."""
    arr = np.asarray(value)
    if arr.ndim == 2 + trailing:
        if arr.shape[1] != m_count:
            raise ValueError(f"attribute has {arr.shape[1]} instances, masks have {m_count}")
        return arr[:, m]
    return arr


# Per texture: factor = BASE + NOISE * pixel noise + BLOTCH * 2x2-blocky noise + ROWS * y.
_TEXTURE_TERMS = {  # name: (BASE, NOISE, BLOTCH, ROWS)
    "sky": (0.82, 0.0, 0.0, 0.3), "brick": (0.85, 0.2, 0.0, 0.0), "wood": (0.95, 0.1, 0.0, 0.0),
    "grass": (0.75, 0.4, 0.0, 0.0), "sand": (0.9, 0.15, 0.0, 0.0),
    "snow": (0.93, 0.07, 0.0, 0.0), "rock": (0.72, 0.0, 0.4, 0.0),
    "asphalt": (0.8, 0.35, 0.0, 0.0), "foliage": (0.65, 0.0, 0.55, 0.0),
    "fabric": (0.9, 0.15, 0.0, 0.0),
}
_TERMS = np.ones((len(TEXTURES), 4), np.float32) * np.array([1, 0, 0, 0], np.float32)
for _name, _terms in _TEXTURE_TERMS.items():
    _TERMS[TEXTURE_ID[_name]] = _terms


def _line_patterns(size: int) -> dict[str, tuple[np.ndarray, float]]:
    """Texture -> (where (H, W) bool, factor): regular lines that override the smooth terms."""
    iy = np.arange(size)[:, None]
    ix = np.arange(size)[None, :]
    return {
        "wood": (np.broadcast_to(ix % 3 == 0, (size, size)), 0.75),
        "tile": (np.broadcast_to(iy % 3 == 0, (size, size)), 0.7),
        "glass": ((ix + iy) % 5 == 0, 1.25),
        "water": (np.sin(iy * 1.7 + np.sin(ix * 0.5) * 1.2) > 0.55, 1.3),
        "metal": (np.broadcast_to(iy % 4 == 1, (size, size)), 1.2),
    }


def shade(base: np.ndarray, texture: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
    """Apply texture patterns: base colours (N, H, W, 3) float32, texture ids (N, H, W)."""
    terms = _TERMS[texture]  # (N, H, W, 4)
    _, rows = pixel_grid(size)
    factor = terms[..., 0] + terms[..., 1] * hash_noise(keys, size) + terms[..., 3] * rows
    factor += terms[..., 2] * hash_noise(keys ^ np.uint32(0x5BD1E995), size, cell=2)
    water = TEXTURE_ID["water"]
    factor = np.where(texture == water, 0.95, factor)
    for name, (where, value) in _line_patterns(size).items():
        np.copyto(factor, np.float32(value), where=where & (texture == TEXTURE_ID[name]))
    rgb = base * factor[..., None]
    # Brick mortar: a light line every 4 rows and, staggered by course, every 6 columns.
    iy = np.arange(size)[:, None]
    ix = np.arange(size)[None, :]
    mortar = (iy % 4 == 3) | ((ix + 3 * ((iy // 4) % 2)) % 6 == 0)
    mortar = mortar & (texture == TEXTURE_ID["brick"])
    rgb = np.where(mortar[..., None], MORTAR_RGB, rgb)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
