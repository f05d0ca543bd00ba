"""Small label files with the published structure, shared by the segmenter module tests."""

import pytest

COLOR_NAMES = ["-", "black", "blue", "brown", "green", "grey", "orange", "pink", "purple", "red",
               "white", "yellow"]


@pytest.fixture
def unified_json():
    return {
        "object": ["-", "sky", "building", "person", "window", "door", "tree", "car", "table",
                   "chair", "wall", "floor"],
        "material": ["-", "wood", "glass", "metal", "fabric"],
        "object_part": {  # deliberately not in object order
            "table": ["-", "leg", "top"],
            "building": ["-", "window", "door", "roof"],
            "car": ["-", "window", "wheel", "door"],
            "person": ["-", "head", "arm", "leg", "torso"],
        },
    }


@pytest.fixture
def color_json():
    return {
        "labels": [{"name": n, "category": "color"} for n in COLOR_NAMES],
        "imageformat": {"byteorder": "BGR", "mean": [0.4, 0.45, 0.5],
                        "stdev": [0.25, 0.2, 0.3]},
    }

