"""The world's ground objects with their parts: fence, houses, trees, boats, cars and people.

Each object instance stands on the row ``yb`` of its base and is scaled by perspective
(``Scene.scale``). Depth is ``yb`` plus a per-kind layer (trees and boats 0, houses 1, fences
2, cars 3, people 4): within a kind nearer objects hide farther ones, and a kind never hides a
kind of a higher layer, so the objects that define a scene class stay visible (a house is never
hidden behind trees, a person never behind a fence). Parts are painted just in front of their
object's body (depth plus a tiny step) with the owner's object label, so a part label only ever
appears inside its owner. Houses and trees step aside from the road, cars drive on it, boats
float on the sea band; in a harbour the houses stand on one side and the boats on the other.
"""

from __future__ import annotations

import numpy as np

from jaxdissect.world.backdrop import (
    CAR,
    CROWN,
    DOOR,
    FENCE,
    GLASS,
    HULL,
    ROOF,
    SAIL,
    SHIRT,
    SKIN,
    TEX,
    TROUSERS,
    WALL_BRICK,
    WALL_WOOD,
    Scene,
)
from jaxdissect.world.canvas import ellipse_masks, rect_masks, trapezoid_masks
from jaxdissect.world.vocabulary import MATERIAL_NUMBER as MAT
from jaxdissect.world.vocabulary import OBJECT_NUMBER as OBJ
from jaxdissect.world.vocabulary import PART_NUMBER as PART

STEP = 1e-4  # depth step between an object's body and its parts
LAYER = {"tree": 0.0, "boat": 0.0, "house": 1.0, "fence": 2.0, "car": 3.0, "person": 4.0}


def _only(mask: np.ndarray, active: np.ndarray) -> np.ndarray:
    return mask & active[..., None, None]


