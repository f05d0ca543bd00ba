"""Tests for jaxdissect/report/build.py and the `jaxdissect report` command."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from jaxdissect.commands import report as report_command
from jaxdissect.report.build import build_report

REPO = Path(__file__).resolve().parents[2]


def test_build_report_writes_every_page(results_dir):
    index = build_report(results_dir)
    assert index == results_dir / "index.html"
    for folder in ("vgg/conv4", "vgg/conv5", "alex/conv5"):
        for name in ("report.html", "tally.csv", "concepts.svg", "iou_hist.svg"):
            assert (results_dir / folder / name).is_file(), (folder, name)
    pages = {p: p.read_bytes() for p in results_dir.rglob("*.html")}
    build_report(results_dir)  # rebuilding gives the same pages
    assert {p: p.read_bytes() for p in results_dir.rglob("*.html")} == pages


def parse(argv):
    """The `report` sub-command alone (the full CLI imports every other command too)."""
    parser = argparse.ArgumentParser(prog="jaxdissect")
    report_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_prints_the_summary_path(results_dir, capsys):
    args = parse(["report", str(results_dir)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(results_dir / "index.html")


def test_cli_on_a_folder_without_results(tmp_path):
    # cli.main prints FileNotFoundError messages as one line and exits with status 2.
    args = parse(["report", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="no dissection results"):
        args.func(args)


def test_report_package_imports_no_jax():
    code = ("import sys, jaxdissect.report.build, jaxdissect.report.strips, "
            "jaxdissect.commands.report; print(sorted(m for m in sys.modules "
            "if m == 'jax' or m.startswith('jax.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
