"""The command line's subcommands, one module each: argument parsing and printing only.

Each module has ``register(subparsers)`` (its options) and ``run(args)``, which calls one function
of :mod:`jaxdissect.runs` (or of the library below it) and prints what it returned.
"""
