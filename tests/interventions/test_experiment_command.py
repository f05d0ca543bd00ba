"""Tests of jaxdissect/commands/experiment.py: ``jaxdissect experiment NAME`` end to end on
tiny saved models."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from experiment_fixtures import (
    NORMALIZATION,
    bright_segmenter,
    classifier,
    dissection_folder,
    image_folder,
)
from toy_models import TinyClassifier

from jaxdissect import cli
from jaxdissect.checkpoint import save_model
from jaxdissect.interventions import experiments
from jaxdissect.models.base import Normalization
from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.report.plots import load_experiment


def _build_toy(sizes, dtype):
    return TinyClassifier(int(sizes["num_classes"]))


def _toy_normalization(sizes):
    return Normalization(size=8)


TOY_ARCH = ArchSpec(name="test_tiny_classifier", build=_build_toy,
                    normalization=_toy_normalization, default_layer="conv2",
                    converter="tests.unused:none")
register_arch(TOY_ARCH)  # a test-only family: jaxdissect.load builds it from meta.json


@pytest.fixture(autouse=True)
def experiment_only(monkeypatch):
    """The command line with this sub-command alone (the others are tested elsewhere)."""
    monkeypatch.setattr(cli, "COMMANDS", ("experiment",))


def main(argv):
    return cli.main(argv)


def test_ablation_command_writes_a_report_plot(tmp_path, capsys):
    model = save_model(tmp_path / "model", classifier().params,
                       {"arch": TOY_ARCH.name, "sizes": {"num_classes": 3},
                        "normalization": NORMALIZATION})
    data = image_folder(tmp_path / "images", per_class=3, seed=0)
    out = tmp_path / "results" / "experiments" / "ablation.json"
    code = main(["experiment", "ablation", "--model", str(model), "--layer", "conv2",
                 "--data", f"folder:{data}", "--data-option", "resize=8", "--classes", "green",
                 "--sizes", "1,2", "--keep", "3", "--batch-size", "5", "--chunk", "4",
                 "--out", str(out)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    result = load_experiment(out)
    assert [c["name"] for c in result["curves"]] == ["green", "green, keep top 3"]
    assert result["curves"][0]["removed"] == [0, 1, 2]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    code = main(["experiment", "ablation", "--model", str(tmp_path / "none"), "--layer", "x",
                 "--data", "folder:/nowhere", "--classes", "a", "--out",
                 str(tmp_path / "o.json"), "--data-option", "resize"])
    err = capsys.readouterr().err
    assert code == 2 and "expected KEY=VALUE" in err and len(err.strip().splitlines()) == 1
    code = main(["experiment", "removal", "--model", str(tmp_path / "none"), "--dissection",
                 str(tmp_path), "--concept", "tree", "--segmenter", "s", "--out", "o.json"])
    assert code == 2 and "no converted model" in capsys.readouterr().err


def test_removal_command_on_a_small_progan(tmp_path, monkeypatch):
    sizes = (8, 8, 8)  # layer1..layer4, 8x8 images
    module = ProgressiveGenerator(sizes)
    params = jax.jit(module.init)(jax.random.PRNGKey(0), jnp.zeros((1, 8)))["params"]
    model = save_model(tmp_path / "gan", params, {"arch": "proggan",
                                                  "sizes": {"sizes": list(sizes)}})
    folder = dissection_folder(tmp_path / "layer2", bright_overlap=(3, 9, 1, 0, 7, 2, 5, 4),
                               layer="layer2", seg_size=(8, 8))
    monkeypatch.setattr(experiments, "load_segmenter",
                        lambda *args: bright_segmenter(threshold=0.0, size=(8, 8)))
    out = tmp_path / "removal.json"
    code = main(["experiment", "removal", "--model", str(model), "--dissection", str(folder),
                 "--concept", "bright", "--segmenter", "unused", "--samples", "6",
                 "--max-units", "3", "--batch-size", "4", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["units"] == [1, 4, 6] and result["layer"] == "layer2"
    assert result["curves"][0]["accuracy"][0] == pytest.approx(1.0)
    assert np.isfinite(result["curves"][0]["accuracy"]).all()
