"""A dissected layer's folder as files: where it is, its ``report.json``, whether it is complete.

The one place for these, used by the dissection (which writes and reuses layer folders), the run
folders of the application, and the report (which reads them and adds the published fields to
``report.json``). Imports neither jax nor numpy, so the report stays free of them.
"""

from __future__ import annotations

import json
from pathlib import Path

from jaxdissect.outputs import MANIFEST, check_manifest, refresh_manifest, write_text

REPORT_FILE = "report.json"


def layer_folder(out_dir: str | Path, layer: str) -> Path:
    """Where the result of ``layer`` goes under ``out_dir`` (a ``/`` in a module path is ``_``)."""
    return Path(out_dir) / layer.replace("/", "_")


def result_problem(folder: str | Path) -> str | None:
    """None when ``folder`` holds a complete result (every file as its manifest says), else
    what is wrong, naming the file: the one test of "is this layer finished?". A folder written
    before manifests existed has none and passes (readers check it by reading it)."""
    folder = Path(folder)
    if not (folder / REPORT_FILE).is_file():
        return f"{REPORT_FILE} is missing"
    if not (folder / MANIFEST).exists():
        return None
    return check_manifest(folder)


def write_report_json(folder: str | Path, report: dict) -> Path:
    """Write ``report.json`` atomically (and record its new content in the folder's manifest,
    when the folder has one listing it): the one writer of the file."""
    path = write_text(Path(folder) / REPORT_FILE, json.dumps(report, indent=1))
    refresh_manifest(folder, REPORT_FILE)
    return path
