"""The synthetic world's concepts: objects, parts, materials and colours, and their numbers.

Concept numbers follow the layout of the published merged segmenter (one joint list, 0 =
none): objects first, then parts, materials and the 11 colour names; when quad labels are
asked for, the quad halves of every object follow the colours, blocked by suffix (all ``-t``,
then all ``-l``, ``-b``, ``-r``) as in the published list. Every label channel of a world
segmentation carries these joint numbers.

Colour labels are a pure function of a pixel's RGB: the name of the nearest of a few prototype
colours (several per name) in RGB space, ties broken by prototype order. ``name_colours``
works on numpy and jax arrays alike, so the world, the world segmenter and the tests share
one definition.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OBJECTS = (
    "sky", "ground", "mountain", "lake", "road", "house", "tree",
    "car", "sun", "cloud", "fence", "person", "boat",
)
# Each part with the objects that own it (a part name may belong to several objects).
PART_OWNERS = {
    "roof": ("house",),
    "door": ("house",),
    "window": ("house", "car"),
    "trunk": ("tree",),
    "crown": ("tree",),
    "wheel": ("car",),
    "head": ("person",),
    "torso": ("person",),
    "legs": ("person",),
    "hull": ("boat",),
    "sail": ("boat",),
    "peak": ("mountain",),
}
PARTS = tuple(PART_OWNERS)
MATERIALS = (
    "brick", "wood", "tile", "glass", "grass", "sand", "snow",
    "water", "rock", "asphalt", "foliage", "metal", "fabric", "skin",
)
COLOURS = (
    "black", "blue", "brown", "green", "grey", "orange",
    "pink", "purple", "red", "white", "yellow",
)
QUAD_SUFFIXES = ("t", "l", "b", "r")
CATEGORIES = ("object", "part", "material", "colour")

# Prototype RGB colours, several per name; a pixel takes the name of the nearest prototype.
COLOUR_PROTOTYPES = (
    ("black", (15, 15, 15)), ("black", (45, 40, 50)),
    ("blue", (40, 80, 210)), ("blue", (110, 165, 235)), ("blue", (25, 45, 130)),
    ("blue", (60, 130, 200)),
    ("brown", (125, 80, 40)), ("brown", (90, 55, 25)), ("brown", (160, 110, 60)),
    ("green", (50, 150, 50)), ("green", (25, 90, 30)), ("green", (120, 190, 80)),
    ("grey", (128, 128, 128)), ("grey", (85, 85, 90)), ("grey", (180, 180, 180)),
    ("orange", (240, 140, 30)), ("orange", (215, 110, 20)),
    ("pink", (240, 150, 190)), ("pink", (220, 110, 160)),
    ("purple", (130, 60, 170)), ("purple", (90, 50, 120)),
    ("red", (210, 35, 35)), ("red", (150, 25, 25)),
    ("white", (240, 240, 240)), ("white", (215, 220, 230)),
    ("yellow", (240, 220, 50)), ("yellow", (235, 235, 130)),
)


def _numbered(names: tuple[str, ...], start: int) -> dict[str, int]:
    return {name: start + i for i, name in enumerate(names)}


OBJECT_NUMBER = _numbered(OBJECTS, 1)
PART_NUMBER = _numbered(PARTS, 1 + len(OBJECTS))
MATERIAL_NUMBER = _numbered(MATERIALS, 1 + len(OBJECTS) + len(PARTS))
COLOUR_NUMBER = _numbered(COLOURS, 1 + len(OBJECTS) + len(PARTS) + len(MATERIALS))
NUM_BASE_CONCEPTS = 1 + len(OBJECTS) + len(PARTS) + len(MATERIALS) + len(COLOURS)


def quad_number(obj: str, suffix: str) -> int:
    """Joint number of the quad half ``<obj>-<suffix>`` (only present with quads)."""
    block = QUAD_SUFFIXES.index(suffix)
    return NUM_BASE_CONCEPTS + block * len(OBJECTS) + OBJECTS.index(obj)


def world_concepts(quads: bool = False) -> list[tuple[int, str, str]]:
    """Every concept as ``(number, name, category)``, number 0 (none) excluded, in order."""
    rows: list[tuple[int, str, str]] = []
    for table, category in (
        (OBJECT_NUMBER, "object"),
        (PART_NUMBER, "part"),
        (MATERIAL_NUMBER, "material"),
        (COLOUR_NUMBER, "colour"),
    ):
        rows += [(number, name, category) for name, number in table.items()]
    if quads:
        rows += [
            (quad_number(obj, s), f"{obj}-{s}", "part") for s in QUAD_SUFFIXES for obj in OBJECTS
        ]
    return rows


def num_concepts(quads: bool = False) -> int:
    """Length of the joint list including 0 (none)."""
    return NUM_BASE_CONCEPTS + (len(QUAD_SUFFIXES) * len(OBJECTS) if quads else 0)


def world_vocabulary(quads: bool = False):
    """The concepts as a ``jaxdissect.concepts.ConceptVocabulary``."""
    from jaxdissect.concepts import ConceptVocabulary

    return ConceptVocabulary.from_rows(world_concepts(quads))


def part_owner_table() -> np.ndarray:
    """(num_base_concepts, num_base_concepts) bool: ``[part, obj]`` true when obj owns part."""
    table = np.zeros((NUM_BASE_CONCEPTS, NUM_BASE_CONCEPTS), bool)
    for part, owners in PART_OWNERS.items():
        for obj in owners:
            table[PART_NUMBER[part], OBJECT_NUMBER[obj]] = True
    return table


_PROTO_RGB = np.array([rgb for _, rgb in COLOUR_PROTOTYPES], np.int32)
_PROTO_NUMBER = np.array([COLOUR_NUMBER[name] for name, _ in COLOUR_PROTOTYPES], np.int32)


def name_colours(rgb: Any, xp: Any = np) -> Any:
    """Colour concept number of every pixel: (..., 3) uint8 RGB -> (...) int32.

    ``xp`` is ``numpy`` or ``jax.numpy``. The nearest prototype minimises
    ``|p|^2 - 2 x.p``; every term is an integer below 2^24, so the float32 matrix product used
    with numpy is exact, and jax computes it in int32.
    """
    if xp is np:
        x = np.asarray(rgb, np.float32)
        scores = (_PROTO_RGB**2).sum(-1).astype(np.float32) - x @ (2.0 * _PROTO_RGB.T).astype(
            np.float32)
        return _PROTO_NUMBER[np.argmin(scores, axis=-1)]
    x = xp.asarray(rgb).astype(xp.int32)
    protos = xp.asarray(_PROTO_RGB)
    scores = (protos**2).sum(-1) - 2 * (x[..., None, :] * protos).sum(-1)
    return xp.asarray(_PROTO_NUMBER)[xp.argmin(scores, axis=-1)]
