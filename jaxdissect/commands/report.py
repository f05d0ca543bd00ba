"""``jaxdissect report DIR``: rebuild the HTML report of saved dissection results;
``jaxdissect report --compare DIR [DIR ...]``: one page comparing their layers and runs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="rebuild the HTML pages of saved dissection results, or compare runs",
        description="Rebuild the summary page, one page per layer and one per unit (with charts, "
        "the NetDissect-layout tally.csv and the published report.json fields) from the results "
        "saved under DIR; nothing is recomputed. Prints the path of the summary page. With "
        "--compare, write one page comparing the layers of every run under the DIRs instead.",
    )
    parser.add_argument("results_dir", metavar="DIR", nargs="?",
                        help="a dissection output folder")
    parser.add_argument("--compare", metavar="DIR", nargs="+",
                        help="results folders to compare: interpretable units and unique "
                        "detectors per category, layer by layer")
    parser.add_argument("--out", default=None,
                        help="with --compare: the page to write (default: compare.html)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.compare:
        from jaxdissect.report.compare_page import write_compare_page

        dirs = args.compare + ([args.results_dir] if args.results_dir else [])
        print(write_compare_page(dirs, args.out))
        return 0
    if args.results_dir is None:
        raise ValueError("name the results folder to report (DIR), or --compare DIR [DIR ...]")
    from jaxdissect.report.build import build_report

    print(build_report(args.results_dir))
    return 0
