"""Run every benchmark of ``bench/`` in turn, in its quick setting, and collect the tables.

Each script runs in its own process (so each has its own peak memory and its own compile cache)
and writes its own JSON under ``bench/out/``; this runner prints each script's table as it
finishes and writes them all to ``bench/out/summary.md`` with the machine they ran on.

Usage: ``python bench/run_all.py [--only stats models ...] [--full]``. The quick setting takes
tens of minutes on 2 CPU cores; ``--full`` runs each script's default (slower, larger) setting.
On a shared machine the figures move with the load: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# name -> (script, quick arguments)
BENCHMARKS = {
    "stats": ("bench_stats.py", []),
    "driver": ("bench_driver.py", ["--images", "128"]),
    "models": ("bench_models.py", ["--quick", "--threads", "1"]),
    "data": ("bench_data.py", ["--images", "200"]),
    "segmenter": ("bench_segmenter.py", ["--quick"]),
    "ablation": ("bench_ablation.py", []),
    "demo": ("bench_demo.py", []),
}


def describe_machine() -> str:
    import jax

    devices = jax.devices()
    return (f"{os.cpu_count()} CPU cores, python "
            f"{platform.python_version()}, jax {jax.__version__}, "
            f"{len(devices)} x {devices[0].device_kind} ({devices[0].platform})")


def run_one(name: str, full: bool) -> tuple[str, float, int, str]:
    script, quick = BENCHMARKS[name]
    cmd = [sys.executable, str(ROOT / "bench" / script)] + ([] if full else quick)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return " ".join(cmd[1:]), seconds, proc.returncode, proc.stdout + proc.stderr[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--full", action="store_true", help="each script's default setting")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    sections = [f"# Benchmarks\n\n{describe_machine()}\n"]
    failed = []
    for name in args.only:
        command, seconds, code, output = run_one(name, args.full)
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        section = f"## {name}: {status}, {seconds:.0f} s\n\n`python {command}`\n\n{output}\n"
        print(section, flush=True)
        sections.append(section)
        if code:
            failed.append(name)
    (OUT / "summary.md").write_text("\n".join(sections))
    print(f"wrote {OUT / 'summary.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
