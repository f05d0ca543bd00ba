"""The README's quick start, timed: ``jaxdissect demo`` from nothing, then again (all reused).

Runs the demo command in a subprocess with a fresh output folder (the first run computes
everything; the second finds every stage finished) and records the wall time, the CPU time and
the peak resident memory of each. Writes ``bench/out/demo.json`` (see ``bench/record.py``).
Usage: ``python bench/bench_demo.py [--quick]``; about a minute per run on 2 idle cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import record


def timed_run(argv: list[str]) -> dict:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one command run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest of any child so far: this run's when it is larger
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": after.ru_maxrss / 1024,
            "output": done.stdout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the demo's --quick sizes")
    args = parser.parse_args()
    load_before = record.load_average()
    jaxdissect = [sys.executable, "-m", "jaxdissect.cli", "demo", "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        argv = jaxdissect + ["--out", str(Path(tmp) / "demo")] + (["--quick"] if args.quick else [])
        first = timed_run(argv)
        second = timed_run(argv)
    rows = [("first run (computes everything)", first), ("second run (reuses it)", second)]
    table = "\n".join(["| run | wall s | CPU s | peak RSS |", "|---|---:|---:|---:|"] + [
        f"| {name} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['peak_rss_mib'] / 1024:.1f} GB |"
        for name, r in rows])
    print(table)
    notes = [f"`jaxdissect demo{' --quick' if args.quick else ''}` took {first['wall_s']:.0f} s "
             f"of wall time from an empty output folder, and {second['wall_s']:.0f} s when run "
             "again (it reuses the finished work)."]
    result = {"quick": args.quick, "first": {k: v for k, v in first.items() if k != "output"},
              "second": {k: v for k, v in second.items() if k != "output"}}
    print(f"wrote {record.save('demo', result, table=table, notes=notes, load_before=load_before)}")


if __name__ == "__main__":
    main()
