"""Tests for jaxdissect/report/svg.py: elements, escaping, ticks, scales."""

import xml.etree.ElementTree as ET

from jaxdissect.report import svg


def test_element_escapes_and_renames_attributes():
    out = svg.element("text", svg.escape("a < b & \"c\""), font_size=11, class_="x", skip=None)
    assert out == '<text font-size="11" class="x">a &lt; b &amp; &quot;c&quot;</text>'
    assert svg.element("rect", x=1.5, y=2.0) == '<rect x="1.5" y="2"/>'


def test_document_is_valid_xml_with_a_title():
    doc = svg.document(100, 50, [svg.text(1, 2, "<hi>")], "t & t", standalone=True)
    root = ET.fromstring(doc.split("\n", 1)[1])
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 100 50"
    assert root[0].text == "t & t"


def test_nice_ticks_cover_the_range_with_round_steps():
    assert svg.nice_ticks(0, 0.9, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(0, 7, 4) == [0, 2, 4, 6, 8]
    assert svg.nice_ticks(0.5, 0.81, 3) == [0.4, 0.6, 0.8, 1.0]  # step 0.2 > 0.31 / 3
    ticks = svg.nice_ticks(3, 3)  # an empty range is widened to [3, 4]
    assert ticks[0] == 3 and ticks[-1] == 4


def test_linear_scale_maps_ends():
    scale = svg.linear_scale((0, 10), (100, 0))
    assert scale(0) == 100 and scale(10) == 0 and scale(5) == 50
