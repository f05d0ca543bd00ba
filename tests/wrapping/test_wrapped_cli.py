"""The command line on a wrapped model, in a subprocess as a user runs it:
``jaxdissect layers`` and ``jaxdissect dissect`` with ``--model python:FILE:FUNCTION``, and the
errors of bad specs and of classifier experiments on a model without class scores (in
process)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jaxdissect import cli

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def jaxdissect_cli(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(cwd)])
    return subprocess.run([sys.executable, "-m", "jaxdissect.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def user_folder(tmp_path):
    shutil.copy(HERE / "user_models.py", tmp_path / "mynet.py")
    return tmp_path


def test_layers_and_dissect_through_a_python_entry(user_folder):
    done = jaxdissect_cli(["layers", "--model", "python:mynet.py:build"], user_folder)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "SmallCNN (classifier; default layer body)"
    assert lines[1].split() == ["stem/Conv_0", "(16,", "16,", "4)", "map"]
    done = jaxdissect_cli(["dissect", "--model", "python:mynet:build", "--data", "world:24",
                           "--data-option", "size=16", "--out", "out", "--layers",
                           "body,stem/Conv_0", "--batch-size", "8", "--no-progress"],
                          user_folder)
    assert done.returncode == 0, done.stderr
    run = user_folder / "out" / "latest"
    assert (run / "body" / "iou.npy").is_file() and (run / "stem_Conv_0" / "iou.npy").is_file()
    assert "stem/Conv_0:" in done.stdout and (run / "index.html").is_file()


def test_bad_python_specs_and_non_classifiers_are_one_line_errors(user_folder, monkeypatch,
                                                                 capsys):
    monkeypatch.chdir(user_folder)
    monkeypatch.syspath_prepend(str(user_folder))
    cases = [
        (["layers", "--model", "python:mynet.py"], "write python:MODULE:FUNCTION"),
        (["layers", "--model", "python:mynet:nothing"], "has no function 'nothing'"),
        (["layers", "--model", "python:nowhere:build"], "cannot import nowhere"),
        (["layers", "--model", "python:mynet:inputs"], "must return a jaxdissect.Net"),
        (["experiment", "ablation", "--model", "python:mynet:build_feature_map", "--layer",
          "features", "--data", "world:8", "--data-option", "size=16", "--classes", "farm",
          "--out", "a.json"], "not class scores"),
    ]
    for args, message in cases:
        code = cli.main(args)
        err = capsys.readouterr().err
        assert code == 2 and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1
