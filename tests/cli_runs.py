"""Run the real ``jaxdissect`` command in a subprocess, as a user does, and check what a failure
looks like: one line, the exit code, no traceback, no half-written result.

Also the two ways of making the file system refuse writes without privileges: a read-only
folder (permission bits, or, where they do not bind (root), a read-only bind mount in a user
namespace) and a full disk (``RLIMIT_FSIZE`` in the child, so writes fail with EFBIG, or a small
tmpfs in a user namespace, so they fail with ENOSPC). A test skips when its way is not there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jaxdissect.outputs import MANIFEST, check_manifest, is_temporary

REPO = Path(__file__).resolve().parents[1]
ENTRY = Path(sys.executable).with_name("jaxdissect")


def command() -> list[str]:
    """The installed entry point, or the module when the scripts are not installed."""
    return [str(ENTRY)] if ENTRY.is_file() else [sys.executable, "-m", "jaxdissect.cli"]


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("XLA_FLAGS", None)  # one device: the quickest to compile
    env["JAX_PLATFORMS"] = "cpu"
    return env


# Sets the file size limit, then becomes the command: no preexec_fn, which would fork this
# multithreaded (JAX) process with Python code to run in the child.
LIMITED = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
           "n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); "
           "os.execvp(sys.argv[2], sys.argv[2:])")


def run(args: list[str], cwd: Path, *, wrap: list[str] = (), file_size: int | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess:
    """``jaxdissect ARGS`` in ``cwd``; ``wrap`` is a command prefix (a namespace), ``file_size``
    the largest file the child may write (bytes; writes beyond fail with EFBIG)."""
    limit = [] if file_size is None else [sys.executable, "-c", LIMITED, str(file_size)]
    return subprocess.run([*wrap, *limit, *command(), *args], cwd=cwd, env=environment(),
                          capture_output=True, text=True, timeout=timeout)


def error_line(done: subprocess.CompletedProcess, name: str, code: int = 2) -> str:
    """The one error line of a failed command (checked: exit ``code``, no traceback)."""
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text
    assert done.returncode == code, text
    errors = [line for line in done.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"jaxdissect {name}: error: "), errors[0]
    assert "\x1b[" not in errors[0]  # no terminal colour codes
    return errors[0]


def succeeded(done: subprocess.CompletedProcess) -> str:
    text = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in text, text
    return text


def assert_nothing_half_written(folder: Path) -> None:
    """No temporary leftovers; every layer folder matches its manifest; every JSON, .npy and
    image under ``folder`` reads back whole."""
    for path in Path(folder).rglob("*"):
        assert not is_temporary(path.name), path
        if path.is_dir() and (path / MANIFEST).exists():
            assert check_manifest(path) is None, (path, check_manifest(path))
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".npy":
            np.load(path)
        elif path.suffix in (".jpg", ".png"):
            try:
                with Image.open(path) as image:
                    image.load()
            except OSError as err:
                raise AssertionError(f"{path} is not a whole image: {err}") from err


def _user_namespace_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def read_only_folder(base: Path) -> tuple[Path, list[str]]:
    """(a folder nobody can write into, the command prefix that makes it so)."""
    folder = base / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    probe = folder / "probe"
    try:
        probe.mkdir()
    except PermissionError:
        return folder, []  # permission bits bind: not root
    probe.rmdir()
    folder.chmod(0o755)
    if not _user_namespace_works():
        pytest.skip("cannot make a read-only folder here (root, and no user namespaces)")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return folder, ["unshare", "-rm", "sh", "-c", script, str(folder)]


def small_disk(folder: Path, size_kb: int) -> list[str]:
    """The command prefix that mounts a ``size_kb`` tmpfs on ``folder`` for the command and
    copies what it wrote back into ``folder`` afterwards (the mount goes with the namespace)."""
    if not _user_namespace_works():
        pytest.skip("no user namespaces here, so no small file system to fill")
    folder.mkdir(parents=True, exist_ok=True)
    keep = folder.with_name(folder.name + "-written")
    script = ('mount -t tmpfs -o size=$1k none "$0" || exit 97; shift; "$@"; code=$?; '
              f'cp -a "$0/." "{keep}/"; exit $code')
    keep.mkdir()
    return ["unshare", "-rm", "sh", "-c", script, str(folder), str(size_kb)]


def image_folder_with_a_truncated_image(base: Path) -> Path:
    """Ten small JPEGs in two classes, and one truncated file."""
    rng = np.random.default_rng(3)
    for label in ("a", "b"):
        (base / "images" / label).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (70, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(base / "images" / label / f"{i}.jpg")
    whole = (base / "images" / "a" / "0.jpg").read_bytes()
    (base / "images" / "b" / "broken.jpg").write_bytes(whole[:150])
    return base / "images"
