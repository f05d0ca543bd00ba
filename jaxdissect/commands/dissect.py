"""``jaxdissect dissect``: label every unit of a model's layers with the concept it detects.

A thin layer over :func:`jaxdissect.runs.model_dissection.dissect_model`: it parses the
options, calls it, and prints a one-screen summary.
"""

from __future__ import annotations

import argparse

from jaxdissect.commands.types import positive_int
from jaxdissect.dissection.presets import PRESETS


def parse_data_options(pairs: list[str] | None) -> dict:
    """``--data-option KEY=VALUE`` pairs as a dict of typed values (see ``_option_value``)."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--data-option {pair!r}: expected KEY=VALUE, e.g. resize=256")
        options[key] = _option_value(value)
    return options


def _option_value(text: str):
    """``true``/``false`` as booleans, whole numbers as int, other numbers as float, else text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _layers(text: str | None) -> list[str] | None:
    if text is None:
        return None
    layers = [l.strip() for l in text.split(",") if l.strip()]
    if not layers:
        raise ValueError("--layers is empty; name layers such as conv5_3,conv4_3")
    return layers


def _checkpoints(text: str) -> str | None:
    """``--checkpoint-every``: ``off`` (not resumable) or the interval as given."""
    return None if text.strip().lower() == "off" else text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dissect",
        help="dissect a model's layers: unit labels, strips and an HTML report",
        description="Run the model (and the segmenter) once over the probe data, threshold each "
        "unit at its top quantile, label it with the concept of highest IoU, draw its top "
        "images and write a report. Results go to OUT/<settings key>/ (OUT/latest points "
        "at the newest); re-running with the same settings reuses finished layers.",
    )
    parser.add_argument("--model", required=True,
                        help="model folder from `jaxdissect convert`, world:classifier / "
                        "world:generator (the shipped world models), or python:MODULE:FUNCTION "
                        "(a function returning jaxdissect.wrap(...))")
    parser.add_argument("--data", required=True,
                        help="probe data: folder:PATH, tfds:NAME[:SPLIT], broden:PATH, "
                        "world:N (classifiers) or latents:N (generators)")
    parser.add_argument("--out", required=True, help="results folder; each setting gets OUT/<key>/")
    parser.add_argument("--layers", default=None,
                        help="comma-separated layer names (default: the model's default layer)")
    parser.add_argument("--preset", default="pnas2020", choices=sorted(PRESETS),
                        help="published protocol: thresholds, upsampling, IoU rule (default: "
                        "pnas2020)")
    parser.add_argument("--segmenter", default="data",
                        help="concept labels: 'data' (the data's own segmentations), 'world' "
                        "(the shipped world segmenter) or a converted segmenter folder (default: "
                        "data)")
    parser.add_argument("--colornet", default=None,
                        help="converted colour model folder, with a UPerNet --segmenter")
    parser.add_argument("--color-none-concept", action="store_true",
                        help="count the colour model's 'none' as a concept (color-none), as the "
                        "reference does (default: no colour label there)")
    parser.add_argument("--quantile", type=float, default=None,
                        help="top fraction q of each unit's pixels that count as on (default: "
                        "the preset's, 0.01 for pnas2020)")
    parser.add_argument("--miniou", type=float, default=None,
                        help="IoU a unit's label must exceed to count as interpretable "
                        "(default: the preset's, 0.04)")
    parser.add_argument("--topk", type=positive_int, default=None,
                        help="top images kept per unit (default: the preset's, 100)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per step, a multiple of the devices (default: 32 rounded "
                        "up to a multiple of the devices)")
    parser.add_argument("--devices", type=positive_int, default=None,
                        help="number of devices (default: all)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"),
                        help="compute dtype of the model; statistics are always float32 "
                        "(default: float32)")
    parser.add_argument("--cache-dir", default=None,
                        help="with --checkpoint-every off: folder where the activation cache "
                        "spills when it outgrows 4 GiB of memory (default: no spilling; a run "
                        "that needs it stops early)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="use only the first N images or latents (default: all)")
    parser.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                        help="data source option, e.g. resize=256 or seed=2 (repeatable)")
    parser.add_argument("--checkpoint-every", default="5m", metavar="N|DURATION",
                        help="checkpoint pass 0 every N images or every DURATION (30s, 5m, 1h) "
                        "so that the same command resumes an interrupted run, or 'off' (default: "
                        "5m); a resumable run keeps its activation cache on disk in "
                        "OUT/<key>/.resume/")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--force", action="store_true",
                        help="recompute layers already finished with the same settings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.runs.model_dissection import dissect_model
    from jaxdissect.runs.terminal_summary import summary_text

    done = dissect_model(
        args.model, args.data, args.out, layers=_layers(args.layers), preset=args.preset,
        segmenter=args.segmenter, colornet=args.colornet,
        color_none_concept=args.color_none_concept, quantile=args.quantile,
        miniou=args.miniou, topk=args.topk, batch_size=args.batch_size, devices=args.devices,
        dtype=args.dtype, cache_dir=args.cache_dir, limit=args.limit,
        data_options=parse_data_options(args.data_option), progress=not args.no_progress,
        force=args.force, log=print, checkpoint_every=_checkpoints(args.checkpoint_every))
    print(summary_text(done.results, str(done.report), done.reused))
    print(f"results in {done.folder} ({done.seconds:.1f} s)")
    return 0
