"""Tests for jaxdissect/runs/runkey.py: identities, keys and run folders (no compute)."""

import json

import numpy as np
import pytest

from jaxdissect.outputs import write_manifest
from jaxdissect.runs.runkey import (
    LATEST,
    RUN_FILE,
    RunIdentity,
    canonical_json,
    finished_layers,
    model_identity,
    open_run_folder,
    params_sha256,
    read_run,
)


def identity(quantile=0.01, checkpoint="abc", rows=10):
    return RunIdentity(config={"preset": "pnas2020", "quantile": quantile},
                       model={"checkpoint_sha256": checkpoint},
                       data={"spec": "world:10", "rows": rows}, segmenter={"kind": "data"})


def test_key_is_stable_and_sensitive_to_every_part():
    assert identity().key == identity().key
    assert canonical_json({"b": 1, "a": (1, 2)}) == '{"a":[1,2],"b":1}'
    keys = {identity().key, identity(quantile=0.02).key, identity(checkpoint="abd").key,
            identity(rows=11).key,
            RunIdentity(**{**identity().__dict__, "segmenter": {"kind": "world"}}).key,
            RunIdentity(**{**identity().__dict__, "version": "9.9"}).key}
    assert len(keys) == 6
    assert len(identity().short) == 12 and identity().key.startswith(identity().short)


def test_the_threshold_resolution_enters_the_key():
    """Runs of the 2017 presets made before their thresholds moved to the layer's resolution
    (a config without the setting) and runs with either resolution get different keys."""
    from jaxdissect.dissection.presets import get_config

    layer = get_config("netdissect2017").to_dict()
    old = {k: v for k, v in layer.items() if k != "threshold_resolution"}
    upsampled = get_config("netdissect2017", threshold_resolution="upsampled").to_dict()
    parts = {k: v for k, v in identity().__dict__.items() if k != "config"}
    keys = {RunIdentity(config=c, **parts).key for c in (layer, old, upsampled)}
    assert len(keys) == 3


def test_params_hash_sees_values_names_and_dtypes():
    params = {"conv": {"kernel": np.ones((2, 2), np.float32), "bias": np.zeros(2, np.float32)}}
    same = {"conv": {"bias": np.zeros(2, np.float32), "kernel": np.ones((2, 2), np.float32)}}
    assert params_sha256(params) == params_sha256(same)
    changed = {"conv": {"kernel": np.ones((2, 2), np.float32), "bias": np.full(2, 1e-7,
                                                                              np.float32)}}
    renamed = {"conv2": params["conv"]}
    retyped = {"conv": {"kernel": np.ones((2, 2), np.float64), "bias": np.zeros(2)}}
    hashes = {params_sha256(t) for t in (params, changed, renamed, retyped)}
    assert len(hashes) == 4


def test_model_identity_prefers_the_recorded_source_hash():
    params = {"w": np.ones(3, np.float32)}
    recorded = model_identity({"arch": "vgg16", "source": {"sha256": "f00"}}, params, "float32")
    assert recorded["checkpoint_sha256"] == "f00" and "source" in recorded["hash_of"]
    hashed = model_identity({"arch": "world_vgg"}, params, "bfloat16")
    assert hashed["checkpoint_sha256"] == params_sha256(params)
    assert hashed["dtype"] == "bfloat16"


def test_keyed_folders_reuse_same_settings_and_separate_others(tmp_path):
    first = open_run_folder(tmp_path, identity())
    assert not first.reused and first.path == tmp_path / identity().short
    (first.path / "conv5_3").mkdir()
    (first.path / "conv5_3" / "report.json").write_text("{}")
    write_manifest(first.path / "conv5_3", ["report.json"])
    first.record(["conv5_3"], batch_size=12)
    assert not (tmp_path / LATEST).exists()  # moves only when a run finishes
    first.mark_latest()
    again = open_run_folder(tmp_path, identity())
    assert again.reused and again.path == first.path
    assert finished_layers(again, ["conv5_3", "conv4_3"]) == ["conv5_3"]
    assert again.settings["batch_size"] == 12
    other = open_run_folder(tmp_path, identity(quantile=0.02))
    assert other.path != first.path and not other.reused
    assert finished_layers(other, ["conv5_3"]) == []
    assert (tmp_path / LATEST).resolve() == first.path.resolve()
    other.mark_latest()
    assert (tmp_path / LATEST).resolve() == other.path.resolve()
    saved = read_run(first.path)
    assert saved["key"] == identity().key and saved["config"]["quantile"] == 0.01
    assert saved["version"] and saved["layers"].keys() == {"conv5_3"}


def test_a_finished_layer_whose_files_are_gone_or_changed_is_not_reused(tmp_path):
    run = open_run_folder(tmp_path, identity())
    run.record(["conv5_3"])
    assert finished_layers(open_run_folder(tmp_path, identity()), ["conv5_3"]) == []
    layer = run.path / "conv5_3"
    layer.mkdir()
    (layer / "report.json").write_text("{}")
    (layer / "iou.npy").write_bytes(b"0123")
    write_manifest(layer, ["report.json", "iou.npy"])
    assert finished_layers(run, ["conv5_3"]) == ["conv5_3"]
    (layer / "iou.npy").write_bytes(b"0124")  # same size, other content
    assert finished_layers(run, ["conv5_3"]) == []
    (layer / "iou.npy").unlink()
    assert finished_layers(run, ["conv5_3"]) == []


def test_exact_folder_refuses_other_settings_unless_forced(tmp_path):
    out = tmp_path / "run"
    run = open_run_folder(out, identity(), keyed=False)
    (out / "layer").mkdir()
    with pytest.raises(FileExistsError, match="other settings.*config.*--force"):
        open_run_folder(out, identity(quantile=0.5), keyed=False)
    assert (out / "layer").is_dir()
    replaced = open_run_folder(out, identity(quantile=0.5), keyed=False, force=True)
    assert not (out / "layer").exists() and not replaced.reused
    assert json.loads((out / RUN_FILE).read_text())["config"]["quantile"] == 0.5
    assert run.path == replaced.path


def test_folders_that_are_not_runs_are_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a jaxdissect run folder"):
        open_run_folder(tmp_path, identity(), keyed=False, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    run = open_run_folder(tmp_path / "out", identity())
    with pytest.raises(FileExistsError, match="give its parent"):
        open_run_folder(run.path, identity())
    (run.path / RUN_FILE).write_text("{broken")
    with pytest.raises(ValueError, match="damaged"):
        open_run_folder(tmp_path / "out", identity())
