"""Retrain the shipped world models: ``python -m jaxdissect.world.train MODEL``.

``MODEL`` is ``classifier``, ``segmenter``, ``generator``, ``vit`` or ``all`` (in that order);
``--gan-steps N`` sets the length of the generator's adversarial stage (``train_generator``; 0
keeps the VAE decoder it starts from).

Each model trains on freshly drawn world images for the steps in its settings (a few minutes
on one CPU core) and is written to ``jaxdissect/assets/world/<name>/`` (or ``--out``) with its
settings, timing and held-out accuracy in ``meta.json``. The generator is trained after the
segmenter, whose accuracy on generated images it reports.
"""

from __future__ import annotations

import argparse
import sys

from jaxdissect.world.assets import WORLD_MODELS, save_world_model


def train_one(name: str, out: str | None, command: str, gan_steps: int | None = None) -> dict:
    """Train model ``name``, save it, return its meta. ``gan_steps``: the generator's
    adversarial steps after its VAE stage (None: its settings' default; 0: the VAE decoder)."""
    if name == "classifier":
        from jaxdissect.world.train_classifier import train_classifier

        _, params, meta = train_classifier()
    elif name == "segmenter":
        from jaxdissect.world.train_segmenter import train_segmenter

        _, params, meta = train_segmenter()
    elif name == "vit":
        from jaxdissect.world.train_vit import train_vit

        _, params, meta = train_vit()
    else:
        from jaxdissect.world.train_generator import GeneratorSettings, train_generator

        settings = (GeneratorSettings() if gan_steps is None
                    else GeneratorSettings(gan_steps=gan_steps))
        _, params, meta = train_generator(settings, segmenter_root=out)
    meta["training"]["command"] = command
    path = save_world_model(name, params, meta, out)
    print(f"saved {name} to {path}")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxdissect.world.train",
                                     description="Retrain the shipped world models.")
    parser.add_argument("model", choices=(*WORLD_MODELS, "all"))
    parser.add_argument("--out", default=None,
                        help="folder for the trained models (default: the shipped assets)")
    parser.add_argument("--gan-steps", type=int, default=None, metavar="N",
                        help="the generator's adversarial steps after its VAE stage (default: "
                             "those of the shipped generator; 0 keeps the VAE decoder)")
    args = parser.parse_args(argv)
    if args.gan_steps is not None and args.gan_steps < 0:
        parser.error(f"--gan-steps={args.gan_steps}: the step count cannot be negative")
    names = WORLD_MODELS if args.model == "all" else (args.model,)
    for name in names:
        command = f"python -m jaxdissect.world.train {name}"
        if name == "generator" and args.gan_steps is not None:
            command += f" --gan-steps {args.gan_steps}"
        train_one(name, args.out, command, args.gan_steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
