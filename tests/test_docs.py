"""Executed documentation: every code block of README.md and docs/*.md runs here, as a user runs it.

- The ```python blocks of one file run in order in one fresh Python process (one namespace), from
  an empty working directory, on one CPU device, so relative paths such as ``results/...`` land
  there. A changed API breaks this test, not a user.
- A ```bash block runs with ``bash -e`` in an empty working directory, after the setup named by
  the line ``<!-- doc-test: run SETUP -->`` right before it (SETUP one of :data:`SETUPS`, which
  makes the files the block names), or is not run when that line is
  ``<!-- doc-test: skip (REASON) -->``; a bash block with neither fails the test.
- Output samples and layouts are ```text blocks; a block with no language fails the test, so
  nothing is left neither run nor marked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(run|skip|setup)\b\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    directive: tuple[str, str] | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        found = DIRECTIVE.search(before)
        directive = (found.group(1), found.group(2)) if found else None
        blocks.append(Block(path, start + 1, opened.group(1), "\n".join(body) + "\n", directive))
        i += 1
    return blocks


ALL_BLOCKS = [b for path in DOCS for b in read_blocks(path)]


def clean_env() -> dict:
    """The user's environment: one CPU device (no simulated devices), the venv's commands."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PYTEST_CURRENT_TEST")}
    env["JAX_PLATFORMS"] = "cpu"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def run(cmd: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd[:2])} failed:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-5000:]}"
    return done


# ------------------------------------------------------------------------------ setups


def setup_published_checkpoints(cwd: Path) -> None:
    """Small stand-ins for the published checkpoints, with their file names, key names and
    layouts (seeded random weights, reduced widths where the converter reads them)."""
    import torch

    sys.path.insert(0, str(ROOT / "tests" / "parity"))
    from segmenter_labels import TINY_COLOR_LABELS, TINY_LABELS
    from segmenter_torch import make_colornet, make_upernet, save_folder
    from test_proggan_parity import SMALL_SIZES, make_torch
    from test_segmenter_parity import TINY_COLOR, TINY_UPERNET
    from torch_nets import randomize, vgg16

    torch.save(randomize(vgg16(num_classes=5, pool5_size=1), seed=0, image_size=32)
               .state_dict(), cwd / "vgg16_places365-0bafbc55.pth")
    torch.save(make_torch(SMALL_SIZES, seed=1).state_dict(), cwd / "proggan_churchoutdoor-x.pth")
    cfg = TINY_UPERNET
    encoder, decoder = make_upernet(cfg["stem"], cfg["stage_sizes"], cfg["widths"],
                                    cfg["fpn_dim"], cfg["ppm_dim"],
                                    {"object": 12, "part": 16, "material": 5, "scene": 7}, seed=3)
    save_folder(cwd / "segmodel" / "upp-resnet50-upernet", encoder, decoder, TINY_LABELS,
                epoch=40)
    cfg = TINY_COLOR
    encoder, decoder = make_colornet(cfg["stem"], cfg["widths"], cfg["ppm_dim"], cfg["last_dim"],
                                     len(TINY_COLOR_LABELS["labels"]), seed=7)
    save_folder(cwd / "segmodel" / "color-resnet18dilated-ppm_deepsup", encoder, decoder,
                TINY_COLOR_LABELS, epoch=20)


def setup_arrays(cwd: Path) -> None:
    """Activations and segmentations from elsewhere, in the shapes the block names."""
    rng = np.random.default_rng(0)
    np.save(cwd / "ACTS.npy", rng.standard_normal((40, 7, 7, 16)).astype(np.float32))
    np.save(cwd / "SEGS.npy", rng.integers(0, 6, (40, 2, 28, 28)).astype(np.int32))
    (cwd / "LABELS.csv").write_text("number,name,category\n0,-,\n1,sky,object\n2,tree,object\n"
                                    "3,grass,material\n4,red,color\n5,blue,color\n")


SETUPS = {"published-checkpoints": setup_published_checkpoints, "arrays": setup_arrays,
          "none": lambda cwd: None}


# ------------------------------------------------------------------------------ tests


def test_every_block_is_run_or_marked():
    for block in ALL_BLOCKS:
        assert block.lang, f"{block.name}: a code block with no language; use ```text for output"
        if block.lang == "bash":
            assert block.directive and block.directive[0] in ("run", "skip"), (
                f"{block.name}: a bash block needs <!-- doc-test: run SETUP --> or "
                "<!-- doc-test: skip (REASON) --> on the line before it")
        if block.directive and block.directive[0] == "skip":
            assert block.directive[1].startswith("(") and len(block.directive[1]) > 4, (
                f"{block.name}: say why the block is skipped")
        if block.directive and block.directive[0] == "run":
            assert block.directive[1] in SETUPS, f"{block.name}: unknown setup {block.directive}"


def test_the_parser_sees_what_a_reader_sees():
    langs = {b.lang for b in ALL_BLOCKS}
    assert {"python", "bash"} <= langs
    readme = [b for b in ALL_BLOCKS if b.path.name == "README.md"]
    assert any("jaxdissect.dissect(" in b.code for b in readme)


PYTHON_DOCS = sorted({b.path for b in ALL_BLOCKS if b.lang == "python"})


@pytest.mark.parametrize("path", PYTHON_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(path, tmp_path):
    blocks = [b for b in ALL_BLOCKS if b.path == path and b.lang == "python"
              and not (b.directive and b.directive[0] == "skip")]
    script = "".join(f"# --- {b.name}\n{b.code}\n" for b in blocks)
    (tmp_path / "doc_script.py").write_text(script)
    run([sys.executable, "doc_script.py"], tmp_path, timeout=900)


# Setups heavy enough for the slow set (converting four models takes about a minute on 2 cores).
SLOW_SETUPS = {"published-checkpoints"}
SHELL_BLOCKS = [
    pytest.param(b, id=b.name, marks=[pytest.mark.slow] if b.directive[1] in SLOW_SETUPS else [])
    for b in ALL_BLOCKS if b.lang == "bash" and b.directive and b.directive[0] == "run"]


@pytest.mark.parametrize("block", SHELL_BLOCKS)
def test_shell_blocks_run(block, tmp_path):
    SETUPS[block.directive[1]](tmp_path)
    run(["bash", "-e", "-c", block.code], tmp_path, timeout=900)
