"""The ``jaxdissect`` command line: a thin layer over library functions.

Each sub-command lives in ``jaxdissect/commands/<name>.py`` and provides
``register(subparsers)`` (which adds its parser and sets ``func``) and the function it calls,
which only parses options and hands them to the library.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Sub-command modules, in the order --help lists them.
COMMANDS = (
    "demo",
    "dissect",
    "dissect_arrays",
    "layers",
    "convert",
    "experiment",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxdissect",
        description="Network Dissection in JAX: what the units of vision networks detect.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"jaxdissect.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as err:
        # Bad input: one line naming the problem, non-zero exit, no traceback.
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"jaxdissect {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        # Ctrl-C: one line (a resumable run says what it saved), the shell's exit code 130.
        print(f"jaxdissect {args.command}: {err.args[0] if err.args else 'interrupted'}",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
