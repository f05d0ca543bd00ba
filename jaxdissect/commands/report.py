"""``jaxdissect report DIR``: rebuild the HTML report of saved dissection results."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="rebuild the HTML pages of saved dissection results",
        description="Rebuild the summary page and one page per layer (with charts, the "
        "NetDissect-layout tally.csv and the published report.json fields) from the results "
        "saved under DIR; nothing is recomputed. Prints the path of the summary page.",
    )
    parser.add_argument("results_dir", metavar="DIR", help="a dissection output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.report.build import build_report

    print(build_report(args.results_dir))
    return 0
