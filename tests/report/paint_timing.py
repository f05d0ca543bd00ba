"""Time to first paint of a report page in headless Chromium.

``paint_times(page)`` copies ``page`` beside itself with a probe script added (so relative image
paths still resolve), opens it once in headless Chromium and returns the browser's own
``first-paint``, ``first-contentful-paint``, ``DOMContentLoaded`` and ``load`` times in
milliseconds (``performance`` entries, measured from navigation start). The page itself is not
changed. Run as a script to time a 512-unit layer page built from synthetic results::

    python tests/report/paint_timing.py OUT_DIR [--units 512] [--runs 5]

prints each run and the medians (quote them with the load average: the machine is shared).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

PROBE = """<script>window.addEventListener('load', function () { setTimeout(function () {
var t = {};
performance.getEntriesByType('paint').forEach(function (e) { t[e.name] = e.startTime; });
var n = performance.getEntriesByType('navigation')[0];
t.dcl = n.domContentLoadedEventEnd; t.load = n.loadEventEnd;
document.body.setAttribute('data-paint', JSON.stringify(t));
}, 0); });</script></body>"""


def paint_times(page: Path) -> dict[str, float]:
    """Chromium's paint and load times of ``page`` (ms; see the module docstring)."""
    import json

    from screenshot_report import run_chromium

    timed = page.with_name(f".timed-{page.name}")
    timed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE),
                     encoding="utf-8")
    try:
        done = run_chromium(timed.resolve().as_uri(), "--dump-dom")
    finally:
        timed.unlink()
    found = re.search(r"data-paint=\"([^\"]*)\"", done.stdout)
    if not found:
        raise RuntimeError(f"no paint timing from {page}:\n{done.stderr[-2000:]}")
    return json.loads(found.group(1).replace("&quot;", '"'))


def wide_layer(root: Path, units: int = 512) -> Path:
    """A built report with one layer of ``units`` units (strips and galleries); its page."""
    import numpy as np
    from fixture_results import make_layer, synthetic_top_images

    from jaxdissect.report.build import build_report
    from jaxdissect.report.strips import render_unit_galleries, render_unit_strips

    folder = make_layer(root / "run" / "wide", "wide", num_units=units, strips=False, seed=5)
    images, acts = synthetic_top_images(np.random.default_rng(1), 16, 20, size=112)
    for start in range(0, units, 16):
        chunk = list(range(start, min(start + 16, units)))
        n = len(chunk)
        render_unit_strips(images[:n], acts[:n], np.full(n, 5.0), folder / "image", units=chunk,
                           count=5, thumb_height=100)
        render_unit_galleries(images[:n], acts[:n], np.full(n, 5.0), folder / "image",
                              units=chunk, count=20)
    build_report(root)
    return folder / "report.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parents[1])]
    page = args.out_dir / "report" / "run" / "wide" / "report.html"
    if not page.is_file():
        page = wide_layer(args.out_dir / "report", args.units)
    runs = [paint_times(page) for _ in range(args.runs)]
    for run in runs:
        print({k: round(v) for k, v in run.items()})
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("median ms:", {k: round(v) for k, v in medians.items()},
          f"({args.units} units, {page.stat().st_size // 1024} KiB page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
