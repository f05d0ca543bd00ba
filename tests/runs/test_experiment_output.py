"""Tests for jaxdissect/runs/experiment_output.py and the experiment command as a user runs
it (the CLI in a subprocess): a dissection, then experiments that land in its run folder, appear
in its report and end with their finding."""

import json
import os
import subprocess
import sys

import pytest

from jaxdissect.runs.experiment_output import experiment_name, experiment_path, report_root


def jaxdissect_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # one CPU device
    done = subprocess.run([sys.executable, "-m", "jaxdissect.cli", *args], capture_output=True,
                          text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_result_goes_to_the_run_of_the_dissection(tmp_path):
    run = tmp_path / "out" / "abc"
    (run / "layer4").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    assert experiment_path("x", dissection=run / "layer4") == run.resolve() / "experiments/x.json"
    assert experiment_path("x", run=run) == run / "experiments" / "x.json"
    assert experiment_path("x", out=tmp_path / "y.json", run=run) == tmp_path / "y.json"
    with pytest.raises(ValueError, match="--run RUN_FOLDER"):
        experiment_path("x", dissection=tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        experiment_path("x", run=tmp_path)
    # A run inside a run (the demo's layout): the report is rebuilt at the outer one.
    (tmp_path / "out" / "run.json").write_text("{}")
    assert report_root(run / "experiments" / "x.json") == (tmp_path / "out").resolve()
    assert report_root(tmp_path / "y.json") is None
    assert experiment_name("removal", "door/window", "layer4") == "removal_door-window_layer4"


@pytest.fixture(scope="module")
def generator_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gan")
    jaxdissect_cli("dissect", "--model", "world:generator", "--data", "latents:24", "--layers",
                   "layer4", "--segmenter", "world", "--out", str(out), "--batch-size", "8",
                   "--no-progress")
    return (out / "latest").resolve()


def test_removal_lands_in_the_run_with_pictures_and_ends_with_its_finding(generator_run):
    done = jaxdissect_cli("experiment", "removal", "--model", "world:generator", "--dissection",
                          str(generator_run / "layer4"), "--concept", "sky", "--segmenter",
                          "world", "--samples", "8", "--max-units", "3", "--random-draws", "2",
                          "--batch-size", "8")
    path = generator_run / "experiments" / "removal_sky_layer4.json"
    result = json.loads(path.read_text())
    curve = result["curves"][0]
    assert curve["removed"] == [0, 1, 2, 3] and curve["random_removed"][0] == 0
    assert all(len(draws) == 2 for draws in curve["random"])
    rows = result["pictures"]["rows"]
    assert [r["name"] for r in rows] == ["original", "concept", "random"]
    for row in rows:
        assert (path.parent / row["file"]).is_file()
    # The command's last screen: the finding against the random baseline, then where it went.
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "removal at layer4:"
    assert any("sky units removed" in line and "random units" in line for line in lines)
    assert lines[-1] == f"wrote {path}; report: {generator_run / 'index.html'}"
    page = (generator_run / "index.html").read_text()
    assert "removal_sky_layer4.json" in page and "removal_sky_layer4/original.png" in page
    # The units removed say so on their pages.
    first = result["units"][0]
    unit_page = (generator_run / "layer4" / "units" / f"unit{first}.html").read_text()
    assert "Rank 1 among the sky units removed" in unit_page


def test_insertion_with_random_draws_records_the_baseline_per_context(generator_run):
    done = jaxdissect_cli("experiment", "insertion", "--model", "world:generator",
                          "--dissection", str(generator_run / "layer4"), "--concept", "sky",
                          "--segmenter", "world", "--samples", "2", "--units", "3",
                          "--quantile-samples", "8", "--random-draws", "2", "--batch-size", "8")
    path = generator_run / "experiments" / "insertion_sky_layer4.json"
    result = json.loads(path.read_text())
    assert len(result["units"]) == 3
    sets = result["random_units"]
    assert len(sets) == 2 and all(len(units) == 3 for units in sets)
    # every context has one count per random set, at the same 2 x 64 cells as the concept's
    assert sum(c["locations"] for c in result["contexts"]) == 2 * 64
    assert all(len(c["random_new_pixels"]) == 2 for c in result["contexts"])
    assert "random units" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == (
        f"wrote {path}; report: {generator_run / 'index.html'}")
    assert "insertion_sky_layer4.json" in (generator_run / "index.html").read_text()


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):  # slow: the in-process command test covers ablation
    out = tmp_path_factory.mktemp("cls")
    jaxdissect_cli("dissect", "--model", "world:classifier", "--data", "world:40", "--layers",
                   "conv4_2", "--out", str(out), "--batch-size", "20", "--no-progress")
    return (out / "latest").resolve()


@pytest.mark.slow
def test_ablation_compares_the_concepts_units_with_random_ones(classifier_run):
    done = jaxdissect_cli("experiment", "ablation", "--model", "world:classifier", "--layer",
                          "conv4_2", "--data", "world:40", "--classes", "farm,village",
                          "--sizes", "2", "--keep", "90", "--random-draws", "2",
                          "--dissection", str(classifier_run / "conv4_2"), "--concept", "fence",
                          "--batch-size", "20")
    path = classifier_run / "experiments" / "ablation_conv4_2.json"
    result = json.loads(path.read_text())
    entry = result["concept_ablation"]
    assert entry["concept"] == "fence" and [c["name"] for c in entry["classes"]] == [
        "farm", "village"]
    assert all(len(c["random_removed"]) == 5 for c in entry["classes"])
    assert len(result["unit_effects"]["units"]) == 96
    assert "farm: removing the" in done.stdout and "random units" in done.stdout
    page = (classifier_run / "index.html").read_text()
    assert "ablation_conv4_2.json" in page and "ablation_conv4_2_concept.svg" not in page
    assert (classifier_run / "experiments" / "ablation_conv4_2_concept.svg").is_file() == bool(
        entry["units"])
    unit_page = (classifier_run / "conv4_2" / "units" / "unit0.html").read_text()
    assert "Zeroing this unit alone" in unit_page
