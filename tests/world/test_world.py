"""Tests for jaxdissect/world/source.py: determinism, exact labels, class content, batching."""

import time

import numpy as np
import pytest

from jaxdissect.data.batching import batches
from jaxdissect.world.layout import SCENE_CLASSES, SCENE_RULES
from jaxdissect.world.source import WorldConfig, WorldRows, render_world
from jaxdissect.world.vocabulary import (
    MATERIAL_NUMBER,
    OBJECT_NUMBER,
    OBJECTS,
    name_colours,
    part_owner_table,
    quad_number,
)


@pytest.fixture(scope="module")
def world():
    return render_world(WorldConfig(), np.arange(300))


def test_shapes_and_dtypes(world):
    assert world["image"].shape == (300, 64, 64, 3) and world["image"].dtype == np.uint8
    assert world["seg"].shape == (300, 4, 32, 32) and world["seg"].dtype == np.int32
    assert world["label"].shape == (300,) and world["index"].tolist() == list(range(300))
    assert set(np.unique(world["label"])) == set(range(len(SCENE_CLASSES)))


def test_image_depends_only_on_seed_and_index(world):
    picked = [211, 3, 97, 3]
    again = render_world(WorldConfig(), picked)
    for key in ("image", "seg", "label"):
        np.testing.assert_array_equal(again[key], world[key][picked])
    other_seed = render_world(WorldConfig(seed=1), picked)
    assert not np.array_equal(other_seed["image"], again["image"])


def test_batches_do_not_depend_on_batch_size():
    source = WorldRows(10, seed=0, size=32)
    a = list(batches(source, 3))
    b = list(batches(source, 7))
    images_a = np.concatenate([x["image"][x["mask"]] for x in a])
    images_b = np.concatenate([x["image"][x["mask"]] for x in b])
    np.testing.assert_array_equal(images_a, images_b)
    np.testing.assert_array_equal(images_a, render_world(WorldConfig(size=32, seed=0),
                                                         np.arange(10))["image"])


def test_last_batch_is_padded_and_masked():
    last = list(batches(WorldRows(10, size=32), 4))[-1]
    assert last["mask"].tolist() == [True, True, False, False]
    assert not last["image"][2:].any() and not last["seg"][2:].any()
    assert last["label"].dtype == np.int32 and last["seg"].shape == (4, 4, 16, 16)


def test_colour_channel_is_the_colour_of_each_sampled_pixel(world):
    sampled = world["image"][:, 1::2, 1::2]  # stride 2: pixel 2j + 1 of every cell
    np.testing.assert_array_equal(world["seg"][:, 3], name_colours(sampled))
    full = render_world(WorldConfig(seg_size=64), np.arange(20))
    np.testing.assert_array_equal(full["seg"][:, 3], name_colours(full["image"]))


def test_every_pixel_has_an_object_and_parts_lie_inside_their_owners(world):
    obj, part = world["seg"][:, 0], world["seg"][:, 2]
    assert (obj > 0).all()
    owns = part_owner_table()
    has_part = part > 0
    assert has_part.any()
    assert owns[part[has_part], obj[has_part]].all()


def test_sky_has_no_material_and_ground_has_the_class_material(world):
    obj, material = world["seg"][:, 0], world["seg"][:, 1]
    assert not material[obj == OBJECT_NUMBER["sky"]].any()
    for c, name in enumerate(SCENE_CLASSES):
        ground = (obj == OBJECT_NUMBER["ground"]) & (world["label"] == c)[:, None, None]
        assert (material[ground] == MATERIAL_NUMBER[SCENE_RULES[name].ground]).all()


def test_each_class_contains_its_defining_objects_and_nothing_foreign(world):
    obj = world["seg"][:, 0]
    always = {"sky", "ground"}
    for n in range(len(obj)):
        rule = SCENE_RULES[SCENE_CLASSES[world["label"][n]]]
        present = {OBJECTS[i - 1] for i in np.unique(obj[n])}
        assert set(rule.required) <= present, (n, rule.required, present)
        assert present <= set(rule.allowed) | always, (n, present)


def test_quad_halves_split_each_object(world):
    quads = render_world(WorldConfig(quads=True), np.arange(12))
    seg = quads["seg"]
    assert seg.shape[1] == 6
    np.testing.assert_array_equal(seg[:, [0, 1, 2, 5]], world["seg"][:12])
    obj, tb, lr = seg[:, 0], seg[:, 3], seg[:, 4]
    for name in ("sky", "ground"):
        where = obj == OBJECT_NUMBER[name]
        assert np.isin(tb[where], [quad_number(name, "t"), quad_number(name, "b")]).all()
        assert np.isin(lr[where], [quad_number(name, "l"), quad_number(name, "r")]).all()
    # The sky spans the top rows: its top half lies above its bottom half.
    sky_top = (tb == quad_number("sky", "t")).any(2)
    assert sky_top[:, 0].all() and not sky_top[:, -1].any()


def test_rows_match_batches():
    source = WorldRows(6, size=32)
    arrays, valid = source.read_batch(range(6))
    row = source.read_row(4)
    assert valid.all()
    np.testing.assert_array_equal(row["image"], arrays["image"][4])
    np.testing.assert_array_equal(row["seg"], arrays["seg"][4])
    with pytest.raises(IndexError, match=r"\[0, 6\)"):
        source.read_batch([6])


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="must divide"):
        WorldConfig(size=64, seg_size=24)
    with pytest.raises(ValueError, match="unknown scene classes"):
        WorldConfig(classes=("castle",))
    with pytest.raises(ValueError, match="negative"):
        render_world(WorldConfig(), [-1])


def test_restricted_classes_keep_global_labels():
    drawn = render_world(WorldConfig(classes=("village", "harbour")), np.arange(40))
    assert set(drawn["label"].tolist()) == {0, SCENE_CLASSES.index("harbour")}


def test_speed_sanity():
    render_world(WorldConfig(), np.arange(8))
    start = time.perf_counter()
    render_world(WorldConfig(), np.arange(500))
    assert time.perf_counter() - start < 10.0  # about 0.5 s on one idle core
