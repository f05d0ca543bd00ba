"""Tests for jaxdissect/report/charts.py and categories.py."""

import re
import xml.etree.ElementTree as ET

import numpy as np

from jaxdissect.report import charts
from jaxdissect.report.categories import category_colour, ordered_categories

NS = "{http://www.w3.org/2000/svg}"


def unit(u, label, category, iou):
    return {"unit": u, "label": label, "category": category, "iou": iou}


UNITS = [
    unit(0, "red", "color", 0.10), unit(1, "tree", "object", 0.08), unit(2, "tree", "object", 0.2),
    unit(3, "sky", "object", 0.05), unit(4, "wheel", "part", 0.06), unit(5, "grass", "object",
                                                                       0.04),
    unit(6, "wood", "material", 0.3), unit(7, "kitchen", "scene", 0.07),
]


def test_categories_in_published_order():
    cats = ["scene", "color", "weird", "object", "texture", "part", "material", "colour"]
    assert ordered_categories(cats) == ["object", "part", "material", "texture", "color",
                                        "colour", "scene", "weird"]
    assert category_colour("colour") == category_colour("color") != category_colour("weird")


def test_concept_counts_group_order_and_strict_threshold():
    grouped = charts.concept_counts(UNITS, 0.04)
    assert list(grouped) == ["object", "part", "material", "color", "scene"]
    assert grouped["object"] == [("tree", 2), ("sky", 1)]  # grass has IoU 0.04: not above
    assert grouped["color"] == [("red", 1)]


def test_bargraph_has_one_bar_per_concept_in_order():
    doc = charts.concept_bargraph_svg(UNITS, 0.04)
    root = ET.fromstring(doc)
    bars = [g for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert [b.get("data-label") for b in bars] == ["tree", "sky", "wheel", "wood", "red",
                                                   "kitchen"]
    tree = bars[0]
    assert "2 units; best: unit 2, IoU 0.200" in tree.find(f"{NS}title").text
    heights = [float(b.find(f"{NS}rect").get("height")) for b in bars]
    assert heights[0] == max(heights) and np.allclose(heights[1:], heights[1])


def test_bargraph_without_interpretable_units_says_so():
    doc = charts.concept_bargraph_svg([unit(0, "tree", "object", 0.01)], 0.04)
    assert "No unit has IoU &gt; 0.04" in doc


def test_histogram_counts_every_unit():
    ious = np.array([0.0, 0.01, 0.015, 0.05, 0.051, 0.2])
    doc = charts.iou_histogram_svg(ious, 0.04)
    counts = [int(m) for m in re.findall(r": (\d+) units</title>", doc)]
    assert sum(counts) == len(ious)
    assert "3 of 6 units" in doc
    ET.fromstring(doc)


def test_layer_detectors_stack_in_category_order():
    doc = charts.layer_detectors_svg(["conv4", "conv5"], [{"object": 2, "part": 1},
                                                          {"object": 5, "color": 3}],
                                     ["object", "part", "color"], "t")
    root = ET.fromstring(doc)
    tips = [t.text for t in root.iter(f"{NS}title")][1:]
    assert tips == ["conv4, object: 2", "conv4, part: 1", "conv5, object: 5", "conv5, color: 3"]
