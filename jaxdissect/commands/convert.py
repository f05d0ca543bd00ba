"""``jaxdissect convert SRC DEST [--arch NAME] [--force]``: a PyTorch checkpoint -> a folder that
``jaxdissect.load`` reads (orbax params + meta.json). Calls :func:`ports.convert`."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a PyTorch checkpoint (.pth) to a jaxdissect model folder",
        description="Convert a PyTorch state dict to an orbax checkpoint plus meta.json. "
        "The architecture is detected from the keys unless --arch is given.",
    )
    parser.add_argument("src", help="PyTorch checkpoint file (.pth state dict)")
    parser.add_argument("dest", help="output folder (must not exist unless --force)")
    parser.add_argument("--arch", default=None,
                        help="architecture name, e.g. vgg16, alexnet, resnet18, resnet50, "
                        "resnet152 (default: detect from the keys)")
    parser.add_argument("--force", action="store_true", help="replace an existing DEST")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from jaxdissect.checkpoint import read_meta
    from ports import convert

    dest = convert(args.src, args.dest, arch=args.arch, force=args.force)
    meta = read_meta(dest)
    print(f"wrote {dest}: {meta['arch']} {json.dumps(meta['sizes'])}, "
          f"layers {', '.join(meta['layers'])}")
    return 0