def place_beside_road(scene: Scene, yb: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Centres (N, m) of objects of the given widths: uniform, or beside the road if any."""
    d = scene.draws
    free = d.range(0.1, 0.9, yb.shape[1])
    side = np.where(d.take(yb.shape[1]) < 0.5, -1.0, 1.0)
    gap = d.range(0.0, 0.1, yb.shape[1])
    centre, half = scene.road_at(yb)
    beside = np.clip(centre + side * (half + width / 2 + gap), 0.05, 0.95)
    has_road = scene.content.has("road")[:, None]
    return np.where(has_road, beside, free)


def draw_fence(scene: Scene) -> None:
    d, size = scene.draws, scene.size
    yb = scene.base_rows(1, near=0.9)
    s = scene.scale(yb)
    x0, x1 = d.range(0.0, 0.35, 1), d.range(0.65, 1.0, 1)
    post_h, spacing = 0.11 * s, 0.07 * s
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    posts_x = ((c - x0[..., None]) / spacing[..., None]) % 1.0 < (0.03 * s / spacing)[..., None]
    span = (c >= x0[..., None]) & (c < x1[..., None])
    rows = rect_masks(size, x0, x1, yb - post_h, yb)
    posts = rows & (posts_x & span)[..., None, :]
    rails = rect_masks(size, x0, x1, yb - 0.85 * post_h, yb - 0.85 * post_h + 0.035 * s)
    rails |= rect_masks(size, x0, x1, yb - 0.45 * post_h, yb - 0.45 * post_h + 0.035 * s)
    mask = _only(posts | rails, scene.content.active("fence"))
    scene.canvas.paint_instances(mask, yb + LAYER["fence"], OBJ["fence"], 0, MAT["wood"],
                                 d.choice(FENCE, 1), TEX["wood"])


def draw_houses(scene: Scene) -> None:
    d, size, m = scene.draws, scene.size, 3
    active = scene.content.active("house")
    yb = scene.base_rows(m, near=0.95)
    s = scene.scale(yb)
    w = d.range(0.17, 0.25, m) * s
    body_h = w * d.range(0.65, 0.9, m)
    roof_h = w * d.range(0.35, 0.55, m)
    cx = place_beside_road(scene, yb, w)
    # In a harbour the houses keep to one side of the image and the boats to the other.
    scene.harbour_side = np.where(d.take(1)[:, 0] < 0.5, -1.0, 1.0)
    one_side = 0.5 + scene.harbour_side[:, None] * d.range(0.17, 0.4, m)
    cx = np.where(scene.content.class_is(("harbour",))[:, None], one_side, cx)
    brick = d.take(m) < 0.5
    wall = np.where(brick[..., None], d.choice(WALL_BRICK, m), d.choice(WALL_WOOD, m))
    top = yb - body_h
    body = rect_masks(size, cx - w / 2, cx + w / 2, top, yb)
    roof = trapezoid_masks(size, top - roof_h, top + 0.005, cx, cx, 0 * w, 0.6 * w)
    window_y = yb - 0.7 * body_h
    win = 0.1 * w
    windows = rect_masks(size, cx - 0.38 * w, cx - 0.18 * w, window_y - win, window_y + win)
    windows |= rect_masks(size, cx + 0.18 * w, cx + 0.38 * w, window_y - win, window_y + win)
    door_x = cx + w * d.range(-0.25, 0.25, m)
    door = rect_masks(size, door_x - 0.11 * w, door_x + 0.11 * w, yb - 0.5 * body_h, yb)
    canvas = scene.canvas
    depth = yb + LAYER["house"]
    canvas.paint_instances(_only(body, active), depth, OBJ["house"], 0,
                           np.where(brick, MAT["brick"], MAT["wood"]), wall,
                           np.where(brick, TEX["brick"], TEX["wood"]))
    canvas.paint_instances(_only(roof, active), depth + STEP, OBJ["house"], PART["roof"],
                           MAT["tile"], d.choice(ROOF, m), TEX["tile"])
    canvas.paint_instances(_only(windows, active), depth + 2 * STEP, OBJ["house"], PART["window"],
                           MAT["glass"], d.choice(GLASS, m), TEX["glass"])
    canvas.paint_instances(_only(door, active), depth + 3 * STEP, OBJ["house"], PART["door"],
                           MAT["wood"], d.choice(DOOR, m), TEX["wood"])


def draw_trees(scene: Scene) -> None:
    d, size, m = scene.draws, scene.size, 6
    active = scene.content.active("tree")
    yb = scene.base_rows(m)
    s = scene.scale(yb)
    cx = place_beside_road(scene, yb, 0.16 * s)
    mostly_conifers = scene.content.class_is(("forest", "ski_resort"))[:, None]
    conifer = d.take(m) < np.where(mostly_conifers, 0.75, 0.25)
    trunk_h, trunk_w = 0.09 * s, 0.04 * s
    trunk = rect_masks(size, cx - trunk_w / 2, cx + trunk_w / 2, yb - trunk_h, yb)
    r = 0.085 * s
    round_crown = ellipse_masks(size, cx, yb - trunk_h - 0.8 * r, r, 1.1 * r)
    cone = trapezoid_masks(size, yb - trunk_h - 0.3 * s, yb - trunk_h + 0.02 * s, cx, cx,
                           0 * s, r)
    crown = np.where(conifer[..., None, None], cone, round_crown)
    canvas = scene.canvas
    depth = yb + LAYER["tree"]
    canvas.paint_instances(_only(trunk, active), depth, OBJ["tree"], PART["trunk"], MAT["wood"],
                           (100, 65, 35), TEX["wood"])
    canvas.paint_instances(_only(crown, active), depth + STEP, OBJ["tree"], PART["crown"],
                           MAT["foliage"], d.choice(CROWN, m), TEX["foliage"])


def draw_boats(scene: Scene) -> None:
    d, size, m = scene.draws, scene.size, 2
    active = scene.content.active("boat")
    h = scene.horizon[:, None]
    yb = d.range(h + 0.04, np.maximum(h + 0.04, scene.sea_bottom[:, None] - 0.01), m)
    s = scene.scale(yb) * 1.3
    cx = d.range(0.1, 0.9, m)
    other_side = 0.5 - scene.harbour_side[:, None] * d.range(0.15, 0.4, m)
    cx = np.where(scene.content.class_is(("harbour",))[:, None], other_side, cx)
    hull_top = yb - 0.05 * s
    hull = trapezoid_masks(size, hull_top, yb, cx, cx, 0.1 * s, 0.07 * s)
    sail = trapezoid_masks(size, hull_top - 0.17 * s, hull_top, cx + 0.01 * s, cx + 0.01 * s,
                           0 * s, 0.06 * s)
    canvas = scene.canvas
    depth = yb + LAYER["boat"]
    canvas.paint_instances(_only(hull, active), depth, OBJ["boat"], PART["hull"], MAT["wood"],
                           d.choice(HULL, m), TEX["wood"])
    canvas.paint_instances(_only(sail, active), depth + STEP, OBJ["boat"], PART["sail"],
                           MAT["fabric"], d.choice(SAIL, m), TEX["fabric"])


def draw_cars(scene: Scene) -> None:
    d, size, m = scene.draws, scene.size, 2
    active = scene.content.active("car")
    yb = d.range(scene.ground_top[:, None] + 0.12, 0.97, m)
    s = scene.scale(yb) * 1.2
    centre, half = scene.road_at(yb)
    cx = centre + half * d.range(-0.5, 0.5, m)
    body = rect_masks(size, cx - 0.1 * s, cx + 0.1 * s, yb - 0.085 * s, yb - 0.02 * s)
    body |= rect_masks(size, cx - 0.055 * s, cx + 0.055 * s, yb - 0.13 * s, yb - 0.08 * s)
    window = rect_masks(size, cx - 0.045 * s, cx + 0.045 * s, yb - 0.12 * s, yb - 0.09 * s)
    wheels = ellipse_masks(size, cx - 0.06 * s, yb - 0.025 * s, 0.025 * s, 0.025 * s)
    wheels |= ellipse_masks(size, cx + 0.06 * s, yb - 0.025 * s, 0.025 * s, 0.025 * s)
    canvas = scene.canvas
    depth = yb + LAYER["car"]
    canvas.paint_instances(_only(body, active), depth, OBJ["car"], 0, MAT["metal"],
                           d.choice(CAR, m), TEX["metal"])
    canvas.paint_instances(_only(window, active), depth + STEP, OBJ["car"], PART["window"],
                           MAT["glass"], d.choice(GLASS, m), TEX["glass"])
    canvas.paint_instances(_only(wheels, active), depth + 2 * STEP, OBJ["car"], PART["wheel"], 0,
                           (25, 25, 25), TEX["flat"])


def draw_people(scene: Scene) -> None:
    d, size, m = scene.draws, scene.size, 3
    active = scene.content.active("person")
    yb = scene.base_rows(m)
    s = scene.scale(yb) * 1.25
    cx = d.range(0.05, 0.95, m)
    legs = rect_masks(size, cx - 0.016 * s, cx + 0.016 * s, yb - 0.07 * s, yb)
    torso = rect_masks(size, cx - 0.026 * s, cx + 0.026 * s, yb - 0.125 * s, yb - 0.07 * s)
    head = ellipse_masks(size, cx, yb - 0.147 * s, 0.021 * s, 0.024 * s)
    canvas = scene.canvas
    depth = yb + LAYER["person"]
    canvas.paint_instances(_only(legs, active), depth, OBJ["person"], PART["legs"], MAT["fabric"],
                           d.choice(TROUSERS, m), TEX["fabric"])
    canvas.paint_instances(_only(torso, active), depth + STEP, OBJ["person"], PART["torso"],
                           MAT["fabric"], d.choice(SHIRT, m), TEX["fabric"])
    canvas.paint_instances(_only(head, active), depth + 2 * STEP, OBJ["person"], PART["head"],
                           MAT["skin"], d.choice(SKIN, m), TEX["skin"])


def draw_ground_objects(scene: Scene) -> None:
    """All ground objects, in a fixed order (the random stream depends on it)."""
    draw_fence(scene)
    draw_houses(scene)
    draw_trees(scene)
    draw_boats(scene)
    draw_cars(scene)
    draw_people(scene)

