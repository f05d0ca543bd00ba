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
    parser.add_argument("src", help="PyTorch checkpoint file (.pth state dict), or a segmenter "
                        "folder (encoder/decoder .pth and labels.json) with --arch upernet50 "
                        "or colorseg")
    parser.add_argument("dest", help="output folder (must not exist unless --force)")
    parser.add_argument("--arch", default=None,
                        help="architecture name: vgg16, alexnet, resnet18, resnet50, "
                        "resnet152, proggan, upernet50, colorseg (default: detect from the "
                        "keys of a .pth file)")
    parser.add_argument("--force", action="store_true", help="replace an existing DEST")
    parser.set_defaults(func=run)


def describe_sizes(sizes: dict) -> str:
    """Scalar sizes as ``key=value``; long entries (label tables, ignored keys) by their length."""
    parts = []
    for key, value in sizes.items():
        if isinstance(value, (int, float, str, bool)):
            parts.append(f"{key}={value}")
        elif isinstance(value, (list, tuple)) and len(value) <= 8:
            parts.append(f"{key}={list(value)}")
        else:
            parts.append(f"{key}=<{len(value)} entries>")
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    from jaxdissect.world.assets import register_world_archs
    from ports import convert

    register_world_archs()  # known by name, so --arch world_vgg says it has no converter

    dest = convert(args.src, args.dest, arch=args.arch, force=args.force)
    from jaxdissect.checkpoint import read_meta

    meta = read_meta(dest)
    print(f"wrote {dest}: {meta['arch']} ({describe_sizes(meta['sizes'])}); "
          f"layers {', '.join(meta['layers'])}")
    return 0
