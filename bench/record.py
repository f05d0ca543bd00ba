"""One format for what a benchmark measured, so that the README's figures come from its output.

Each benchmark ends with :func:`save`: its result as JSON under ``bench/out/NAME.json``, plus
a ``record`` (the command, the date, the machine, the load average) and a ``readme`` part (a
markdown table and sentences, all computed from the result). ``python bench/readme_tables.py
--record NAME`` keeps a run's JSON in ``bench/results/`` and rewrites the README's section for
it; the README's figures are never typed by hand.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def machine() -> str:
    """The machine in words: cores, processor, accelerator if any, jax version."""
    import jax

    devices = jax.devices()
    accel = "no GPU" if devices[0].platform == "cpu" else \
        f"{len(devices)} x {devices[0].device_kind}"
    return (f"{os.cpu_count()} {platform.machine()} cores, {accel}, "
            f"jax {jax.__version__}, python {platform.python_version()}")


def command() -> str:
    """How this benchmark was started, as a user would type it from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def save(name: str, result: dict, *, table: str, notes: list[str] = (),
         load_before: str | None = None, out: Path = OUT) -> Path:
    """Write ``out/NAME.json``: ``result`` with its ``record`` and ``readme`` parts."""
    load = load_average()
    record = {"command": command(),
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
              "machine": machine(),
              "load_average": f"{load_before} -> {load}" if load_before else load}
    data = {**result, "record": record, "readme": {"table": table.strip(), "notes": list(notes)}}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
