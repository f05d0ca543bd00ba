"""Tests for jaxdissect/runs/model_dissection.py: model dissections end to end on a tiny world
classifier, results keyed by their settings (reused when equal, recomputed elsewhere when not)."""

import json
import shutil

import numpy as np
import pytest
from world_fixtures import SIZE, tiny_world_classifier

from jaxdissect.checkpoint import load
from jaxdissect.runs.model_dissection import dissect_model, plan_dissection
from jaxdissect.runs.runkey import LATEST, params_sha256
from jaxdissect.world.source import WorldRows

DATA = "world:20"
OPTIONS = {"size": SIZE}
LAYERS = ["conv2_2", "conv4_2"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_world_classifier(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def reads(monkeypatch):
    """Counts the world rows read (the model runs only on rows read)."""
    counter = {"rows": 0}
    original = WorldRows.read_batch

    def counted(self, indices, executor=None):
        counter["rows"] += len(indices)
        return original(self, indices, executor)

    monkeypatch.setattr(WorldRows, "read_batch", counted)
    return counter


def run(model, out, **kw):
    kw.setdefault("layers", LAYERS)
    kw.setdefault("data_options", OPTIONS)
    kw.setdefault("batch_size", 16)
    kw.setdefault("progress", False)
    return dissect_model(model, kw.pop("data", DATA), out, **kw)


def mtimes(folder, layers=LAYERS):
    return {l: (folder / l / "iou.npy").stat().st_mtime_ns for l in layers}


@pytest.fixture(scope="module")
def base(model, tmp_path_factory):
    """One two-layer dissection that several tests look at (and add to)."""
    return run(model, tmp_path_factory.mktemp("base"))


def test_a_dissection_writes_results_strips_report_and_its_identity(model, base):
    out = base.folder.parent
    assert base.reused == [] and (out / LATEST).resolve() == base.folder.resolve()
    for layer in LAYERS:
        result = base.results[layer]
        assert result.num_images == 20 and result.seg_size == (16, 16)
        assert result.config.quantile == 0.01
        images = base.folder / layer / "image"
        strips = [p for p in images.glob("unit*.jpg") if not p.stem.endswith("_top")]
        assert len(strips) == result.num_units  # the cards' strips, and the unit pages':
        assert len(list(images.glob("unit*_top.jpg"))) == result.num_units
        assert len(list(images.glob("unit*_outline.png"))) == result.num_units
        assert (base.folder / layer / "report.html").is_file()
    assert base.report == base.folder / "index.html" and base.report.is_file()
    saved = json.loads((base.folder / "run.json").read_text())
    assert saved["config"]["quantile"] == 0.01 and saved["config"]["preset"] == "pnas2020"
    assert saved["model"]["checkpoint_sha256"] == params_sha256(load(model).params)
    assert saved["data"]["spec"] == DATA and saved["data"]["rows"] == 20
    assert saved["data"]["source"]["seed"] == 1 and saved["data"]["source"]["code_sha256"]
    assert saved["segmenter"]["kind"] == "data" and saved["version"]
    assert set(saved["layers"]) >= set(LAYERS) and saved["settings"]["batch_size"] == 16


def test_same_settings_reuse_finished_layers_without_running_the_model(model, base, reads,
                                                                       tmp_path):
    out = base.folder.parent
    before = mtimes(base.folder)
    again = run(model, out)
    assert again.folder == base.folder and again.reused == LAYERS
    assert reads["rows"] == 0, "the model ran again on unchanged settings"
    assert mtimes(again.folder) == before
    for layer in LAYERS:
        np.testing.assert_array_equal(again.results[layer].iou, base.results[layer].iou)
    copy = shutil.copytree(model, tmp_path / "copied-model")  # same bytes, another path
    assert run(copy, out).reused == LAYERS and reads["rows"] == 0
    assert json.loads((base.folder / "run.json").read_text())["settings"]["model"] == str(copy)
    more = run(model, out, layers=[*LAYERS, "conv3_1"])
    assert more.reused == LAYERS and more.folder == base.folder and reads["rows"] >= 20
    assert mtimes(more.folder) == before and (more.folder / "conv3_1" / "iou.npy").is_file()


def test_changed_settings_are_recomputed_in_their_own_folder(model, base):
    layer, out = ["conv4_2"], base.folder.parent
    before = mtimes(base.folder, layer)
    assert run(model, out, layers=layer).reused == layer
    changed = {
        "quantile": run(model, out, layers=layer, quantile=0.02),
        "data": run(model, out, layers=layer, data="world:24"),
    }
    tiny_world_classifier(model, seed=1)  # new checkpoint bytes in the same folder
    try:
        changed["checkpoint"] = run(model, out, layers=layer)
    finally:
        tiny_world_classifier(model, seed=0)
    folders = {base.folder} | {d.folder for d in changed.values()}
    assert len(folders) == 4, "some settings shared a folder"
    assert mtimes(base.folder, layer) == before, "the first run's results were touched"
    base_key = json.loads((base.folder / "run.json").read_text())["key"]
    for what, done in changed.items():
        assert done.reused == [], what
        assert json.loads((done.folder / "run.json").read_text())["key"] != base_key
        assert sorted(p.name for p in done.folder.iterdir() if p.is_dir()) == layer
    assert changed["quantile"].results["conv4_2"].config.quantile == 0.02
    assert changed["data"].results["conv4_2"].num_images == 24
    assert not np.array_equal(changed["checkpoint"].results["conv4_2"].thresholds,
                              base.results["conv4_2"].thresholds)
    assert (out / LATEST).resolve() == changed["checkpoint"].folder.resolve()


def test_exact_output_folder_refuses_other_settings_unless_forced(model, tmp_path):
    layer = ["conv4_2"]
    first = run(model, tmp_path / "run", layers=layer, keyed=False, report=False)
    assert first.report is None and not (tmp_path / "run" / "index.html").exists()
    with pytest.raises(FileExistsError, match="other settings"):
        run(model, tmp_path / "run", layers=layer, keyed=False, quantile=0.02)
    done = run(model, tmp_path / "run", layers=layer, keyed=False, quantile=0.02, force=True)
    assert done.folder == tmp_path / "run" and done.report is not None and done.reused == []
    assert done.results["conv4_2"].config.quantile == 0.02


@pytest.mark.parametrize("change, message", [
    ({"layers": ["conv9"]}, r"unknown layer.*conv9.*conv1_1, conv1_2"),
    ({"batch_size": 12}, "not a multiple of the 8 devices"),
    ({"data": "pictures:/x"}, "unknown scheme 'pictures'.*world:N"),
    ({"data": "world:many"}, "N must be an integer"),
    ({"data_options": {"size": 64}}, "64x64 images but WorldVGG.*reads 32x32"),
    ({"data": "latents:8", "data_options": {}}, "holds no images"),
    ({"segmenter": "elsewhere"}, "segmenter folder elsewhere not found"),
    ({"preset": "cvpr"}, "unknown preset"),
])
def test_bad_settings_fail_before_any_compute(model, tmp_path, change, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        run(model, tmp_path / "out", **change)
    assert not (tmp_path / "out").exists()


def test_missing_model_and_non_segmenter_folders_are_named(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="model folder .*absent not found"):
        plan_dissection(tmp_path / "absent", DATA)
    with pytest.raises(ValueError, match="world_vgg model, not a segmenter"):
        plan_dissection(model, DATA, data_options=OPTIONS, segmenter=str(model))
