"""Tests for jaxdissect/dissection/results.py: files, round trip, atomic writes."""

import csv
import json

import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.results import (
    DamagedResultError,
    build_layer_result,
    load_result,
    save_result,
    write_atomically,
)
from jaxdissect.stats.counts import CountsResult

VOCAB = ConceptVocabulary.from_names(["tree", "door", "brick"], ["object", "part", "material"])


def make_result(rule="pooled"):
    rng = np.random.default_rng(0)
    inter = rng.integers(0, 50, size=(4, 4))
    inter[:, 0] = 0
    counts = CountsResult(inter=inter, unit_area=inter.sum(1) + 30,
                          concept_area=inter.sum(0) + np.array([0, 40, 3, 80]),
                          unit_area_by_category=inter.sum(1)[:, None] + np.array([[25, 5, 9]]),
                          num_images=11)
    config = get_config("netdissect2017" if rule == "per_category" else "pnas2020", topk=3)
    top = (rng.normal(size=(4, 3)).astype(np.float32), rng.integers(0, 11, size=(4, 3)))
    thresholds = rng.normal(size=4).astype(np.float32)
    return build_layer_result("layer4", config, VOCAB, thresholds, counts, top, 11, (7, 7),
                              (28, 28))


@pytest.mark.parametrize("rule", ["pooled", "per_category"])
def test_save_and_load_round_trip(tmp_path, rule):
    result = make_result(rule)
    save_result(result, tmp_path / "r")
    loaded = load_result(tmp_path / "r")
    assert loaded.config == result.config and loaded.vocabulary == result.vocabulary
    for name in ("thresholds", "iou", "topk_values", "topk_indices"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(result, name))
        assert getattr(loaded, name).dtype == getattr(result, name).dtype
    np.testing.assert_array_equal(loaded.counts.unit_area_by_category,
                                  result.counts.unit_area_by_category)
    np.testing.assert_array_equal(loaded.labels.concept, result.labels.concept)
    assert (loaded.num_images, loaded.act_size, loaded.seg_size) == (11, (7, 7), (28, 28))


def test_a_result_of_the_old_2017_rule_is_not_reused(tmp_path):
    """A report written before the threshold resolution was a setting took its thresholds over
    the upsampled maps: it loads as such, so a ``netdissect2017`` run (now at the layer's
    resolution) refuses to reuse it rather than mixing the two rules."""
    from jaxdissect.dissection.driver import _finished_layers

    save_result(make_result("per_category"), tmp_path / "layer4")
    report = json.loads((tmp_path / "layer4" / "report.json").read_text())
    assert report.pop("threshold_resolution") == "layer"
    (tmp_path / "layer4" / "report.json").write_text(json.dumps(report))
    (tmp_path / "layer4" / "manifest.json").unlink()  # nor had it a manifest
    assert load_result(tmp_path / "layer4").config.threshold_resolution == "upsampled"
    config = get_config("netdissect2017", topk=3)
    with pytest.raises(FileExistsError, match="made with other settings"):
        _finished_layers(tmp_path, ["layer4"], config, VOCAB, force=False)


def test_a_damaged_result_is_named_and_not_reused(tmp_path):
    from jaxdissect.dissection.driver import _finished_layers

    save_result(make_result(), tmp_path / "layer4")
    iou = tmp_path / "layer4" / "iou.npy"
    iou.write_bytes(iou.read_bytes()[:80])
    with pytest.raises(DamagedResultError, match=r"iou.npy is 80 bytes, the manifest says"):
        load_result(tmp_path / "layer4")
    lines = []
    assert _finished_layers(tmp_path, ["layer4"], make_result().config, VOCAB, False,
                            lines.append) == {}
    assert len(lines) == 1 and lines[0].startswith("layer4: iou.npy is 80 bytes, the manifest")
    assert lines[0].endswith(f" in {tmp_path / 'layer4'}; recomputing the layer")
    (tmp_path / "layer4" / "manifest.json").unlink()  # as written before manifests
    with pytest.raises(DamagedResultError, match="cannot read it"):
        load_result(tmp_path / "layer4")
    assert _finished_layers(tmp_path, ["layer4"], make_result().config, VOCAB, False,
                            lines.append) == {}
    assert "cannot read it" in lines[1] and lines[1].endswith("recomputing the layer")


def test_report_json_and_csv(tmp_path):
    result = make_result()
    save_result(result, tmp_path / "r")
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert {"preset", "quantile", "miniou", "units", "detectors"} <= set(report)
    u = report["units"][1]
    assert u["label"] == VOCAB.names[u["concept"]] and u["category"] == VOCAB.categories[
        u["concept"]]
    assert u["iou"] == float(result.iou[1, u["concept"]])
    assert u["threshold"] == float(result.thresholds[1])
    assert set(u["by_category"]) == {"object", "part", "material"}
    rows = list(csv.DictReader((tmp_path / "r" / "units.csv").open()))
    assert len(rows) == 4 and rows[1]["label"] == u["label"]


def test_writes_are_atomic(tmp_path):
    target = tmp_path / "r"

    def crash(folder):
        (folder / "half.npy").write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, crash)
    assert list(tmp_path.iterdir()) == []
    save_result(make_result(), target)
    with pytest.raises(FileExistsError, match="pass --force"):
        save_result(make_result(), target)
    with pytest.raises(RuntimeError):
        write_atomically(target, crash, force=True)
    assert load_result(target).num_images == 11  # the old result is still intact
    save_result(make_result("per_category"), target, force=True)
    assert load_result(target).config.iou_rule == "per_category"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        save_result(make_result(), tmp_path / "file", force=True)
    with pytest.raises(FileNotFoundError, match="no report.json"):
        load_result(tmp_path)
