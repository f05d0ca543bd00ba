"""Rewrite the README's benchmark sections from the JSON that the benchmarks wrote.

A section is the text between ``<!-- bench: NAME -->`` and ``<!-- /bench -->`` in README.md; it
is made from ``bench/results/NAME.json`` (see ``bench/record.py``): where and how it was
measured, the table, and the sentences the benchmark computed.

Usage::

    python bench/readme_tables.py                    # rewrite every section from bench/results/
    python bench/readme_tables.py --record stats     # first keep bench/out/stats.json there
    python bench/readme_tables.py --check            # exit 1 if the README is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "bench" / "out"
SECTION = re.compile(r"(<!-- bench: ([\w.-]+) -->\n)(.*?)(<!-- /bench -->)", re.S)


def render(data: dict) -> str:
    """The README text of one benchmark record."""
    rec, readme = data["record"], data["readme"]
    lines = [f"Measured with `{rec['command']}` on {rec['date']} ({rec['machine']}; load "
             f"average {rec['load_average']}).", "", readme["table"]]
    if readme["notes"]:
        lines += [""] + [f"- {note}" for note in readme["notes"]]
    return "\n".join(lines) + "\n"


def regenerate(text: str, results: Path = RESULTS) -> str:
    """``text`` with every benchmark section rewritten; a missing record is an error."""
    def section(match: re.Match) -> str:
        path = results / f"{match.group(2)}.json"
        if not path.is_file():
            raise SystemExit(f"README section {match.group(2)!r}: no {path}; run the "
                             f"benchmark, then --record {match.group(2)}")
        return match.group(1) + render(json.loads(path.read_text())) + match.group(4)

    return SECTION.sub(section, text)


def sections(text: str) -> list[str]:
    return [m.group(2) for m in SECTION.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", nargs="+", default=[], metavar="NAME",
                        help="copy bench/out/NAME.json to bench/results/ first")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in args.record:
        source = OUT / f"{name}.json"
        if not source.is_file():
            raise SystemExit(f"no {source.relative_to(ROOT)}: run its benchmark first")
        args.results.mkdir(exist_ok=True)
        shutil.copyfile(source, args.results / source.name)
    text = args.readme.read_text()
    new = regenerate(text, args.results)
    if args.check:
        if new != text:
            print(f"{args.readme.name} is out of date: run python bench/readme_tables.py")
            return 1
        return 0
    args.readme.write_text(new)
    print(f"rewrote {len(sections(new))} section(s) of {args.readme.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
