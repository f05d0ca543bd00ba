"""Tests for jaxdissect/report/unit_page.py: a page per unit, linked from its card."""

import json
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
from fixture_results import make_layer, synthetic_top_images

from jaxdissect.dissection.results import save_value_histogram
from jaxdissect.report.build import build_report
from jaxdissect.report.layers import load_layer
from jaxdissect.report.strips import render_unit_galleries
from jaxdissect.report.unit_page import (
    load_value_histogram,
    value_histogram_svg,
    write_unit_pages,
)
from jaxdissect.stats.order_key import float32_order_key_np

NS = "{http://www.w3.org/2000/svg}"


def key_histogram(values: np.ndarray, bits: int = 11) -> np.ndarray:
    """(2**bits, U) counts of the top key bits of ``values`` (N, U), as pass 0 counts them."""
    digits = float32_order_key_np(values) >> np.uint32(32 - bits)
    hist = np.zeros((1 << bits, values.shape[1]), np.int64)
    for u in range(values.shape[1]):
        np.add.at(hist[:, u], digits[:, u], 1)
    return hist


def test_saved_value_histogram_keeps_every_value_in_its_octave_bin(tmp_path):
    rng = np.random.default_rng(0)
    values = np.maximum(rng.normal(0, 3, (5000, 3)), 0).astype(np.float32)
    save_value_histogram(tmp_path / "act_hist.npz", key_histogram(values))
    edges, counts = load_value_histogram(tmp_path)
    assert counts.shape[0] == 3 and counts.sum() == values.size
    for u in range(3):
        positive = values[:, u][values[:, u] > 0]
        inside = np.histogram(positive, bins=edges[edges > 0])[0].sum()
        assert inside == positive.size  # edges bound every bin
        assert counts[u][edges[:-1] == 0].sum() == (values[:, u] == 0).sum()


def test_histogram_marks_the_threshold_and_colours_the_values_above_it():
    values = np.exp(np.random.default_rng(1).normal(0, 1, (4000, 1))).astype(np.float32)
    hist = key_histogram(values)
    used = np.flatnonzero(hist.sum(1))
    first, last = used[0], used[-1]
    from jaxdissect.stats.order_key import key_to_float32

    edges = key_to_float32((np.arange(first, last + 2, dtype=np.uint64) << 21).astype(np.uint32))
    threshold = float(np.quantile(values, 0.99))
    doc = value_histogram_svg(edges.astype(np.float64), hist[first:last + 1, 0], threshold, 0.01)
    root = ET.fromstring(doc)
    assert f"threshold {threshold:.4g} (top 1%)" in doc
    bars = {r.get("fill"): r.get("d").count("M") for r in root.iter(f"{NS}path")
            if r.get("fill") != "none"}
    # Bins above the threshold in colour, below in grey: about 4 bins per octave.
    assert set(bars) == {"#4e79a7", "#bab0ac"} and 1 <= bars["#4e79a7"] < bars["#bab0ac"]
    assert "0.0% of values are 0 or below" in doc


def test_every_unit_gets_a_page_linked_from_its_card(tmp_path):
    folder = make_layer(tmp_path / "run" / "conv5", "conv5", num_units=6, seed=2)
    rng = np.random.default_rng(3)
    images, acts = synthetic_top_images(rng, 6, 20)
    render_unit_galleries(images, acts, np.full(6, 5.0), folder / "image", count=20)
    np.savez_compressed(folder / "act_hist.npz", counts=np.tile([[50, 0, 30, 20]], (6, 1)),
                        edges=np.array([0.0, 1.0, 2.0, 4.0, 8.0]), first_bin=1024, bits=11)
    experiment = {"kind": "removal_curves", "layer": "conv5", "curves": [
        {"name": "farm", "class": 0, "removed": [0, 1], "accuracy": [1.0, 0.9], "units": [3]}],
        "unit_effects": {"classes": ["farm", "lake"], "baseline": [1.0, 0.9],
                         "units": [[[0, 0.95], [1, 0.9]]] * 6},
        "concept_ablation": {"concept": "fence", "units": [3, 4], "classes": [
            {"name": "farm", "unedited": 1.0, "concept_removed": 0.56, "random_removed": [1.0]}]}}
    (tmp_path / "run" / "experiments").mkdir()
    (tmp_path / "run" / "experiments" / "ablation.json").write_text(json.dumps(experiment))
    build_report(tmp_path / "run")
    layer_html = (folder / "report.html").read_text()
    for u in range(6):
        assert f'href="units/unit{u}.html"' in layer_html
    page = (folder / "units" / "unit3.html").read_text()
    assert 'src="../image/unit3_top.jpg"' in page and 'src="../image/unit3_outline.png"' in page
    assert 'id="outline" checked' in page  # the outline toggle
    assert "threshold 5 (top 1%)" in page
    # IoU against the best concepts of each category, from iou.npy.
    for cat in ("object", "part", "material", "texture", "color"):
        assert f">{cat}</span></td>" in page
    assert "Zeroing this unit alone" in page and "farm 1.00 &rarr; 0.95" in page
    assert "Ranked 1 of the units most important to farm" in page
    assert "One of the 2 units labelled fence; removed together: farm 1.00 &rarr; 0.56" in page
    other = (folder / "units" / "unit0.html").read_text()
    assert "labelled fence" not in other and 'href="unit1.html">next' in other


def test_unit_pages_are_cheap_for_a_wide_layer(tmp_path):
    folder = make_layer(tmp_path / "wide", "wide", num_units=512, strips=False, seed=5)
    np.savez_compressed(folder / "act_hist.npz", counts=np.ones((512, 40), np.int64),
                        edges=np.geomspace(0.01, 100.0, 41), first_bin=1024, bits=11)
    layer = load_layer(folder)
    start = time.perf_counter()
    assert write_unit_pages(layer, []) == 512
    seconds = time.perf_counter() - start
    assert len(list((folder / "units").glob("unit*.html"))) == 512
    assert seconds < 30, seconds  # measured about 2 s on 2 loaded cores
    sizes = [p.stat().st_size for p in (folder / "units").glob("*.html")]
    assert max(sizes) < 40_000
    assert re.search(r"unit 511", (folder / "units" / "unit511.html").read_text())
