"""The world's backdrop: sky, mountains, clouds, sun, ground, lake or sea, and road.

Every drawing function (here and in ``world_objects``) draws one element for the whole batch,
consuming a fixed number of uniforms whether or not the element is present (absent instances
get empty masks), so the random stream stays aligned across images. Backdrop layers sit at
fixed negative depths, in the order listed; ground objects (``world_objects``) stand in front
of them at depth = the row of their base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jaxdissect.world.canvas import (
    TEXTURE_ID,
    Canvas,
    ellipse_masks,
    rect_masks,
    trapezoid_masks,
)
from jaxdissect.world.layout import Draws, SceneContent
from jaxdissect.world.vocabulary import MATERIAL_NUMBER as MAT
from jaxdissect.world.vocabulary import OBJECT_NUMBER as OBJ
from jaxdissect.world.vocabulary import PART_NUMBER as PART

P = np.array  # palettes: (P, 3) RGB rows
SKY = P([[110, 165, 235], [70, 130, 215], [150, 190, 235], [170, 175, 190]])
ROCK = P([[120, 110, 100], [100, 105, 125], [125, 95, 70], [110, 90, 130]])
GROUND = {"grass": P([[70, 150, 60], [90, 160, 50], [60, 130, 50]]),
          "sand": P([[225, 200, 140], [215, 190, 120], [235, 215, 160]]),
          "snow": P([[240, 242, 248], [230, 235, 245]])}
WATER = P([[40, 90, 190], [30, 110, 170], [50, 80, 150]])
ASPHALT = P([[80, 80, 85], [100, 100, 100], [60, 60, 65]])
WALL_BRICK = P([[170, 70, 50], [150, 60, 45], [180, 95, 60]])
WALL_WOOD = P([[230, 225, 210], [220, 190, 100], [150, 100, 60], [90, 120, 170]])
ROOF = P([[180, 50, 40], [110, 70, 40], [90, 90, 95], [50, 60, 110]])
DOOR = P([[110, 70, 35], [150, 40, 40], [40, 90, 50]])
GLASS = P([[170, 210, 235], [240, 220, 120], [150, 190, 220]])
CROWN = P([[40, 120, 40], [30, 90, 35], [100, 170, 60], [45, 140, 70], [40, 120, 40],
           [30, 90, 35], [100, 170, 60], [45, 140, 70], [210, 120, 30]])
CAR = P([[200, 30, 30], [40, 70, 200], [235, 210, 40], [235, 235, 235], [30, 30, 30],
         [40, 140, 60], [240, 130, 30], [130, 130, 135]])
SHIRT = P([[200, 40, 40], [50, 80, 200], [50, 150, 60], [235, 210, 50], [240, 240, 240],
           [130, 60, 170], [240, 140, 40], [240, 150, 190]])
TROUSERS = P([[40, 50, 90], [30, 30, 30], [110, 80, 50]])
SKIN = P([[230, 185, 150], [160, 110, 75], [200, 150, 110]])
FENCE = P([[140, 95, 50], [235, 235, 230], [150, 140, 130]])
HULL = P([[240, 240, 240], [120, 75, 40], [190, 40, 40]])
SAIL = P([[245, 245, 245], [220, 50, 50], [240, 210, 60]])
TEX = TEXTURE_ID


@dataclass
class Scene:
    """The batch being drawn and the layout facts later elements need."""

    canvas: Canvas
    draws: Draws
    content: SceneContent
    horizon: np.ndarray  # (N,) row of the horizon in [0, 1]
    ground_top: np.ndarray  # (N,) first row where ground objects may stand
    sea_bottom: np.ndarray | None = None  # (N,) last row of the sea band
    road: tuple[np.ndarray, ...] | None = None  # (cx_top, cx_bottom, hw_bottom), each (N,)
    harbour_side: np.ndarray | None = None  # (N,) -1 or 1: where a harbour's houses stand

    @property
    def size(self) -> int:
        return self.canvas.size

    def base_rows(self, m: int, near: float = 0.97) -> np.ndarray:
        """(N, m) base rows of ground objects between ground_top + 0.06 and ``near``."""
        lo = self.ground_top + 0.06
        return self.draws.range(lo, np.maximum(lo, near), m)

    def road_at(self, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre and half-width of the road at rows yb (N, m), each (N, m)."""
        top_x, bottom_x, bottom_hw = self.road
        h = self.horizon[:, None]
        t = np.clip((yb - h) / (1.0 - h), 0, 1)
        return top_x[:, None] + t * (bottom_x - top_x)[:, None], 0.015 + t * (
            bottom_hw[:, None] - 0.015)

    def scale(self, yb: np.ndarray) -> np.ndarray:
        """Perspective size factor of an object standing at row yb: 0.55 far, 1.45 near."""
        h = self.horizon[:, None] if yb.ndim == 2 else self.horizon
        return 0.55 + 0.9 * (yb - h) / (1.0 - h)


