"""The ``jaxdissect dissect-arrays`` command (jaxdissect/commands/dissect_arrays.py)."""

import importlib.util
import json
import os
import subprocess
import sys

import dissect_oracle as oracle
import numpy as np
import pytest

from jaxdissect import cli
from jaxdissect.dissection.presets import get_config
from jaxdissect.runs.arrays import dissect_arrays


@pytest.fixture
def main(monkeypatch):
    """cli.main over the sub-command modules that exist in this checkout."""
    present = tuple(name for name in cli.COMMANDS
                    if importlib.util.find_spec(f"jaxdissect.commands.{name}") is not None)
    assert "dissect_arrays" in present
    monkeypatch.setattr(cli, "COMMANDS", present)
    return cli.main


def test_round_trip(tmp_path, main, capsys):
    rng = np.random.default_rng(5)
    acts = rng.normal(size=(13, 6, 3, 3)).astype(np.float16)
    segs = rng.integers(0, 5, size=(13, 2, 12, 12)).astype(np.int16)
    np.save(tmp_path / "acts.npy", acts)
    np.save(tmp_path / "segs.npy", segs)
    labels = tmp_path / "labels.csv"
    labels.write_text("number,name,category\n1,sky,object\n2,tree,object\n3,door,part\n"
                      "4,red,colour\n")
    out = tmp_path / "out"
    code = main(["dissect-arrays", "--acts", str(tmp_path / "acts.npy"), "--segs",
                 str(tmp_path / "segs.npy"), "--out", str(out), "--quantile", "0.02",
                 "--miniou", "0.03", "--upsample", "bilinear", "--concepts", str(labels),
                 "--threshold-resolution", "layer", "--batch-size", "5", "--devices", "1",
                 "--quiet"])
    assert code == 0
    assert "6 units" in capsys.readouterr().out
    expected = dissect_arrays(acts, segs, config=get_config(
        quantile=0.02, miniou=0.03, upsample="bilinear", threshold_resolution="layer"),
                              concepts=labels, batch_size=5, devices=1, progress=False)
    report = json.loads((out / "report.json").read_text())
    assert (report["quantile"], report["miniou"], report["upsample"],
            report["threshold_resolution"]) == (0.02, 0.03, "bilinear", "layer")
    assert [u["label"] for u in report["units"]] == [
        expected.vocabulary.names[c] for c in expected.labels.concept]
    np.testing.assert_array_equal(np.load(out / "iou.npy"), expected.iou)
    np.testing.assert_array_equal(np.load(out / "thresholds.npy"), expected.thresholds)
    assert (out / "units.csv").read_text().startswith("unit,label,concept,category,iou")


def test_bad_input_is_one_line_and_non_zero(tmp_path, main, capsys):
    np.save(tmp_path / "acts.npy", np.zeros((3, 2, 2, 2), np.float32))
    np.save(tmp_path / "segs.npy", np.zeros((4, 5, 5), np.int32))
    code = main(["dissect-arrays", "--acts", str(tmp_path / "acts.npy"), "--segs",
                 str(tmp_path / "segs.npy"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.strip() == ("jaxdissect dissect-arrays: error: ACTS has 3 images but SEGS has 4; "
                           "they must match")
    assert not (tmp_path / "out").exists()
    code = main(["dissect-arrays", "--acts", str(tmp_path / "nope.npy"), "--segs",
                 str(tmp_path / "segs.npy"), "--out", str(tmp_path / "out")])
    assert code != 0 and "nope.npy not found" in capsys.readouterr().err


def test_netdissect_lite_in_a_subprocess_thresholds_the_raw_maps(tmp_path):
    """As a user runs it: the preset's thresholds are order statistics of the raw (N, U, h, w)
    values, and a pixel is on where the bilinearly upsampled map exceeds them."""
    rng = np.random.default_rng(8)
    acts = (rng.integers(0, 16, size=(9, 3, 4, 4)) / 4).astype(np.float32)
    segs = rng.integers(0, 4, size=(9, 16, 16)).astype(np.int32)
    np.save(tmp_path / "acts.npy", acts)
    np.save(tmp_path / "segs.npy", segs)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "jaxdissect.cli", "dissect-arrays", "--acts",
         str(tmp_path / "acts.npy"), "--segs", str(tmp_path / "segs.npy"), "--out", str(out),
         "--preset", "netdissect_lite", "--quantile", "0.1", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert (report["preset"], report["threshold_resolution"]) == ("netdissect_lite", "layer")
    nhwc = acts.transpose(0, 2, 3, 1)
    thresholds = np.load(out / "thresholds.npy")
    np.testing.assert_array_equal(thresholds, oracle.thresholds(nhwc, 0.1))
    up = oracle.upsample(nhwc, (16, 16), "bilinear")
    np.testing.assert_array_equal(np.load(out / "unit_area.npy"),
                                  (up > thresholds).sum(axis=(0, 1, 2)))
