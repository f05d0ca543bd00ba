"""``jaxdissect experiment NAME ...``: the paper's intervention experiments, written as JSON.

NAME is ``ablation`` (classifier unit importance and removal curves), ``removal`` (zero a GAN's
concept units), ``insertion`` (insert a GAN's concept units at every location, by context) or
``adversarial`` (targeted Carlini-Wagner attacks and unit peak changes). Each parses its options
and calls one function of :mod:`jaxdissect.runs.experiments`; the sub-commands are the entries
of :data:`EXPERIMENTS`. The JSON goes to the
dissection run it belongs to (``--run``, else the run of ``--dissection``), whose report is
rebuilt (:mod:`jaxdissect.runs.experiment_output`), or to ``--out``; the command ends with
the finding in a few lines (:func:`jaxdissect.report.experiment_kinds.summary_lines`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jaxdissect.commands.dissect import parse_data_options
from jaxdissect.commands.types import positive_int


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True,
                        help="model folder (jaxdissect convert), world:classifier / "
                        "world:generator, or python:MODULE:FUNCTION (returning "
                        "jaxdissect.wrap(...))")
    parser.add_argument("--run", default=None,
                        help="the dissection run folder the experiment belongs to (e.g. "
                        "results/vgg16/latest): the result goes to RUN/experiments/ and the "
                        "run's report is rebuilt (default: the run of --dissection)")
    parser.add_argument("--out", default=None, help="write the JSON here instead")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images or latents per step")
    parser.add_argument("--devices", type=positive_int, default=None,
                        help="number of devices to use")


def _classifier(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layer", required=True, help="layer whose units are studied")
    parser.add_argument("--data", required=True,
                        help="labelled images, e.g. folder:PATH, tfds:places365_small:train, "
                        "world:2000")
    parser.add_argument("--data-option", action="append", metavar="KEY=VALUE",
                        help="data source option, e.g. resize=256 (repeatable)")


def _generative(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dissection", required=True,
                        help="dissection layer folder (iou.npy, concepts.csv); its layer is used")
    parser.add_argument("--concept", required=True, help="concept name (or number)")
    parser.add_argument("--segmenter", required=True,
                        help="world, or a converted UPerNet (or world segmenter) folder")
    parser.add_argument("--colornet", default=None,
                        help="converted colour model folder (with a UPerNet --segmenter)")
    parser.add_argument("--samples", type=int, default=1000, help="latents z (1000)")
    parser.add_argument("--seed", type=int, default=1, help="latent draw seed (1)")
    parser.add_argument("--chunk", type=int, default=None, help="edits per compiled call")


def _ablation_options(p: argparse.ArgumentParser) -> None:
    _classifier(p)
    p.add_argument("--eval-data", default=None,
                   help="data the removals are evaluated on (default: --data)")
    p.add_argument("--eval-data-option", action="append", metavar="KEY=VALUE",
                   help="option of --eval-data (default: the --data-option values)")
    p.add_argument("--classes", required=True, help="comma-separated class names or numbers")
    p.add_argument("--sizes", default="1,2,3,4,5,20,64,128,256", help="units removed per set")
    p.add_argument("--keep", type=int, default=20, help="complement: keep only the top K (20)")
    p.add_argument("--chunk", type=int, default=32, help="ablations per compiled call (32)")
    p.add_argument("--random-draws", type=int, default=3,
                   help="random unit sets per size removed, the baseline (3)")
    p.add_argument("--dissection", default=None,
                   help="the layer's dissection folder: with --concept, its labels")
    p.add_argument("--concept", default=None,
                   help="also remove the units labelled CONCEPT, against as many random units")


def _ablation(experiments, args, out: Path, common: dict) -> dict:
    options = parse_data_options(args.data_option)
    eval_options = (parse_data_options(args.eval_data_option) if args.eval_data_option
                    else options)
    return experiments.ablation_experiment(
        args.model, args.layer, args.data, [c for c in args.classes.split(",") if c],
        eval_data=args.eval_data, sizes=[int(k) for k in args.sizes.split(",") if k],
        keep=args.keep, data_options=options, eval_data_options=eval_options,
        random_draws=args.random_draws, concept=args.concept, dissection=args.dissection,
        **common)


def _removal_options(p: argparse.ArgumentParser) -> None:
    _generative(p)
    p.add_argument("--max-units", type=int, default=30, help="remove 0..K units (30)")
    p.add_argument("--random-draws", type=int, default=3,
                   help="random unit sets per size, the baseline (3)")


def _removal(experiments, args, out: Path, common: dict) -> dict:
    return experiments.removal_experiment(
        args.model, args.dissection, args.concept, max_units=args.max_units,
        random_draws=args.random_draws, pictures=out.with_suffix(""), **_gan(args), **common)


def _insertion_options(p: argparse.ArgumentParser) -> None:
    _generative(p)
    p.add_argument("--units", type=int, default=20, help="units inserted (20)")
    p.add_argument("--quantile", type=float, default=0.995, help="value inserted (0.995)")
    p.add_argument("--quantile-samples", type=int, default=1000, help="latents for it (1000)")
    p.add_argument("--context-channel", type=int, default=0, help="segmentation channel (0)")
    p.add_argument("--random-draws", type=int, default=1,
                   help="sets of as many random units inserted the same way, the baseline (1)")


def _insertion(experiments, args, out: Path, common: dict) -> dict:
    return experiments.insertion_experiment(
        args.model, args.dissection, args.concept, units=args.units,
        q=round(1 - args.quantile, 12), quantile_samples=args.quantile_samples,
        context_channel=args.context_channel, random_draws=args.random_draws,
        pictures=out.with_suffix(""), **_gan(args),
        **common)


def _gan(args: argparse.Namespace) -> dict:
    return dict(segmenter=args.segmenter, colornet=args.colornet, samples=args.samples,
                seed=args.seed)


def _adversarial_options(p: argparse.ArgumentParser) -> None:
    _classifier(p)
    p.add_argument("--source", required=True, help="class of the attacked images")
    p.add_argument("--target", required=True, help="class the attack aims at")
    p.add_argument("--images", type=int, default=100, help="images attacked (100)")
    p.add_argument("--steps", type=int, default=100, help="Adam steps per round (100)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (0.01)")
    p.add_argument("--c", type=float, default=1.0, help="initial constant c (1)")
    p.add_argument("--search-steps", type=int, default=1, help="binary search rounds (1)")
    p.add_argument("--dissection", default=None, help="layer folder naming the units")


def _adversarial(experiments, args, out: Path, common: dict) -> dict:
    from jaxdissect.interventions.adversarial import CarliniWagner

    settings = CarliniWagner(steps=args.steps, learning_rate=args.lr, c=args.c,
                             search_steps=args.search_steps)
    return experiments.adversarial_experiment(
        args.model, args.layer, args.data, args.source, args.target, images=args.images,
        settings=settings, dissection=args.dissection,
        data_options=parse_data_options(args.data_option), **common)


@dataclass(frozen=True)
class Experiment:
    """One sub-command: its ``help``, its ``options`` (beside the common ones), the ``name``
    parts of its result file, and ``call(experiments, args, out, common)``, which calls its
    front end in :mod:`jaxdissect.runs.experiments` (``common``: batch and chunk sizes given,
    devices) and returns the result JSON."""

    help: str
    options: Callable[[argparse.ArgumentParser], None]
    name: Callable[[argparse.Namespace], tuple]
    call: Callable[..., dict]


def _generated(args: argparse.Namespace) -> tuple:
    return (args.experiment, args.concept, Path(args.dissection).resolve().name)


EXPERIMENTS = {
    "ablation": Experiment("unit importance per class and removal curves", _ablation_options,
                           lambda args: ("ablation", args.layer), _ablation),
    "removal": Experiment("zero a GAN's concept units; concept pixels left", _removal_options,
                          _generated, _removal),
    "insertion": Experiment("insert a GAN's concept units, by context", _insertion_options,
                            _generated, _insertion),
    "adversarial": Experiment(
        "targeted CW-L2 attacks and unit peak changes", _adversarial_options,
        lambda args: ("adversarial", args.source, "to", args.target, args.layer), _adversarial),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment", help="ablation, GAN removal/insertion and adversarial experiments",
        description="Run one intervention experiment and write its result as JSON.")
    names = parser.add_subparsers(dest="experiment", metavar="NAME", required=True)
    for name, experiment in EXPERIMENTS.items():
        p = names.add_parser(name, help=experiment.help)
        _common(p)
        experiment.options(p)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.report.experiment_kinds import summary_lines
    from jaxdissect.runs import experiments
    from jaxdissect.runs.experiment_output import (
        experiment_name,
        experiment_path,
        save_experiment,
    )

    experiment = EXPERIMENTS[args.experiment]
    out = experiment_path(experiment_name(*experiment.name(args)), out=args.out, run=args.run,
                          dissection=getattr(args, "dissection", None))
    common = {"devices": args.devices}
    if args.batch_size is not None:
        common["batch_size"] = args.batch_size
    if getattr(args, "chunk", None) is not None:
        common["chunk_size"] = args.chunk
    result = experiment.call(experiments, args, out, common)
    lines = summary_lines(result)
    result.setdefault("finding", lines[0] if lines else "")
    path, page = save_experiment(result, out)
    print(f"{args.experiment} at {result.get('layer', '?')}:")
    for line in lines:
        print(f"  {line}")
    print(f"wrote {path}" + (f"; report: {page}" if page else ""))
    return 0
