"""``jaxdissect dissect-arrays``: dissect activations and segmentations stored as .npy files."""

from __future__ import annotations

import argparse

from jaxdissect.commands.types import positive_int
from jaxdissect.dissection.interpolation import MODES
from jaxdissect.dissection.presets import PRESETS, THRESHOLD_RESOLUTIONS, get_config


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dissect-arrays",
        help="dissect precomputed activations against precomputed segmentations",
        description="Label every unit of ACTS (N,U,h,w) with the concept of SEGS (N,K,H,W) "
        "whose pixels it best overlaps. Both files are memory-mapped and streamed.",
    )
    parser.add_argument("--acts", required=True, help="activations .npy, float16/float32")
    parser.add_argument("--segs", required=True, help="segmentations .npy, integer, 0 = none")
    parser.add_argument("--out", required=True, help="output folder (report.json, iou.npy, ...)")
    parser.add_argument("--channels-last", action="store_true",
                        help="ACTS is (N, h, w, U) instead of (N, U, h, w)")
    parser.add_argument("--preset", default="pnas2020", choices=sorted(PRESETS),
                        help="published protocol to follow (default pnas2020)")
    parser.add_argument("--quantile", type=float, default=None,
                        help="top fraction q of each unit's pixels that count as on (0.01)")
    parser.add_argument("--miniou", type=float, default=None,
                        help="IoU a label must exceed to count as interpretable (0.04)")
    parser.add_argument("--threshold-resolution", choices=THRESHOLD_RESOLUTIONS, default=None,
                        help="take each unit's threshold over its upsampled map (pnas2020) or "
                        "over its raw map at the layer's resolution (netdissect2017, "
                        "netdissect_lite)")
    parser.add_argument("--upsample", choices=MODES, default=None,
                        help="how unit maps are resampled to the segmentation size")
    parser.add_argument("--topk", type=positive_int, default=None,
                        help="top images kept per unit")
    parser.add_argument("--concepts", default=None,
                        help="CSV with columns number,name,category naming the labels")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per step, a multiple of the device count")
    parser.add_argument("--devices", type=positive_int, default=None,
                        help="number of devices to use")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.concepts import ConceptVocabulary

    # The concept file first: a bad one is reported before the arrays are opened.
    concepts = ConceptVocabulary.from_csv(args.concepts) if args.concepts else None
    from jaxdissect.runs.arrays import dissect_arrays

    config = get_config(args.preset, quantile=args.quantile, miniou=args.miniou,
                        upsample=args.upsample, topk=args.topk,
                        threshold_resolution=args.threshold_resolution)
    result = dissect_arrays(
        args.acts, args.segs, args.out, channels_last=args.channels_last, config=config,
        concepts=concepts, batch_size=args.batch_size, devices=args.devices,
        force=args.force, progress=not args.quiet,
    )
    tally = result.detectors()
    print(f"{result.num_units} units, {tally['units_above_miniou']} with IoU > {config.miniou}, "
          f"{tally['unique_overall']['total']} distinct labels; results in {args.out}")
    return 0
