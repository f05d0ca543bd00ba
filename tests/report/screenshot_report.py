"""Render report pages in headless Chromium: screenshots, the DOM after the page script, console.

Used by ``test_browser.py`` and by hand, to look at the pages::

    python tests/report/screenshot_report.py OUT_DIR [--units 40]

builds a synthetic results folder in ``OUT_DIR/results`` (``fixture_results.make_results``), runs
``build_report`` on it and writes ``OUT_DIR/summary.png`` and ``OUT_DIR/layer.png``. With an
existing report instead (the README's pictures, after ``make demo``)::

    python tests/report/screenshot_report.py docs --run results/demo/latest

writes ``docs/report_summary.png`` (the run's summary page, 1200x1500),
``docs/report_layer.png`` (``--layer``, default ``classifier-exact/conv4_2``, 1200x1300) and
``docs/report_unit.png`` (the page of that layer's unit of highest IoU, 1400x1250), as
256-colour PNGs.

Chromium runs with a fresh profile folder each time and without network services, sandbox or GPU
(the flags below work in containers). Console output is read from ``--enable-logging=stderr``:
every ``console.*`` message and uncaught exception appears there as a ``:CONSOLE`` line.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The path of a Chromium executable on PATH, or None."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def run_chromium(url: str, *options: str, size: tuple[int, int] = (1400, 2200),
                 timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium once on ``url`` with ``options``; stdout and stderr as text."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError(f"no Chromium on PATH (looked for {', '.join(BROWSERS)}); "
                                "install it, e.g. `apt-get install -y chromium`")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}",
                   f"--window-size={size[0]},{size[1]}", *options, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1400, 2200)) -> str:
    """Write a PNG screenshot of ``page``; returns Chromium's log (stderr)."""
    done = run_chromium(page.resolve().as_uri(), f"--screenshot={png.resolve()}", size=size)
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot of {page}:\n{done.stderr[-2000:]}")
    return done.stderr


def dump_dom(page: Path, fragment: str = "", size: tuple[int, int] = (1400, 2200)
             ) -> tuple[str, str]:
    """The serialised DOM of ``page`` (URL ``#fragment`` optional) after its scripts ran, and
    Chromium's log."""
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = run_chromium(url, "--dump-dom", size=size)
    return done.stdout, done.stderr


def console_messages(log: str) -> list[str]:
    """Lines of a Chromium log that come from the page's console or its uncaught errors."""
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--units", type=int, default=40, help="units per synthetic layer")
    parser.add_argument("--run", type=Path, help="an existing run folder with a built report")
    parser.add_argument("--layer", default="classifier-exact/conv4_2",
                        help="with --run: the layer page to picture (MODEL/LAYER)")
    args = parser.parse_args(argv)
    if args.run is not None:
        return picture_run(args.run, args.layer, args.out_dir)
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parents[1])]  # runs from a checkout, installed or not
    from fixture_results import make_results

    from jaxdissect.report.build import build_report

    results = args.out_dir / "results"
    if results.exists():
        shutil.rmtree(results)
    summary = build_report(make_results(results, args.units))
    for page, png in ((summary, "summary.png"), (results / "vgg/conv5/report.html", "layer.png")):
        log = screenshot(page, args.out_dir / png)
        for line in console_messages(log):
            print("console:", line)
        print(args.out_dir / png)
    return 0


def picture_run(run: Path, layer: str, out_dir: Path) -> int:
    """The README's pictures of an existing report, as 256-colour PNGs."""
    from PIL import Image

    pages = [(run / "index.html", "report_summary.png", (1200, 1500)),
             (run / layer / "report.html", "report_layer.png", (1200, 1300))]
    report = run / layer / "report.json"
    if report.is_file():
        import json

        units = json.loads(report.read_text())["units"]
        best = max(units, key=lambda u: u["iou"])["unit"]
        pages.append((run / layer / "units" / f"unit{best}.html", "report_unit.png",
                      (1400, 1250)))
    missing = [str(page) for page, _, _ in pages if not page.is_file()]
    if missing:
        print(f"no report page {', '.join(missing)}; run `jaxdissect report {run}` first "
              "(or pick another --layer)", file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    for page, name, size in pages:
        png = out_dir / name
        log = screenshot(page, png, size=size)
        for line in console_messages(log):
            print("console:", line)
        # Octree keeps the category colours (median cut gives the pictures' greys to them).
        Image.open(png).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE,
                                                dither=Image.Dither.NONE).save(png, optimize=True)
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