def draw_backdrop(scene: Scene, ground: np.ndarray, sea: np.ndarray) -> None:
    """Sky, mountains, clouds, sun, ground, lake or sea and road; ``ground`` (N,) material."""
    n, size, d = scene.canvas.n, scene.size, scene.draws
    everything = np.ones((n, size, size), bool)
    scene.canvas.paint(everything, -10.0, OBJ["sky"], 0, 0, d.choice(SKY), TEX["sky"])
    draw_mountains(scene)
    draw_clouds(scene)
    draw_sun(scene)
    below = rect_masks(size, np.zeros((n, 1)), np.ones((n, 1)), scene.horizon[:, None],
                       np.full((n, 1), 1.1))[:, 0]
    colour = np.zeros((n, 3), np.float32)
    for name, palette in GROUND.items():
        pick = d.choice(palette)
        colour[ground == MAT[name]] = pick[ground == MAT[name]]
    texture = np.select([ground == MAT["sand"], ground == MAT["snow"]],
                        [TEX["sand"], TEX["snow"]], TEX["grass"])
    scene.canvas.paint(below, -3.0, OBJ["ground"], 0, ground, colour, texture)
    draw_lake(scene, sea)
    draw_road(scene)


def draw_mountains(scene: Scene) -> None:
    d, h = scene.draws, scene.horizon
    active = scene.content.active("mountain")
    apex_x = d.range(0.1, 0.9, 2)
    apex_y = d.range(0.06, h - 0.14, 2)
    half = (h[:, None] - apex_y) * d.range(1.0, 2.0, 2)
    base = np.broadcast_to(h[:, None] + 0.02, apex_x.shape)
    body = trapezoid_masks(scene.size, apex_y, base, apex_x, apex_x, 0 * half, half)
    body &= active[..., None, None]
    colour = d.choice(ROCK, 2)
    snowy = (d.take(2) < 0.5) | scene.content.class_is(("ski_resort",))[:, None]
    cap_base = apex_y + (h[:, None] - apex_y) * 0.35
    cap_half = half * 0.35 / (1.0 + 0.02 / np.maximum(h[:, None] - apex_y, 1e-3))
    cap = trapezoid_masks(scene.size, apex_y, cap_base, apex_x, apex_x, 0 * half, cap_half)
    cap &= (active & snowy)[..., None, None]
    for m in range(2):
        depth = -6.0 + 0.1 * m
        scene.canvas.paint(body[:, m], depth, OBJ["mountain"], 0, MAT["rock"], colour[:, m],
                           TEX["rock"])
        scene.canvas.paint(cap[:, m], depth + 0.05, OBJ["mountain"], PART["peak"], MAT["snow"],
                           (240, 240, 245), TEX["snow"])


