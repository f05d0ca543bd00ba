"""Tests for jaxdissect/report/layers.py: reading saved results for the report."""

import json

import numpy as np
import pytest

from jaxdissect.report.layers import find_layers, load_layer, natural_key


def test_load_layer_reads_the_dissection_format(layer_dir):
    layer = load_layer(layer_dir)
    saved = json.loads((layer_dir / "report.json").read_text())
    assert layer.name == "conv5" and layer.preset == "pnas2020" and layer.miniou == 0.04
    assert [u["unit"] for u in layer.units] == list(range(9))
    assert layer.units[3]["image"] == "image/unit3.png"
    assert layer.detectors == saved["detectors"]
    assert layer.categories == saved["categories"]


def test_runners_up_come_from_the_iou_matrix(layer_dir):
    layer = load_layer(layer_dir)
    iou = np.load(layer_dir / "iou.npy")
    for unit in layer.units:
        values = [v for _, _, v in unit["runners_up"]]
        assert len(values) == 3 and values == sorted(values, reverse=True)
        assert unit["label"] not in [label for label, _, _ in unit["runners_up"]]
        row = np.sort(iou[unit["unit"], 1:])[::-1]
        np.testing.assert_allclose(values, row[1:4], rtol=1e-6)


def test_detector_counts_recomputed_match_the_dissection(tmp_path):
    from fixture_results import make_layer

    folder = make_layer(tmp_path / "l", "l", num_units=30, preset="netdissect2017", seed=7,
                        strips=False)
    report = json.loads((folder / "report.json").read_text())
    saved = report.pop("detectors")
    (folder / "report.json").write_text(json.dumps(report))
    counts = load_layer(folder).detectors
    for key in ("units", "units_above_miniou", "unique_overall", "unique_per_category"):
        assert counts[key] == saved[key]


def test_reference_format_report_json(tmp_path):
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "unit1.jpg").write_bytes(b"")
    units = [{"unit": 0, "iou": 0.1, "label": "tree", "cat": "object", "image": "image/u0.jpg"},
             {"unit": 1, "iou": 0.02, "label": "red", "cat": "color", "image": "image/unit1.jpg"}]
    (tmp_path / "report.json").write_text(json.dumps({"header": {}, "units": units}))
    layer = load_layer(tmp_path)
    assert [u["category"] for u in layer.units] == ["object", "color"]
    assert [u["image"] for u in layer.units] == [None, "image/unit1.jpg"]
    assert [u["interpretable"] for u in layer.units] == [True, False]
    assert layer.detectors["unique_overall"]["total"] == 1
    assert layer.detectors["unique_per_category"] is None


def test_missing_unit_fields_name_the_unit(tmp_path):
    units = [{"unit": 0, "iou": 0.1, "label": "tree", "category": "object"},
             {"unit": 1, "label": "sky"}]
    (tmp_path / "report.json").write_text(json.dumps({"units": units}))
    with pytest.raises(ValueError, match=r"units\[1\] lacks iou, category"):
        load_layer(tmp_path)


def test_find_layers_orders_runs_and_layers_and_skips_hidden(results_dir):
    hidden = results_dir / "vgg" / ".conv6.tmp-1"
    hidden.mkdir()
    (hidden / "report.json").write_text("{")
    found = [(layer.run, layer.name) for layer in find_layers(results_dir)]
    assert found == [("alex", "conv5"), ("vgg", "conv4"), ("vgg", "conv5")]


def test_find_layers_in_a_folder_without_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="no dissection results"):
        find_layers(tmp_path)


def test_natural_key():
    assert sorted(["conv10", "conv2", "layer4", "conv5_3"], key=natural_key) == [
        "conv2", "conv5_3", "conv10", "layer4"]
