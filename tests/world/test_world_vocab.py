"""Tests for jaxdissect/world/vocabulary.py: concept numbering and colour naming."""

import numpy as np

from jaxdissect.world.layout import ambiguous_class_pairs
from jaxdissect.world.vocabulary import (
    COLOUR_NUMBER,
    COLOUR_PROTOTYPES,
    NUM_BASE_CONCEPTS,
    OBJECTS,
    name_colours,
    num_concepts,
    quad_number,
    world_concepts,
)


def test_concepts_are_numbered_contiguously_with_unique_names():
    rows = world_concepts()
    assert [r[0] for r in rows] == list(range(1, NUM_BASE_CONCEPTS))
    assert len({r[1] for r in rows}) == len(rows)
    assert [r[2] for r in rows[: len(OBJECTS)]] == ["object"] * len(OBJECTS)
    assert sum(r[2] == "colour" for r in rows) == 11


def test_quads_follow_the_base_concepts_blocked_by_suffix():
    rows = world_concepts(quads=True)
    assert len(rows) + 1 == num_concepts(quads=True)
    assert quad_number(OBJECTS[0], "t") == NUM_BASE_CONCEPTS
    assert quad_number(OBJECTS[0], "l") == NUM_BASE_CONCEPTS + len(OBJECTS)
    names = {number: name for number, name, _ in rows}
    assert names[quad_number("house", "r")] == "house-r"


def test_colour_names_of_plain_colours():
    plain = {"red": (255, 0, 0), "green": (0, 170, 0), "blue": (0, 0, 255), "white": (255,) * 3,
             "black": (0, 0, 0), "yellow": (255, 255, 0), "orange": (255, 140, 0),
             "grey": (128, 128, 128), "pink": (255, 160, 200), "purple": (128, 0, 128),
             "brown": (120, 70, 30)}
    rgb = np.array(list(plain.values()), np.uint8)
    assert name_colours(rgb).tolist() == [COLOUR_NUMBER[n] for n in plain]


def test_colour_naming_is_exact_nearest_prototype(rng):
    rgb = rng.integers(0, 256, (5000, 3)).astype(np.uint8)
    protos = np.array([p for _, p in COLOUR_PROTOTYPES])
    dist = ((rgb[:, None, :].astype(np.int64) - protos) ** 2).sum(-1)
    expected = np.array([COLOUR_NUMBER[COLOUR_PROTOTYPES[i][0]] for i in dist.argmin(1)])
    np.testing.assert_array_equal(name_colours(rgb), expected)


def test_colour_naming_agrees_between_numpy_and_jax(rng):
    import jax.numpy as jnp

    rgb = rng.integers(0, 256, (7, 9, 3)).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(name_colours(jnp.asarray(rgb), xp=jnp)),
                                  name_colours(rgb))


def test_scene_classes_are_unambiguous():
    assert ambiguous_class_pairs() == []


def test_vocabulary_object_matches_the_rows():
    from jaxdissect.world.vocabulary import world_vocabulary

    vocab = world_vocabulary(quads=True)
    assert vocab.num_concepts == num_concepts(quads=True)
    assert vocab.number("house-b") == quad_number("house", "b")
    assert vocab.number("yellow") == COLOUR_NUMBER["yellow"]
