"""Where an experiment's result goes, and the report it joins.

An experiment belongs to a dissection run: it acts on the units that run labelled. Its JSON is
written to ``<run folder>/experiments/<name>.json`` (pictures in ``experiments/<name>/``), and
the report of the run is rebuilt, so the experiment appears on the summary page with no manual
step. The run folder is the one given (``--run``), else the run of the dissection folder used
(``--dissection``: the nearest folder above it with a ``run.json``). ``--out FILE`` writes
elsewhere; the report is then rebuilt only when FILE lies in a run's ``experiments/`` folder.

The report is rebuilt at the outermost run folder around the experiment (``jaxdissect demo``
keeps its dissections as runs inside its own run folder), so the page that lists the run's
layers also shows the experiment.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from jaxdissect.report.build import build_report
from jaxdissect.report.experiment_figures import EXPERIMENT_DIR
from jaxdissect.report.run_info import RUN_FILE, find_run_info


def experiment_name(*parts: object) -> str:
    """A file-name-safe name from parts such as ``("removal", "tree", "layer4")``."""
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "experiment"


def experiment_path(name: str, *, out: str | Path | None = None, run: str | Path | None = None,
                    dissection: str | Path | None = None) -> Path:
    """The JSON file an experiment writes (see the module docstring)."""
    if out is not None:
        return Path(out)
    if run is not None:
        folder = Path(run)
        if not (folder / RUN_FILE).is_file():
            raise FileNotFoundError(f"{folder} is not a run folder (it holds no {RUN_FILE}); "
                                    "give the folder `jaxdissect dissect` wrote, e.g. OUT/latest")
        return folder / EXPERIMENT_DIR / f"{name}.json"
    info = find_run_info(dissection) if dissection is not None else None
    if info is None:
        raise ValueError("say where the result goes: --run RUN_FOLDER (the dissection run it "
                         "belongs to, e.g. results/vgg16/latest) or --out FILE.json")
    return info.folder / EXPERIMENT_DIR / f"{name}.json"


def report_root(path: Path) -> Path | None:
    """The outermost run folder around an experiment file in ``<run>/experiments/``, or None."""
    if path.parent.name != EXPERIMENT_DIR or not (path.parent.parent / RUN_FILE).is_file():
        return None
    root = path.parent.parent.resolve()
    while (root.parent / RUN_FILE).is_file():
        root = root.parent
    return root


def save_experiment(result: dict, path: str | Path) -> tuple[Path, Path | None]:
    """Write ``result`` to ``path`` atomically and rebuild the report it belongs to; returns
    the path and the summary page (None when the file is outside a run)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, path)
    root = report_root(path)
    if root is None:
        return path, None
    try:
        return path, build_report(root)
    except FileNotFoundError:  # a run folder with no finished layer yet: nothing to report
        return path, None
