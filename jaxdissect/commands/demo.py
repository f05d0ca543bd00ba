"""``jaxdissect demo``: dissect the shipped world models, run one experiment of each kind and
write the report. A thin layer over :func:`jaxdissect.demo.run_demo`."""

from __future__ import annotations

import argparse

SIZES = {
    "images": "probe images of the classifier dissections",
    "samples": "latents of the generator dissection",
    "ablation_images": "images for unit importance, and again for the removal curves",
    "removal_samples": "latents of the generator removal experiment",
    "insertion_samples": "latents of the insertion experiment (each at every layer cell)",
    "quantile_samples": "latents for the values the insertion writes",
    "batch_size": "images or latents per step, a multiple of the devices",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="dissect the shipped world models, run experiments, write a report",
        description="On the synthetic concept world's shipped models: dissect the classifier "
        "(with exact segmentations and with the world segmenter) and the generator (world "
        "segmenter in the loop), run a classifier ablation and a generator removal and "
        "insertion, and write the report. Re-running with the same settings reuses the "
        "finished work.",
    )
    parser.add_argument("--out", default="results/demo",
                        help="results folder (default: results/demo); the run goes to "
                        "OUT/<key>/, OUT/latest points at it")
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes (about 10x fewer images), for a fast check")
    from jaxdissect.runs.demo_settings import FULL, QUICK

    for name, what in SIZES.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None, metavar="N",
                            help=f"{what} (default: {getattr(FULL, name)}; --quick: "
                            f"{getattr(QUICK, name)})")
    parser.add_argument("--devices", type=int, default=None,
                        help="number of devices (default: all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--force", action="store_true",
                        help="recompute everything, even what a run with the same settings "
                        "finished")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.runs import FULL, QUICK, run_demo

    settings = QUICK if args.quick else FULL
    changes = {name: getattr(args, name) for name in SIZES if getattr(args, name) is not None}
    bad = [f"--{k.replace('_', '-')}={v}" for k, v in changes.items() if v < 1]
    if bad:
        raise ValueError(f"{', '.join(bad)}: sizes must be positive")
    result = run_demo(args.out, settings.replace(**changes), devices=args.devices,
                      progress=not args.no_progress, force=args.force)
    print(f"\nreport: {result.report}")
    for line in result.findings:
        print(f"  {line}")
    print(f"demo finished in {result.seconds:.1f} s; results in {result.folder}")
    return 0
