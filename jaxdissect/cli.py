"""The ``jaxdissect`` command line: a thin layer over library functions.

Each sub-command lives in ``jaxdissect/commands/<name>.py`` and provides
``register(subparsers)`` (which adds its parser and sets ``func``) and the function it calls,
which only parses options and hands them to the library.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import warnings

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


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``jaxdissect CMD: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jaxdissect",
        description="Network Dissection in JAX: what the units of vision networks detect.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"jaxdissect.commands.{name}").register(sub)
    return parser


BAD_INPUT = 2  # exit code: the input or the options are wrong
SYSTEM_ERROR = 1  # exit code: the system refused (full disk, read-only folder, permissions)


def describe_os_error(err: OSError) -> str:
    """One line for an ``OSError`` from reading or writing files, with the way out."""
    where = f" {err.filename}" if err.filename is not None else ""
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the device writing{where}; free some space and run the same "
                "command again (finished work is kept)")
    if code == errno.EFBIG:
        return (f"file too large writing{where} (the file size limit, see `ulimit -f`, or the "
                "file system's); raise the limit and run the same command again")
    if code == errno.EROFS:
        return f"cannot write{where}: the file system is read-only; choose another output folder"
    if code in (errno.EACCES, errno.EPERM):
        return (f"permission denied:{where}; choose an output folder you can write to (or fix "
                "the permissions)")
    reason = err.strerror or type(err).__name__
    return f"{reason}:{where}" if where else reason


def _one_line_warning(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"jaxdissect {command}: warning: {text}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return BAD_INPUT
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(args.command)
        try:
            return int(args.func(args) or 0)
        except (ValueError, FileNotFoundError, FileExistsError, KeyError) as err:
            # Bad input: one line naming the problem, non-zero exit, no traceback.
            msg = err.args[0] if isinstance(err, KeyError) and err.args else err
            _error(args.command, msg)
            return BAD_INPUT
        except OSError as err:
            # The system refused a read or a write (full disk, read-only folder): one line.
            _error(args.command, describe_os_error(err))
            return SYSTEM_ERROR
        except KeyboardInterrupt as err:
            # Ctrl-C: one line (a resumable run says what it saved), the shell's exit code 130.
            print(f"jaxdissect {args.command}: {err.args[0] if err.args else 'interrupted'}",
                  file=sys.stderr)
            return 130


def _error(command: str, message) -> None:
    text = " ".join(str(message).split())
    print(f"jaxdissect {command}: error: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
