"""Tests for jaxdissect/demo and its command: the demo end to end at reduced sizes on the shipped
world models, then again with the same settings (nothing recomputed).

The demo runs on 2 of the 8 simulated devices: compiling every step for 8 simulated devices
doubles its time, and sharding over many devices is tested with the driver and the experiments.
"""

import json

import pytest

from jaxdissect import cli
from jaxdissect.dissection.results import load_result
from jaxdissect.report.experiment_kinds import load_experiment
from jaxdissect.runs import QUICK
from jaxdissect.runs.demo_experiments import generator_concept

SIZES = ["--images", "48", "--samples", "48", "--ablation-images", "30",
         "--removal-samples", "16", "--insertion-samples", "2", "--quantile-samples", "24",
         "--batch-size", "24", "--devices", "2"]
RUNS = {"classifier-exact": QUICK.classifier_layers,
        "classifier-segmenter": QUICK.segmenter_layers, "generator": QUICK.generator_layers}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = cli.main(["demo", "--quick", "--out", str(out), "--no-progress", *SIZES])
    assert code == 0
    return out


def test_the_demo_writes_dissections_experiments_and_a_report(demo, capsys):
    folder = (demo / "latest").resolve()
    assert (folder / "index.html").is_file() and (folder / "run.json").is_file()
    for run, layers in RUNS.items():
        saved = json.loads((folder / run / "run.json").read_text())
        assert saved["data"]["rows"] == 48
        for layer in layers:
            result = load_result(folder / run / layer)
            assert result.num_images == 48
            assert (folder / run / layer / "report.html").is_file()
            assert len(list((folder / run / layer / "image").glob("unit*_top.jpg"))) == (
                result.num_units)
    assert json.loads((folder / "classifier-segmenter" / "run.json").read_text())[
        "segmenter"]["kind"] == "world_segmenter"
    kinds = {}
    for name in ("classifier_ablation", "generator_removal", "generator_insertion"):
        data = load_experiment(folder / "experiments" / f"{name}.json")
        kinds[name] = data["kind"]
        assert data["finding"]
    assert kinds == {"classifier_ablation": "removal_curves",
                     "generator_removal": "removal_curves",
                     "generator_insertion": "insertion_context"}
    page = (folder / "index.html").read_text()
    assert "classifier-exact" in page and "generator" in page and "<svg" in page
    assert 'class="runinfo"' in page and "world:classifier on world:48" in page


def test_the_report_shows_units_up_close_and_experiments_against_random_units(demo):
    folder = (demo / "latest").resolve()
    layer = folder / "classifier-exact" / "conv4_2"
    assert (layer / "act_hist.npz").is_file()
    assert len(list((layer / "units").glob("unit*.html"))) == load_result(layer).num_units
    assert (layer / "image" / "unit0_top.jpg").is_file()
    experiments = folder / "experiments"
    removal = load_experiment(experiments / "generator_removal.json")
    assert removal["curves"][0]["random_removed"][0] == 0 and removal["curves"][0]["random"]
    for row in removal["pictures"]["rows"]:
        assert (experiments / row["file"]).is_file()
    insertion = load_experiment(experiments / "generator_insertion.json")
    for context in insertion["pictures"]["contexts"]:
        assert (experiments / context["before"]).is_file()
    ablation = load_experiment(experiments / "classifier_ablation.json")
    assert ablation["concept_ablation"]["concept"] == "fence"
    assert all("random" in c for c in ablation["curves"])
    page = (folder / "index.html").read_text()
    assert "generator_removal/original.png" in page and "as many random units" in page


def test_the_findings_make_sense(demo):
    folder = (demo / "latest").resolve()
    findings = (folder / "findings.txt").read_text().splitlines()
    assert findings[0].startswith("classifier, exact segmentations: conv4_2: ")
    assert "units interpretable" in findings[0]
    gen = load_result(folder / "generator" / "layer4")
    concept, count = generator_concept(gen)
    assert any(f"removing the {count} {concept} units of layer4" in f for f in findings)
    removal = load_experiment(folder / "experiments" / "generator_removal.json")
    left = removal["curves"][0]["accuracy"]
    assert removal["concept"] == concept and left[0] == 1.0 and 0 <= min(left) <= 1
    ablation = load_experiment(folder / "experiments" / "classifier_ablation.json")
    assert [c["name"] for c in ablation["curves"] if not c.get("dashed")] == ["farm",
                                                                               "harbour"]
    assert ablation["curves"][0]["accuracy"][0] > 0.8  # the shipped classifier is accurate


def test_running_again_reuses_everything(demo, capsys):
    folder = (demo / "latest").resolve()
    files = [folder / "experiments" / "generator_insertion.json",
             folder / "generator" / "layer4" / "iou.npy",
             folder / "classifier-exact" / "conv4_2" / "iou.npy"]
    before = [f.stat().st_mtime_ns for f in files]
    capsys.readouterr()
    assert cli.main(["demo", "--quick", "--out", str(demo), "--no-progress", *SIZES]) == 0
    out = capsys.readouterr().out
    assert "not recomputed" in out and f"results in {folder}" in out
    assert [f.stat().st_mtime_ns for f in files] == before


def test_bad_demo_sizes_are_one_line_errors(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--images", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["jaxdissect demo: error: --images=0: sizes must be positive"]
    assert not (tmp_path / "d").exists()
