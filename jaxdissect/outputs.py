"""Output files that are complete or absent, and the manifest that proves a folder complete.

Every result file, report page and model folder is written under a temporary name beside its
destination and renamed into place (``os.replace``, atomic on one file system), so a crash, a
kill or a full disk never leaves a half-written file under its final name; at worst a
``.NAME.tmp-*`` leftover, which nothing reads. Temporary folders are created with ``os.mkdir``
and so get the umask's permissions (``tempfile.mkdtemp`` would give 0700 and results could not
be shared without a chmod).

A write that fails with an ``OSError`` (full disk, file size limit, read-only folder) is raised
again as the same kind of ``OSError`` naming the destination, so the command line can say which
file could not be written.

A finished folder (a dissected layer) carries ``manifest.json``: ``{"files": {name: {"size",
"sha256"}}}`` for every file that makes the result. :func:`check_manifest` verifies it before
the folder is trusted; it names the first file that is missing, of another size or of other
content. Stdlib only: the report layer uses it too.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"
TMP_MARK = ".tmp-"


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary name of this module (a leftover of an interrupted write)."""
    return name.startswith(".") and TMP_MARK in name


def named_os_error(err: OSError, path: str | Path, tmp: Path | None = None) -> OSError:
    """``err`` again, of the same class and errno, naming ``path`` when it names no file, or
    the file's final place when it names one inside the temporary ``tmp``."""
    name = err.filename
    if name is not None and tmp is not None:
        try:
            name = os.fspath(Path(path) / Path(name).relative_to(tmp))
        except ValueError:
            pass
    elif name is None:
        name = os.fspath(path)
    if name == err.filename:
        return err
    code = err.errno if err.errno is not None else errno.EIO
    return type(err)(code, err.strerror or os.strerror(code), name)


@contextmanager
def naming(path: str | Path):
    """Inside, an ``OSError`` that names no file (a failed ``write``) is raised naming ``path``."""
    try:
        yield
    except OSError as err:
        raise named_os_error(err, path) from err


def write_file(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` (it creates the file ``tmp``), then rename ``tmp`` to ``path``."""
    path = Path(path)
    tmp = _tmp_name(path)
    _build(tmp, path, write, lambda: os.replace(tmp, path))
    return path


def _build(tmp: Path, path: Path, write: Callable[[Path], None], move: Callable[[], None]):
    """``write(tmp)`` then ``move()``; on any failure ``tmp`` is removed, and an ``OSError``
    is raised again naming ``path``."""
    try:
        write(tmp)
        move()
    except OSError as err:
        _remove(tmp)
        raise named_os_error(err, path, tmp) from err
    except BaseException:
        _remove(tmp)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` under a temporary name, then rename it."""
    return write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` under a temporary name, then rename it."""
    return write_file(path, lambda tmp: tmp.write_bytes(data))


def write_image(path: str | Path, image, format: str, **options) -> Path:
    """Save a PIL image to ``path`` under a temporary name, then rename it. The image is encoded
    in memory first: PIL's own file writer can stop short on a full disk without an error."""
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return write_bytes(path, buffer.getvalue())


def write_json(path: str | Path, value, indent: int | None = 1) -> Path:
    return write_text(path, json.dumps(value, indent=indent) + "\n")


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:
        pass


def make_temp_folder(folder: str | Path) -> Path:
    """A fresh empty folder beside ``folder`` (a temporary name), with the umask's permissions."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _tmp_name(folder)
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue
        except OSError as err:
            raise named_os_error(err, folder) from err


def check_writable(path: str | Path) -> None:
    """Raise the ``OSError`` that writing ``path`` (a file or folder, existing or not) would
    raise (read-only file system, no permission), before any work starts; leaves nothing."""
    path = Path(path).absolute()
    existing = path if path.is_dir() else path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return  # not a folder: the caller's own checks say so
    probe = _tmp_name(existing / path.name)
    try:
        probe.mkdir()
    except OSError as err:
        raise type(err)(err.errno, err.strerror, os.fspath(path)) from None
    probe.rmdir()


def write_folder(folder: str | Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` into a fresh temporary sibling folder, then move it to ``folder``,
    replacing an existing one only once the new one is complete."""
    folder = Path(folder)
    tmp = make_temp_folder(folder)

    def move() -> None:
        if folder.exists() or folder.is_symlink():
            old = _tmp_name(folder)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)

    _build(tmp, folder, write, move)
    return folder


# -- manifests ------------------------------------------------------------------------------------


def file_entry(path: Path) -> dict:
    """``{"size", "sha256"}`` of one file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def write_manifest(folder: str | Path, names: Iterable[str]) -> Path:
    """Write ``folder/manifest.json`` listing ``names`` (files in ``folder``)."""
    folder = Path(folder)
    files = {name: file_entry(folder / name) for name in sorted(names)}
    return write_json(folder / MANIFEST, {"format": 1, "files": files})


def read_manifest(folder: str | Path) -> dict | None:
    """The ``files`` table of ``folder/manifest.json``; None when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return files if isinstance(files, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_manifest(folder: str | Path) -> str | None:
    """None when every file of the manifest is there with its size and checksum; else a short
    description of the first problem, naming the file (e.g. ``iou.npy is 80 bytes, the
    manifest says 1152``)."""
    folder = Path(folder)
    files = read_manifest(folder)
    if files is None:
        what = "is damaged" if (folder / MANIFEST).exists() else "is missing"
        return f"{MANIFEST} {what}"
    for name, entry in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != entry.get("size"):
            return f"{name} is {size} bytes, the manifest says {entry.get('size')}"
        if file_entry(path)["sha256"] != entry.get("sha256"):
            return f"{name} does not match its checksum"
    return None


def refresh_manifest(folder: str | Path, name: str) -> None:
    """Record the new content of ``name`` in ``folder``'s manifest (when the folder has one
    listing it), after a deliberate rewrite such as the report's additions to report.json."""
    folder = Path(folder)
    files = read_manifest(folder)
    if files is None or name not in files:
        return
    files[name] = file_entry(folder / name)
    write_json(folder / MANIFEST, {"format": 1, "files": files})