def draw_clouds(scene: Scene) -> None:
    d, h, size = scene.draws, scene.horizon, scene.size
    active = scene.content.active("cloud")
    cx = d.range(0.05, 0.95, 3)
    cy = d.range(0.05, np.maximum(0.06, h - 0.12), 3)
    rx = d.range(0.07, 0.14, 3)
    ry = rx * 0.45
    mask = ellipse_masks(size, cx, cy, rx, ry)
    mask |= ellipse_masks(size, cx - 0.6 * rx, cy + 0.2 * ry, 0.6 * rx, 0.7 * ry)
    mask |= ellipse_masks(size, cx + 0.6 * rx, cy + 0.25 * ry, 0.55 * rx, 0.65 * ry)
    mask &= active[..., None, None]
    colour = d.choice(P([[238, 238, 242], [238, 238, 242], [185, 185, 190]]), 3)
    scene.canvas.paint_instances(mask, -5.0, OBJ["cloud"], 0, 0, colour, TEX["flat"])


def draw_sun(scene: Scene) -> None:
    d, h = scene.draws, scene.horizon
    r = d.range(0.05, 0.08)
    cx = d.range(0.1, 0.9)
    cy = d.range(0.08, np.maximum(0.09, h - r - 0.04))
    mask = ellipse_masks(scene.size, cx[:, None], cy[:, None], r[:, None], r[:, None])[:, 0]
    mask &= scene.content.has("sun")[:, None, None]
    colour = d.choice(P([[245, 220, 60], [245, 225, 90], [245, 150, 40]]))
    scene.canvas.paint(mask, -4.0, OBJ["sun"], 0, 0, colour, TEX["flat"])


def draw_lake(scene: Scene, sea: np.ndarray) -> None:
    """A sea band below the horizon (``sea`` (N,) bool) or an elliptic lake."""
    d, h, size = scene.draws, scene.horizon, scene.size
    depth_of_band = d.range(0.12, 0.22)
    n = len(h)
    band = rect_masks(size, np.zeros((n, 1)), np.ones((n, 1)), h[:, None],
                      (h + depth_of_band)[:, None])[:, 0]
    rx = d.range(0.25, 0.45)
    ry = d.range(0.07, 0.12)
    cx = d.range(0.3, 0.7)
    cy = h + ry * d.range(0.3, 0.8)
    oval = ellipse_masks(size, cx[:, None], cy[:, None], rx[:, None], ry[:, None])[:, 0]
    oval &= (np.arange(size) + 0.5)[None, :, None] / size >= h[:, None, None]
    mask = np.where(sea[:, None, None], band, oval) & scene.content.has("lake")[:, None, None]
    colour = d.choice(WATER)
    scene.canvas.paint(mask, -2.0, OBJ["lake"], 0, MAT["water"], colour, TEX["water"])
    on_sea = sea & scene.content.has("lake")
    scene.ground_top = np.where(on_sea, h + depth_of_band, h)
    scene.sea_bottom = h + depth_of_band


def draw_road(scene: Scene) -> None:
    """A road in perspective from a vanishing point on the horizon to the bottom edge."""
    d, h, size = scene.draws, scene.horizon, scene.size
    top_x = d.range(0.35, 0.65)
    bottom_x = d.range(0.25, 0.75)
    bottom_hw = d.range(0.18, 0.28)
    present = scene.content.has("road")
    shape = (h[:, None], np.full((len(h), 1), 1.0), top_x[:, None], bottom_x[:, None])
    road = trapezoid_masks(size, *shape, np.full((len(h), 1), 0.015), bottom_hw[:, None])[:, 0]
    scene.canvas.paint(road & present[:, None, None], -1.9, OBJ["road"], 0, MAT["asphalt"],
                       d.choice(ASPHALT), TEX["asphalt"])
    line = trapezoid_masks(size, *shape, np.full((len(h), 1), 0.002),
                           bottom_hw[:, None] * 0.06)[:, 0]
    dashes = (np.arange(size) * 8 // size) % 2 == 0
    line &= dashes[None, :, None] & present[:, None, None]
    scene.canvas.paint(line, -1.8, OBJ["road"], 0, MAT["asphalt"],
                       d.choice(P([[240, 240, 240], [240, 215, 60]])), TEX["flat"])
    scene.road = (top_x, bottom_x, bottom_hw)
