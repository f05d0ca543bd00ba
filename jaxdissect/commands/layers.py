"""``jaxdissect layers``: list a model's layers with their output shapes."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "layers", help="list a model's layers (module paths) with their output shapes",
        description="Print every layer of the model with its output shape (batch axis "
        "omitted) and how it is dissected: a feature map, transformer tokens on their patch "
        "grid, a vector, or not at all (and why).")
    parser.add_argument("--model", required=True,
                        help="model folder, world:NAME, or python:MODULE:FUNCTION (a function "
                        "returning jaxdissect.wrap(...))")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.runs.models import load_studied_model
    from jaxdissect.wrapping import layers_text

    studied = load_studied_model(args.model)
    print(f"{studied.name} ({studied.kind}; default layer {studied.default_layer})")
    print(layers_text(studied.net))
    return 0
