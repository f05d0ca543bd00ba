"""The package's layers: every import points down, and nothing below ``runs/`` opens a spec
string or a run folder.

Layers, low to high (a module may import its own layer and the ones below)::

    concepts, outputs, sharding
    stats, data
    models
    checkpoint, wrapping, dissection
    interventions, report
    world
    runs
    commands
    cli

The top-level ``jaxdissect/__init__.py`` re-exports the public API and may import anything; a
module below may import ``jaxdissect`` itself only for ``__version__``. Every import counts,
also those inside functions (a lazy import still points where it points).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jaxdissect"
LAYERS = (
    ("concepts", "outputs", "sharding"),
    ("stats", "data"),
    ("models",),
    ("checkpoint", "wrapping", "dissection"),
    ("interventions", "report"),
    ("world",),
    ("runs",),
    ("commands",),
    ("cli",),
)
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}
RUNS = LEVEL["runs"]
# What marks spec parsing: the schemes of model, data and segmenter spec strings, written as
# string literals outside error messages and docstrings.
SPEC_PREFIXES = ("world:", "python:", "folder:", "tfds:", "broden:", "latents:")
# What marks run-folder code: the run record's file name.
RUN_FILES = ("run.json",)
# Below runs/, the one module that names the run record: the report reads it (read-only) to
# say on each page what was dissected.
READS_RUN_RECORD = {"report/run_info.py"}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "assets" not in p.parts)


def rel_of(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def part_of(rel: str) -> str:
    """The top-level part of the package a file (path relative to it) belongs to."""
    return rel.split("/")[0].removesuffix(".py")


def imported(tree: ast.AST, rel: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import of a ``jaxdissect`` module in ``tree``."""
    found = []
    package = ".".join(("jaxdissect", *rel.split("/")[:-1]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "jaxdissect":  # from jaxdissect import checkpoint / __version__
                found += [(node.lineno, f"jaxdissect.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found
            if name == "jaxdissect" or name.startswith("jaxdissect.")]


def target_part(name: str) -> str | None:
    """The part of the package a dotted import names (None: ``jaxdissect`` itself)."""
    parts = name.split(".")
    if len(parts) < 2 or parts[1] == "__version__":
        return None
    return parts[1]


def attributes_of_package(tree: ast.AST) -> set[str]:
    """Names read as ``jaxdissect.NAME`` (after ``import jaxdissect``)."""
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "jaxdissect"}


def upward_imports(source: str, rel: str) -> list[str]:
    tree = ast.parse(source, rel)
    here = part_of(rel)
    problems = []
    for line, name in imported(tree, rel):
        there = target_part(name)
        if there is None:
            used = attributes_of_package(tree) - {"__version__", *LEVEL}
            if used:
                problems.append(f"line {line}: import jaxdissect, then jaxdissect."
                                f"{sorted(used)[0]} (the public API sits above every layer)")
            continue
        if there not in LEVEL:
            problems.append(f"line {line}: {name}: jaxdissect.{there} is in no layer")
        elif LEVEL[there] > LEVEL[here]:
            problems.append(f"line {line}: imports {name} ({there} is above {here})")
    return problems


def docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def message_nodes(tree: ast.AST) -> set[int]:
    """Strings inside ``raise`` statements and warnings (what they say, not what they do)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "warn"):
            ids |= {id(n) for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return ids


def application_code(source: str, rel: str) -> list[str]:
    """Spec parsing and run-folder code in a module below ``runs/``."""
    tree = ast.parse(source, rel)
    skip = docstring_nodes(tree) | message_nodes(tree)
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in skip:
            continue
        text = node.value
        prefix = next((p for p in SPEC_PREFIXES if text.startswith(p)), None)
        if prefix is not None:
            problems.append(f"line {node.lineno}: {text!r} (parses {prefix} specs)")
        if text in RUN_FILES and rel not in READS_RUN_RECORD:
            problems.append(f"line {node.lineno}: {text!r} (run-folder code)")
    for line, name in imported(tree, rel):
        if target_part(name) in ("runs", "commands", "cli"):
            problems.append(f"line {line}: imports {name}")
    return problems


BELOW_TOP = [rel_of(p) for p in modules() if p != PACKAGE / "__init__.py"]
BELOW_RUNS = [rel for rel in BELOW_TOP if LEVEL.get(part_of(rel), RUNS) < RUNS]


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(rel) for rel in BELOW_TOP}
    assert parts <= set(LEVEL), sorted(parts - set(LEVEL))


@pytest.mark.parametrize("rel", BELOW_TOP)
def test_imports_point_down(rel):
    assert upward_imports((PACKAGE / rel).read_text(), rel) == []


@pytest.mark.parametrize("rel", BELOW_RUNS)
def test_nothing_below_runs_parses_specs_or_opens_run_folders(rel):
    assert application_code((PACKAGE / rel).read_text(), rel) == []


def test_the_checks_can_fail():
    """Upward imports (plain, relative, lazy), spec parsing and run-folder names are caught;
    error messages and docstrings may name a spec."""
    source = ('"""Reads world:N specs."""\n'
              "import jaxdissect\n"
              "from jaxdissect.runs.models import StudiedModel\n"
              "from ..report import build\n"
              "def f(spec):\n"
              "    import jaxdissect.world.assets\n"
              "    if spec.startswith('world:'):\n"
              "        raise ValueError('world: is not a model here')\n"
              "    return jaxdissect.load_world_model, 'run.json'\n")
    assert upward_imports(source, "models/probe.py") == [
        "line 2: import jaxdissect, then jaxdissect.load_world_model (the public API sits "
        "above every layer)",
        "line 3: imports jaxdissect.runs.models (runs is above models)",
        "line 4: imports jaxdissect.report (report is above models)",
        "line 6: imports jaxdissect.world.assets (world is above models)"]
    assert application_code(source, "models/probe.py") == [
        "line 7: 'world:' (parses world: specs)",
        "line 9: 'run.json' (run-folder code)",
        "line 3: imports jaxdissect.runs.models"]
    assert upward_imports("from jaxdissect import __version__, sharding\n",
                          "data/probe.py") == []
