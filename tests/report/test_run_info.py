"""Tests for jaxdissect/report/run_info.py: every page says what was dissected."""

import re

from fixture_results import make_layer, write_run_json

from jaxdissect.report.build import build_report
from jaxdissect.report.run_info import find_run_info, header_html, run_title, segmenter_text


def test_header_names_model_data_segmenter_settings_version_and_date(tmp_path):
    run = write_run_json(tmp_path / "run", skipped=["a/bad.jpg", "b/worse.jpg"])
    make_layer(run / "conv5", "conv5", num_units=4, strips=False)
    info = find_run_info(run / "conv5")
    assert info.folder == run.resolve()
    html = header_html(info, {"num_images": 48, "preset": "pnas2020", "quantile": 0.01})
    text = re.sub(r"<[^>]+>", "", html)
    for expected in ("models/vgg16 (vgg16), checkpoint 0bafbc55eeee", "folder:/data/val",
                     "48 images", "2 skipped", "UPerNet c0ffee000000 + colour model beef11111111",
                     "pnas2020 (quantile 0.01", "jaxdissect 0.1.0", "run ab12ab12ab12",
                     "2026-01-02 10:05:00"):
        assert expected in text, expected
    assert "a/bad.jpg" in html  # the skipped files, named on hover
    assert run_title(info) == "models/vgg16 on folder:/data/val"


def test_every_page_carries_the_header_and_the_summary_is_titled_by_model_and_data(tmp_path):
    run = write_run_json(tmp_path / "out" / "ab12ab12ab12")
    make_layer(run / "conv5", "conv5", num_units=4)
    summary = build_report(run).read_text()
    assert "<title>models/vgg16 on folder:/data/val</title>" in summary
    assert "<h1>models/vgg16 on folder:/data/val" in summary
    pages = [run / "conv5" / "report.html", run / "conv5" / "units" / "unit2.html"]
    for page in [run / "index.html", *pages]:
        html = page.read_text()
        assert 'class="runinfo"' in html and "0bafbc55eeee" in html and "folder:/data/val" in html


def test_results_without_run_json_get_a_header_from_the_report(tmp_path):
    make_layer(tmp_path / "conv5", "conv5", num_units=3, strips=False)
    html = (build_report(tmp_path) and (tmp_path / "conv5" / "report.html")).read_text()
    assert "not recorded (no run.json)" in html and "50 images" in html


def test_a_custom_segmenter_is_named_by_its_identity():
    assert segmenter_text({"kind": "custom", "name": "bluish-v1"}) == "custom segmenter bluish-v1"
    assert segmenter_text({"kind": "data"}) == "the data's own segmentations"
