"""A layer folder's files: its place, the one report.json writer, the one "finished?" test."""

import json
import subprocess
import sys

from jaxdissect.dissection.layer_files import (
    REPORT_FILE,
    layer_folder,
    result_problem,
    write_report_json,
)
from jaxdissect.outputs import MANIFEST, check_manifest, write_manifest


def test_layer_folder_flattens_module_paths(tmp_path):
    assert layer_folder(tmp_path, "conv5_3") == tmp_path / "conv5_3"
    assert layer_folder(tmp_path, "body/block_1") == tmp_path / "body_block_1"


def test_report_json_is_written_and_the_manifest_follows(tmp_path):
    assert result_problem(tmp_path) == "report.json is missing"
    write_report_json(tmp_path, {"units": []})
    assert result_problem(tmp_path) is None  # no manifest: an older folder, read to check
    write_manifest(tmp_path, [REPORT_FILE])
    write_report_json(tmp_path, {"units": [], "header": {"name": "x"}})
    assert json.loads((tmp_path / REPORT_FILE).read_text())["header"] == {"name": "x"}
    assert (tmp_path / REPORT_FILE).read_text() == json.dumps(
        {"units": [], "header": {"name": "x"}}, indent=1)
    assert check_manifest(tmp_path) is None and result_problem(tmp_path) is None
    (tmp_path / REPORT_FILE).write_text("{}")
    assert "report.json" in result_problem(tmp_path)
    assert (tmp_path / MANIFEST).is_file()


def test_the_module_imports_no_jax():
    code = ("import sys, jaxdissect.dissection.layer_files, jaxdissect.dissection.labels; "
            "print('jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
