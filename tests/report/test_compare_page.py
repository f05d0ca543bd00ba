"""Tests for jaxdissect/report/compare_page.py and ``jaxdissect report --compare``."""

import re

from fixture_results import make_layer, write_run_json

from jaxdissect import cli
from jaxdissect.report.build import build_report


def test_compare_page_lists_every_run_layer_by_layer(tmp_path, capsys):
    vgg = write_run_json(tmp_path / "vgg" / "k1", model="models/vgg16")
    for seed, name in enumerate(("conv3", "conv4", "conv5")):
        make_layer(vgg / name, name, num_units=8, seed=seed, strips=False)
    alex = write_run_json(tmp_path / "alex" / "k2", model="models/alexnet")
    make_layer(alex / "conv5", "conv5", num_units=8, seed=7, strips=False)
    build_report(vgg)
    out = tmp_path / "pages" / "compare.html"
    assert cli.main(["report", "--compare", str(tmp_path / "vgg"), str(tmp_path / "alex"),
                     "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text()
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(?:<a href=\"([^\"]+)\">)?(\w+)", html)
    assert [(run.split(" (")[0], layer) for run, _, layer in rows] == [
        ("models/alexnet on folder:/data/val", "conv5"),
        ("models/vgg16 on folder:/data/val", "conv3"), ("models/vgg16 on folder:/data/val",
                                                         "conv4"),
        ("models/vgg16 on folder:/data/val", "conv5")]
    # Built layer pages are linked (relative to the page), others are not.
    assert [href for _, href, _ in rows] == ["", "../vgg/k1/conv3/report.html",
                                             "../vgg/k1/conv4/report.html",
                                             "../vgg/k1/conv5/report.html"]
    assert html.count('class="stacked"') == 2  # the layer plot of each run
    assert "Interpretable units per layer" in html


def test_compare_needs_results(tmp_path, capsys):
    assert cli.main(["report", "--compare", str(tmp_path)]) == 2
    assert "no dissection results" in capsys.readouterr().err
