"""docs/tutorial.md runs as written: its Python blocks, in order, as one script in a fresh
process from an empty folder (as a reader would paste them), on one plain CPU device."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_tutorial_runs_and_dissects(tmp_path):
    blocks = python_blocks(TUTORIAL.read_text())
    assert len(blocks) == 3
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", "\n".join(blocks)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "stage3/Conv_0" in out and "(16, 16, 48)" in out and "unit labels:" in out
    assert re.search(r"unchanged: accuracy \d\.\d\d, on forests \d\.\d\d", out)
    assert re.search(r"6 tree units removed: accuracy \d\.\d\d, on forests \d\.\d\d", out)
    assert (tmp_path / "results" / "tutorial" / "latest" / "index.html").is_file()
