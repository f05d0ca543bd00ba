"""Tests for jaxdissect/report/strips.py: masked thumbnails and strip files."""

import numpy as np
import pytest
from PIL import Image

from jaxdissect.report.strips import (
    DIM_FACTOR,
    DIM_GREY,
    OUTLINE_RGB,
    mask_outline,
    masked_thumbnail,
    render_unit_strips,
)


def test_masked_thumbnail_by_hand():
    # A 2x2 map [[4, 0], [0, 0]] upsampled (zero-padded) to 4x4 is 4 * r r^T with
    # r = [.75, .75, .25, 0]: 2.25 on the top-left 2x2 block, at most 0.75 elsewhere.
    image = np.full((4, 4, 3), 200, np.uint8)
    act = np.array([[4.0, 0.0], [0.0, 0.0]], np.float32)
    thumb = masked_thumbnail(image, act, threshold=1.0, thumb_height=4)
    inside = np.zeros((4, 4), bool)
    inside[:2, :2] = True
    outline = np.zeros((4, 4), bool)
    outline[[0, 1, 2, 2], [2, 2, 0, 1]] = True
    dimmed = round(DIM_FACTOR * 200 + (1 - DIM_FACTOR) * DIM_GREY)
    assert (thumb[inside] == 200).all()
    assert (thumb[outline] == OUTLINE_RGB).all()
    assert (thumb[~inside & ~outline] == dimmed).all()


def test_threshold_is_strict():
    image = np.full((4, 4, 3), 90, np.uint8)
    act = np.array([[4.0, 0.0], [0.0, 0.0]], np.float32)
    thumb = masked_thumbnail(image, act, threshold=2.25, thumb_height=4)
    assert not (thumb == 90).all(axis=-1).any()  # 2.25 is not above 2.25: nothing kept


def test_mask_outline_is_outside_and_touching():
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    expected = np.zeros((5, 5), bool)
    expected[[1, 3, 2, 2], [2, 2, 1, 3]] = True
    np.testing.assert_array_equal(mask_outline(mask), expected)


def test_render_unit_strips_writes_one_file_per_unit(tmp_path, rng):
    images = rng.integers(0, 256, size=(3, 6, 32, 48, 3), dtype=np.uint8)
    acts = rng.normal(size=(3, 6, 4, 6)).astype(np.float32)
    paths = render_unit_strips(
        images, acts, [0.5, 0.1, 2.0], tmp_path / "image", units=[7, 8, 9], count=5,
        thumb_height=20, fmt="png",
    )
    assert [p.name for p in paths] == ["unit7.png", "unit8.png", "unit9.png"]
    strip = np.asarray(Image.open(paths[1]))
    assert strip.shape == (20, 5 * 30 + 4 * 3, 3)
    first = masked_thumbnail(images[1, 0], acts[1, 0], 0.1, thumb_height=20)
    np.testing.assert_array_equal(strip[:, :30], first)


def test_render_accepts_images_of_different_sizes(tmp_path, rng):
    images = [[rng.integers(0, 256, (40, 40, 3), np.uint8), rng.integers(0, 256, (20, 60, 3),
                                                                         np.uint8)]]
    acts = [[rng.normal(size=(5, 5)), rng.normal(size=(2, 6))]]
    (path,) = render_unit_strips(images, acts, [0.0], tmp_path, thumb_height=10)
    assert path.name == "unit0.jpg"
    assert Image.open(path).size == (10 + 3 + 30, 10)


def test_mismatched_lengths_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="one entry per unit"):
        render_unit_strips(np.zeros((2, 1, 4, 4, 3), np.uint8), np.zeros((2, 1, 2, 2)), [1.0],
                           tmp_path)
