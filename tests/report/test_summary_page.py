"""Tests for jaxdissect/report/summary_page.py: the page across runs and layers."""

import re

import pytest

from jaxdissect.report.layers import find_layers
from jaxdissect.report.summary_page import write_summary_page


def test_summary_lists_every_layer_with_both_counts(results_dir):
    layers = find_layers(results_dir)
    html = write_summary_page(results_dir, layers).read_text()
    links = re.findall(r"<a href=\"([^\"]+/report.html)\">", html)
    assert links == ["alex/conv5/report.html", "vgg/conv4/report.html", "vgg/conv5/report.html"]
    for layer in layers:
        row = re.search(rf"{layer.run}/{layer.name}/report.html.*?</tr>", html).group(0)
        overall = layer.detectors["unique_overall"]["total"]
        per = layer.detectors["unique_per_category"]["total"]
        assert re.findall(r"<b>(\d+)</b>", row) == [str(overall), str(per)]
    assert html.count("<h2") == 3  # two runs and the experiments


def test_experiments_are_drawn_and_saved(results_dir):
    html = write_summary_page(results_dir, find_layers(results_dir)).read_text()
    assert "Synthetic removal curves" in html and "Synthetic door insertion" in html
    assert (results_dir / "experiments" / "removal.svg").read_text().startswith("<?xml")


def test_a_bad_experiment_file_is_reported_not_fatal(results_dir):
    (results_dir / "experiments" / "broken.json").write_text('{"kind": "removal_curves"}')
    with pytest.warns(UserWarning, match="broken.json"):
        html = write_summary_page(results_dir, find_layers(results_dir)).read_text()
    assert "broken.json: missing or malformed &#x27;curves&#x27;" in html
    assert "Synthetic removal curves" in html
