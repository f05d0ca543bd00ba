"""Interrupted ``jaxdissect dissect`` runs resume where they stopped, bit for bit, and the
progress display of a run whose stderr is not a terminal is plain lines.

Each run is a real ``jaxdissect dissect`` subprocess; ``JAXDISSECT_TEST_KILL_AT`` (see
:mod:`jaxdissect.dissection.resume`) makes it kill itself (SIGKILL) or interrupt itself
(SIGINT, as Ctrl-C does) at a chosen point, so nothing depends on timing.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from world_fixtures import SIZE, tiny_world_classifier

from jaxdissect.runs.runkey import LATEST

ROOT = Path(__file__).parents[2]
IMAGES, BATCH = 100, 16  # 7 batches, the last one padded (112 rows)
RUN_TIMES = ("layers",)  # run.json records when each layer finished
DATE = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")  # when a page was made


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_world_classifier(tmp_path_factory.mktemp("model") / "tiny")


def dissect(model, out, kill_at=None, checkpoint_every="32", layers="conv2_2,conv4_2"):
    """Run the command; returns the finished process (stdout, stderr, returncode)."""
    env = dict(os.environ, JAXDISSECT_PROGRESS_SECONDS="0",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("JAXDISSECT_TEST_KILL_AT", None)
    if kill_at:
        env["JAXDISSECT_TEST_KILL_AT"] = kill_at
    argv = [sys.executable, "-m", "jaxdissect.cli", "dissect", "--model", str(model),
            "--data", f"world:{IMAGES}", "--data-option", f"size={SIZE}", "--layers", layers,
            "--out", str(out), "--batch-size", str(BATCH), "--checkpoint-every",
            checkpoint_every]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def finished(done):
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def files(out: Path) -> dict[str, bytes]:
    """Every file of the run folder by relative path (run.json without its times, pages
    without the date they were made)."""
    folder = (out / LATEST).resolve()
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "run.json":
                record = json.loads(data)
                for key in RUN_TIMES:
                    record[key] = sorted(record[key])
                data = json.dumps(record, sort_keys=True).encode()
            if path.name == "run.json" or path.suffix == ".html":
                data = DATE.sub(b"DATE", data)
            found[str(path.relative_to(folder))] = data
    return found


def assert_same_files(expected: dict, got: dict) -> None:
    assert sorted(got) == sorted(expected)
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, f"files differ from the uninterrupted run: {different}"


@pytest.fixture(scope="module")
def reference(model, tmp_path_factory):
    """An uninterrupted run: its files and its process."""
    out = tmp_path_factory.mktemp("reference")
    done = finished(dissect(model, out))
    return files(out), done


def test_plain_progress_lines_in_a_log(reference):
    _, done = reference
    log = done.stderr
    assert "\r" not in log and "compiling" not in log
    lines = [l for l in log.splitlines() if " images" in l]
    for name in ("pass 0 (model)", "threshold pass 1", "threshold pass 2",
                 "intersection pass"):
        mine = [l for l in lines if l.startswith(f"{name}: ")]
        assert mine, f"no progress line for {name!r} in:\n{log}"
        assert mine[-1].startswith(f"{name}: {IMAGES}/{IMAGES} images, ")  # not 112 rows
    assert any("images/s" in l and " left" in l for l in lines)
    assert not (ROOT / ".resume").exists()
    assert not any(p.name == ".resume" for p in Path(done.args[done.args.index("--out") + 1])
                   .rglob(".resume"))


def test_ctrl_c_saves_a_checkpoint_and_the_same_command_resumes(model, tmp_path, reference):
    expected, _ = reference
    # Ctrl-C once batch 3 is cached: batch 4, already computing, is cached too, then saved.
    stopped = dissect(model, tmp_path, kill_at="pass0-batch:3:INT")
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    message = stopped.stderr.strip().splitlines()[-1]
    assert message == ("jaxdissect dissect: interrupted in pass 0 at image 64; the checkpoint "
                       "is saved: run the same command again to resume")
    assert "Traceback" not in stopped.stderr
    resumed = finished(dissect(model, tmp_path))
    assert "resuming pass 0 at image 64 of 100" in resumed.stdout
    assert_same_files(expected, files(tmp_path))


@pytest.mark.slow
def test_sigkill_anywhere_then_rerun_gives_the_same_files(model, tmp_path, reference):
    """Killed in pass 0 (after batch 3; checkpoints every 2 batches), then while writing a
    checkpoint (the third, of batch 4... of the rerun), then in threshold pass 1, then rerun
    to the end."""
    expected, _ = reference
    killed = dissect(model, tmp_path, kill_at="pass0-batch:3")
    assert killed.returncode == -9
    killed = dissect(model, tmp_path, kill_at="checkpoint-write:2")
    assert killed.returncode == -9
    assert "resuming pass 0 at image 32 of 100" in killed.stdout
    killed = dissect(model, tmp_path, kill_at="later-batch:10")  # threshold pass 2, batch 3
    assert killed.returncode == -9
    assert "resuming pass 0 at image 64 of 100" in killed.stdout
    resumed = finished(dissect(model, tmp_path))
    assert "resuming after threshold pass 1" in resumed.stdout
    assert_same_files(expected, files(tmp_path))


def test_checkpoint_intervals_are_images_or_durations():
    from jaxdissect.cli import build_parser
    from jaxdissect.runs.model_dissection import checkpoint_interval

    assert checkpoint_interval("5m", 16) == (2**62, 300.0)
    assert checkpoint_interval("30s", 16)[1] == 30.0 and checkpoint_interval("1h", 8)[1] == 3600
    assert checkpoint_interval("2000", 32) == (63, None)  # whole batches, rounded up
    assert checkpoint_interval(16, 16) == (1, None)
    for bad in ("0", "-5", "5x", "m", "", "0s"):
        with pytest.raises(ValueError, match="a number of images .* or a duration"):
            checkpoint_interval(bad, 16)
    args = build_parser().parse_args(["dissect", "--model", "m", "--data", "d", "--out", "o"])
    assert args.checkpoint_every == "5m"
    from jaxdissect.commands.dissect import _checkpoints

    assert _checkpoints("Off") is None and _checkpoints("5m") == "5m"


@pytest.mark.slow
def test_without_checkpoints_a_killed_run_starts_again(model, tmp_path, reference):
    """--checkpoint-every off: nothing is kept, the rerun starts from image 1 (and still gives
    the same files)."""
    expected, _ = reference
    killed = dissect(model, tmp_path, kill_at="pass0-batch:3", checkpoint_every="off")
    assert killed.returncode == -9
    assert not list(tmp_path.rglob(".resume"))
    again = finished(dissect(model, tmp_path, checkpoint_every="off"))
    assert "resuming" not in again.stdout
    assert_same_files(expected, files(tmp_path))
