"""Tests of jaxdissect/commands/experiment.py: ``jaxdissect experiment NAME`` end to end on
tiny saved models."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from experiment_fixtures import (
    NORMALIZATION,
    TOY_ARCH,
    bright_segmenter,
    classifier,
    dissection_folder,
    image_folder,
    run_cli,
)

from jaxdissect.checkpoint import save_model
from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.report.experiment_kinds import load_experiment
from jaxdissect.runs import experiments


def test_ablation_command_writes_a_report_plot(tmp_path, capsys):
    model = save_model(tmp_path / "model", classifier().params,
                       {"arch": TOY_ARCH.name, "sizes": {"num_classes": 3},
                        "normalization": NORMALIZATION})
    data = image_folder(tmp_path / "images", per_class=3, seed=0)
    out = tmp_path / "results" / "experiments" / "ablation.json"
    code = run_cli(["experiment", "ablation", "--model", str(model), "--layer", "conv2",
                 "--data", f"folder:{data}", "--data-option", "resize=8", "--classes", "green",
                 "--sizes", "1,2", "--keep", "3", "--batch-size", "5", "--chunk", "4",
                 "--out", str(out)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    result = load_experiment(out)
    assert [c["name"] for c in result["curves"]] == ["green", "green, keep top 3"]
    assert result["curves"][0]["removed"] == [0, 1, 2]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    code = run_cli(["experiment", "ablation", "--model", str(tmp_path / "none"), "--layer", "x",
                 "--data", "folder:/nowhere", "--classes", "a", "--out",
                 str(tmp_path / "o.json"), "--data-option", "resize"])
    err = capsys.readouterr().err
    assert code == 2 and "expected KEY=VALUE" in err and len(err.strip().splitlines()) == 1
    code = run_cli(["experiment", "removal", "--model", str(tmp_path / "none"), "--dissection",
                 str(tmp_path), "--concept", "tree", "--segmenter", "s", "--out", "o.json"])
    assert code == 2 and "model folder" in capsys.readouterr().err


def test_removal_command_on_a_small_progan(tmp_path, monkeypatch):
    sizes = (8, 8, 8)  # layer1..layer4, 8x8 images
    module = ProgressiveGenerator(sizes)
    params = jax.jit(module.init)(jax.random.PRNGKey(0), jnp.zeros((1, 8)))["params"]
    model = save_model(tmp_path / "gan", params, {"arch": "proggan",
                                                  "sizes": {"sizes": list(sizes)}})
    folder = dissection_folder(tmp_path / "layer2", bright_overlap=(3, 9, 1, 0, 7, 2, 5, 4),
                               layer="layer2", seg_size=(8, 8))
    monkeypatch.setattr(experiments, "open_segmenter",
                        lambda *args, **kw: bright_segmenter(threshold=0.0))
    out = tmp_path / "removal.json"
    code = run_cli(["experiment", "removal", "--model", str(model), "--dissection", str(folder),
                 "--concept", "bright", "--segmenter", "unused", "--samples", "6",
                 "--max-units", "3", "--batch-size", "4", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["units"] == [1, 4, 6] and result["layer"] == "layer2"
    assert result["curves"][0]["accuracy"][0] == pytest.approx(1.0)
    assert np.isfinite(result["curves"][0]["accuracy"]).all()
