"""Tests for jaxdissect/outputs.py: files complete or absent, umask permissions, manifests."""

import errno
import os
import stat

import pytest

from jaxdissect.outputs import (
    check_manifest,
    check_writable,
    is_temporary,
    refresh_manifest,
    write_file,
    write_folder,
    write_manifest,
    write_text,
)


def full_disk(tmp):
    tmp.write_bytes(b"half")
    raise OSError(errno.ENOSPC, "No space left on device")  # as a failed write(): no file name


def test_a_failed_write_leaves_the_old_file_and_no_leftover(tmp_path):
    target = tmp_path / "report.json"
    write_text(target, "old")
    with pytest.raises(OSError) as err:
        write_file(target, full_disk)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(target)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]


def test_a_failed_folder_keeps_the_old_one_and_names_the_final_file(tmp_path):
    folder = tmp_path / "conv5_3"

    def files(tmp):
        (tmp / "iou.npy").write_bytes(b"new")
        with open(tmp / "units.csv", "wb") as f:
            raise OSError(errno.EFBIG, "File too large", f.name)

    write_folder(folder, lambda tmp: (tmp / "iou.npy").write_bytes(b"old"))
    with pytest.raises(OSError) as err:
        write_folder(folder, files)
    assert err.value.filename == str(folder / "units.csv")  # not the temporary name
    assert (folder / "iou.npy").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["conv5_3"]


def test_folders_and_files_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        folder = write_folder(tmp_path / "layer", lambda tmp: write_text(tmp / "a.txt", "x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "a.txt").stat().st_mode) == 0o644


def test_manifest_names_the_damaged_file(tmp_path):
    (tmp_path / "iou.npy").write_bytes(b"0123456789")
    (tmp_path / "report.json").write_text("{}")
    write_manifest(tmp_path, ["iou.npy", "report.json"])
    assert check_manifest(tmp_path) is None
    (tmp_path / "iou.npy").write_bytes(b"01234")
    assert check_manifest(tmp_path) == "iou.npy is 5 bytes, the manifest says 10"
    (tmp_path / "iou.npy").write_bytes(b"0123456780")
    assert check_manifest(tmp_path) == "iou.npy does not match its checksum"
    (tmp_path / "iou.npy").unlink()
    assert check_manifest(tmp_path) == "iou.npy is missing"
    (tmp_path / "iou.npy").write_bytes(b"0123456789")
    (tmp_path / "report.json").write_text('{"header": 1}')
    refresh_manifest(tmp_path, "report.json")  # a deliberate rewrite is recorded
    assert check_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text("{")
    assert check_manifest(tmp_path) == "manifest.json is damaged"


def test_check_writable_creates_nothing(tmp_path):
    check_writable(tmp_path / "a" / "b")
    assert os.listdir(tmp_path) == []
    assert is_temporary(".iou.npy.tmp-12-ab") and not is_temporary("iou.npy")
