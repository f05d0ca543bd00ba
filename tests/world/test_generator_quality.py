"""jaxdissect/world/generator_quality.py: the Frechet distance against the closed form, the
object statistics, and the segmenter's view of images."""

import numpy as np
import pytest

from jaxdissect.world.generator_quality import (
    SEGMENTER_SIZE,
    frechet_distance,
    object_statistics,
    real_images,
    segmenter_view,
)
from jaxdissect.world.vocabulary import OBJECT_NUMBER


def test_frechet_distance_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    features = 4
    a = rng.standard_normal((20000, features))
    b = 2.0 * rng.standard_normal((20000, features)) + np.array([1.0, 0, 0, 2.0])
    # |mu_a - mu_b|^2 + tr(I + 4I - 2 * 2I) = 5 + 4
    assert frechet_distance(a, b) == pytest.approx(9.0, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    half = rng.standard_normal((20000, features))
    assert frechet_distance(a, half) < 0.01


def test_object_statistics_count_images_with_two_cells_and_shares():
    seg = np.zeros((4, 8, 8), np.int32)
    seg[0, 0, :2] = OBJECT_NUMBER["sun"]
    seg[1, 0, 0] = OBJECT_NUMBER["sun"]  # one cell: not counted as present
    stats = object_statistics(seg)
    assert stats["sun"]["images"] == 0.25
    assert stats["sun"]["share"] == pytest.approx(3 / seg.size)
    assert stats["house"] == {"images": 0.0, "share": 0.0}


def test_the_segmenter_view_gives_objects_and_features_per_image():
    from jaxdissect.world.assets import load_world_model

    images = real_images(("village",), SEGMENTER_SIZE, 3, 7)
    objects, features = segmenter_view(load_world_model("segmenter"), batch=4)(images)
    assert objects.shape == (7, 32, 32) and features.shape == (7, 64)
    assert (objects == OBJECT_NUMBER["house"]).any(axis=(1, 2)).all()  # every village
