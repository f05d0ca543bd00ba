"""Tests for jaxdissect/report/tables.py: published report.json fields and the NetDissect CSV."""

import csv
import json

import numpy as np
import pytest
from fixture_results import make_layer

from jaxdissect.report.layers import load_layer
from jaxdissect.report.tables import csv_fields, publish_report_json, write_tally_csv


def read_rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_csv_header_follows_netdissect():
    assert csv_fields(["object", "color"]) == [
        "unit", "category", "label", "score",
        "object-label", "object-truth", "object-activation", "object-intersect", "object-iou",
        "color-label", "color-truth", "color-activation", "color-intersect", "color-iou"]


@pytest.mark.parametrize("preset", ["pnas2020", "netdissect2017"])
def test_csv_rows_are_consistent_with_the_counts(tmp_path, preset):
    folder = make_layer(tmp_path / "l", "l", num_units=10, preset=preset, seed=5, strips=False)
    layer = load_layer(folder)
    rows = read_rows(write_tally_csv(layer))
    assert list(rows[0]) == csv_fields(layer.categories)
    scores = [float(r["score"]) for r in rows]
    assert len(rows) == 10 and scores == sorted(scores, reverse=True)
    unit_area = np.load(folder / "unit_area.npy")
    for row in rows:
        unit = int(row["unit"])
        best = max(layer.categories, key=lambda c: float(row[f"{c}-iou"]))
        assert row["label"] == row[f"{best}-label"] and row["score"] == row[f"{best}-iou"]
        for cat in layer.categories:
            i, a, t = (int(row[f"{cat}-{k}"]) for k in ("intersect", "activation", "truth"))
            assert float(row[f"{cat}-iou"]) == pytest.approx(i / (a + t - i), abs=2e-6)
            if preset == "pnas2020":
                assert a == unit_area[unit]


def test_csv_without_count_arrays_keeps_labels(tmp_path):
    folder = make_layer(tmp_path / "l", "l", num_units=4, seed=6, strips=False)
    (folder / "inter.npy").unlink()
    rows = read_rows(write_tally_csv(load_layer(folder)))
    assert rows[0]["object-label"] and rows[0]["object-iou"]
    assert rows[0]["object-truth"] == rows[0]["object-intersect"] == ""


def test_publish_adds_cat_image_and_header_once(layer_dir):
    before = json.loads((layer_dir / "report.json").read_text())
    assert publish_report_json(load_layer(layer_dir)) is True
    after = json.loads((layer_dir / "report.json").read_text())
    for old, new in zip(before["units"], after["units"], strict=True):
        assert new["cat"] == new["category"] == old["category"]
        assert new["image"] == f"image/unit{new['unit']}.png"
        assert {k: new[k] for k in old} == old
    assert after["header"]["image"] == "concepts.svg"
    assert publish_report_json(load_layer(layer_dir)) is False
