"""Browser test: the generated pages render in headless Chromium, offline, without errors.

Skipped when no Chromium is on PATH (install it with `apt-get install -y chromium`).
"""

import re

import numpy as np
import pytest
from PIL import Image
from screenshot_report import console_messages, dump_dom, find_chromium, screenshot

from jaxdissect.report.build import build_report

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium on PATH; install it (apt-get install -y chromium) to run browser tests",
)


@pytest.fixture
def built(results_dir):
    build_report(results_dir)
    return results_dir


def is_not_blank(png):
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
    return pixels.shape, float(pixels.std())


def test_layer_page_renders_cards_and_images(built, tmp_path):
    page = built / "vgg" / "conv5" / "report.html"
    log = screenshot(page, tmp_path / "layer.png", size=(1400, 3000))
    shape, spread = is_not_blank(tmp_path / "layer.png")
    assert shape == (3000, 1400, 3) and spread > 20
    dom, dom_log = dump_dom(page, size=(1400, 3000))
    assert console_messages(log) == [] and console_messages(dom_log) == []
    assert len(re.findall(r"<article class=\"card", dom)) == 12
    assert 'data-strips-loaded="12"' in dom and 'data-strips-broken="0"' in dom
    assert "12 of 12 units" in dom


def test_filters_from_the_url_fragment(built):
    page = built / "vgg" / "conv5" / "report.html"
    dom, log = dump_dom(page, "sort=unit&cat=object&min=0.05&q=")
    assert console_messages(log) == []
    cards = re.findall(r"<article class=\"card[^\"]*\" data-unit=\"(\d+)\" data-iou=\"([0-9.]+)\" "
                       r"data-label=\"[^\"]*\" data-cat=\"(\w+)\"( hidden=\"\")?", dom)
    shown = [(int(u), float(iou), cat) for u, iou, cat, hidden in cards if not hidden]
    assert shown and all(cat == "object" and iou >= 0.05 for _, iou, cat in shown)
    assert [u for u, _, _ in shown] == sorted(u for u, _, _ in shown)
    expected = sum(1 for _, iou, cat, _ in cards if cat == "object" and float(iou) >= 0.05)
    assert len(shown) == expected and f"{expected} of 12 units" in dom


def test_summary_page_renders(built, tmp_path):
    log = screenshot(built / "index.html", tmp_path / "summary.png", size=(1400, 1800))
    assert console_messages(log) == []
    assert is_not_blank(tmp_path / "summary.png")[1] > 10
