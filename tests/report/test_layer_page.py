"""Tests for jaxdissect/report/layer_page.py: the HTML of a layer."""

import re

from jaxdissect.report.layer_page import layer_page_html, write_layer_page
from jaxdissect.report.layers import load_layer


def test_one_lazy_card_per_unit(layer_dir):
    html = layer_page_html(load_layer(layer_dir))
    cards = re.findall(r"<article class=\"card[^\"]*\" data-unit=\"(\d+)\" data-iou=\"([0-9.]+)\"",
                       html)
    assert [int(u) for u, _ in cards] == list(range(9))
    assert html.count('loading="lazy"') == 9
    assert re.search(r'src="image/unit4.png" width="\d+" height="56"', html)
    assert "<b>odd" not in html  # labels are escaped
    assert "class=\"bargraph\"" in html and "class=\"histogram\"" in html


def test_page_needs_no_network(layer_dir):
    html = layer_page_html(load_layer(layer_dir))
    urls = set(re.findall(r"https?://[^\"' )]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert "<link" not in html and "<script src" not in html and "@import" not in html


def test_unit_without_strip_gets_a_note(layer_dir):
    (layer_dir / "image" / "unit2.png").unlink()
    html = layer_page_html(load_layer(layer_dir))
    card = re.search(r"<article[^>]*data-unit=\"2\".*?</article>", html).group(0)
    assert "missing" in card.split(">")[0] and "no strip rendered" in card
    assert "<img" not in card


def test_detector_table_names_both_rules(layer_dir):
    layer = load_layer(layer_dir)
    html = layer_page_html(layer)
    assert "distinct best labels (PNAS 2020)" in html
    assert "best within category (NetDissect 2017 tables)" in html
    total = layer.detectors["unique_overall"]["total"]
    assert f"<td class=\"total\">{total}</td>" in html


def test_write_layer_page_links_back_to_the_summary(layer_dir):
    path = write_layer_page(load_layer(layer_dir), layer_dir.parent / "index.html")
    assert path == layer_dir / "report.html"
    assert "href=\"../index.html\"" in path.read_text()
    assert (layer_dir / "concepts.svg").read_text().startswith("<?xml")
    assert (layer_dir / "iou_hist.svg").is_file()


def test_the_page_says_over_which_values_the_threshold_was_taken(tmp_path):
    from fixture_results import make_layer

    for preset, words in (("pnas2020", "upsampled activation is in its top <b>1%</b>"),
                          ("netdissect2017", "upsampled activation exceeds the top <b>0.5%</b> "
                           "of its activations at the layer's resolution")):
        folder = make_layer(tmp_path / preset, "conv5", num_units=3, preset=preset, strips=False)
        assert words in layer_page_html(load_layer(folder))
