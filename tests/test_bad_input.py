"""The README's bad-input table, row by row: each condition through the real ``jaxdissect``
command in a subprocess. Checked every time: the exit code, one error line naming the problem,
no Python traceback, nothing half written.

Kept cheap: the shipped world classifier, eleven 64x64 images, arrays of a few kilobytes; the
conditions that fail before any compute share one test per command.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runs import (
    assert_nothing_half_written,
    error_line,
    image_folder_with_a_truncated_image,
    read_only_folder,
    run,
    small_disk,
    succeeded,
)

torch = pytest.importorskip("torch")

DATA = ["--segmenter", "world", "--data-option", "resize=64", "--data-option", "crop=64",
        "--layers", "conv3_2", "--batch-size", "8", "--no-progress"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-input")
    image_folder_with_a_truncated_image(base)
    return base


def dissect_args(out, *extra) -> list[str]:
    return ["dissect", "--model", "world:classifier", "--data", "folder:images", "--out",
            str(out), *DATA, *extra]


def test_full_disk_damaged_results_and_latest(work):
    """A finished run (with a corrupt image), a run that fills the disk, a damaged layer."""
    out = work / "results"
    # Corrupt image: a one-line warning that says how to stop instead, and the run goes on.
    text = succeeded(run(dissect_args(out), work))
    warnings = [line for line in text.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "b/broken.jpg" in warnings[0], text
    assert "--data-option strict=true" in warnings[0]
    first = (out / "latest").resolve()
    iou = (first / "conv3_2" / "iou.npy").read_bytes()
    umask = os.umask(0)
    os.umask(umask)
    for folder in (first, first / "conv3_2", first / "conv3_2" / "image"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask, folder
    # Full disk (a file size limit: EFBIG) in a run of other settings: one line, exit 1.
    line = error_line(run(dissect_args(out, "--quantile", "0.02"), work, file_size=8_000),
                      "dissect", code=1)
    assert "file too large writing" in line and str(out) in line and ".tmp" not in line
    assert_nothing_half_written(out)
    assert (out / "latest").resolve() == first  # latest moves only when a run finishes
    assert succeeded(run(["report", "results/latest"], work))
    # Damaged result: the report names the file, the same dissection recomputes it.
    (first / "conv3_2" / "iou.npy").write_bytes(iou[:80])
    line = error_line(run(["report", "results/latest"], work), "report")
    assert "iou.npy is 80 bytes" in line and "damaged" in line
    text = succeeded(run(dissect_args(out), work))
    assert "conv3_2: iou.npy is 80 bytes" in text and "recomputing" in text
    assert (first / "conv3_2" / "iou.npy").read_bytes() == iou
    assert_nothing_half_written(out)


@pytest.mark.slow
def test_disk_full_while_drawing_strips(work):
    """A real ENOSPC on a small file system, after the results and before the strips are done."""
    out = work / "small-disk"
    wrap = small_disk(out, 300)
    # no resumable cache on the small disk: the results fit, the strips do not
    done = run(dissect_args(out, "--checkpoint-every", "off"), work, wrap=wrap)
    if done.returncode == 97:
        pytest.skip("tmpfs cannot be mounted in a user namespace here")
    line = error_line(done, "dissect", code=1)
    assert "no space left on the device writing" in line and "image/unit" in line
    written = out.with_name(out.name + "-written")
    assert_nothing_half_written(written)
    layer = next(written.glob("*/conv3_2"))
    assert (layer / "iou.npy").is_file() and not (written / "latest").exists()


@pytest.mark.parametrize("name", ["dissect", "dissect-arrays", "convert", "demo"])
def test_read_only_output_folder(work, tmp_path, name):
    folder, wrap = read_only_folder(tmp_path)
    target = folder / "out"
    if name == "dissect":
        args = dissect_args(target)
    elif name == "dissect-arrays":
        np.save(tmp_path / "acts.npy", np.ones((4, 2, 3, 3), np.float32))
        np.save(tmp_path / "segs.npy", np.ones((4, 6, 6), np.int32))
        args = ["dissect-arrays", "--acts", str(tmp_path / "acts.npy"), "--segs",
                str(tmp_path / "segs.npy"), "--out", str(target), "--quiet"]
    elif name == "convert":
        torch.save({"w": torch.zeros(2)}, tmp_path / "model.pth")
        args = ["convert", str(tmp_path / "model.pth"), str(target)]
    else:
        args = ["demo", "--quick", "--out", str(target), "--no-progress"]
    line = error_line(run(args, work, wrap=wrap), name, code=1)
    assert str(target) in line
    assert "read-only" in line or "permission denied" in line
    assert os.listdir(folder) == []


def test_dissect_arrays_bad_input(tmp_path):
    def arrays(acts, segs, *extra):
        np.save(tmp_path / "acts.npy", acts)
        np.save(tmp_path / "segs.npy", segs)
        return run(["dissect-arrays", "--acts", "acts.npy", "--segs", "segs.npy", "--out", "out",
                    "--quiet", *extra], tmp_path)

    acts, segs = np.ones((5, 2, 3, 3), np.float32), np.ones((5, 6, 6), np.int32)
    line = error_line(arrays(acts, segs, "--batch-size", "0"), "dissect-arrays")
    assert "--batch-size: 0: must be at least 1" in line
    (tmp_path / "concepts.csv").write_bytes(b"number,name,category\n1,caf\xe9,object\n")
    line = error_line(arrays(acts, segs, "--concepts", "concepts.csv"), "dissect-arrays")
    assert "concept file concepts.csv is not UTF-8" in line
    line = error_line(arrays(acts, segs[:4]), "dissect-arrays")
    assert "ACTS has 5 images but SEGS has 4" in line
    bad = acts.copy()
    bad[3, 1, 0, 0] = np.nan
    line = error_line(arrays(bad, segs), "dissect-arrays")
    assert "NaN or inf values at image 3" in line
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    line = error_line(arrays(acts, segs), "dissect-arrays")
    assert "out exists and is not empty; pass --force" in line
    assert os.listdir(tmp_path / "out") == ["mine.txt"]


def test_dissect_bad_options(work):
    line = error_line(run(dissect_args(work / "r1", "--layers", "conv9"), work), "dissect")
    assert "unknown layer(s) ['conv9']" in line
    line = error_line(run(dissect_args(work / "r2", "--batch-size", "0"), work), "dissect")
    assert "--batch-size: 0: must be at least 1" in line
    assert not (work / "r1").exists() and not (work / "r2").exists()


def test_convert_bad_checkpoints(tmp_path):
    torch.save(torch.nn.Linear(2, 3), tmp_path / "module.pth")
    line = error_line(run(["convert", "module.pth", "m"], tmp_path), "convert")
    assert "holds a pickled torch.nn.modules.linear.Linear" in line
    assert "torch.save(model.state_dict(), PATH)" in line
    torch.save({"features.0.weight": torch.zeros(2)}, tmp_path / "vgg.pth")
    line = error_line(run(["convert", "vgg.pth", "m", "--arch", "alexnet"], tmp_path), "convert")
    assert "does not match architecture 'alexnet'" in line
    line = error_line(run(["convert", "vgg.pth", "m", "--arch", "world_vgg"], tmp_path),
                      "convert")
    assert "architecture 'world_vgg' has no converter" in line
    assert "architectures that convert: alexnet, colorseg, proggan" in line
    assert not (tmp_path / "m").exists()


def test_convert_failed_segmenter_folders(tmp_path):
    """Every failed conversion of a segmenter folder is one line (it once ended in a TypeError
    from the architecture hint): bad tensors, a label count that disagrees, the wrong --arch."""
    sys.path.insert(0, str(Path(__file__).parent / "parity"))
    from segmenter_labels import TINY_CLASSES, TINY_LABELS
    from segmenter_torch import make_upernet, save_folder

    encoder, decoder = make_upernet((4, 4, 8), (3, 4, 6, 3), (2, 4, 4, 8), 8, 4, TINY_CLASSES)
    save_folder(tmp_path / "upernet", encoder, decoder, TINY_LABELS, epoch=40)
    state = decoder.state_dict()
    del state["conv_fusion.1.running_var"]
    state["fpn_out.1.0.0.weight"] = torch.zeros(8, 8, 1, 1)
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "upernet" / "decoder_epoch_41.pth")
    torch.save(encoder.state_dict(), tmp_path / "upernet" / "encoder_epoch_41.pth")
    line = error_line(run(["convert", "upernet", "u", "--arch", "upernet50"], tmp_path),
                      "convert")
    assert "1 missing: decoder.conv_fusion.1.running_var" in line
    assert "1 unexpected: decoder.extra.weight" in line
    assert "decoder.fpn_out.1.0.0.weight [8, 8, 1, 1] (expected [8, 8, 3, 3])" in line
    assert sorted(os.listdir(tmp_path)) == ["upernet"]


def test_convert_failed_segmenter_folders_in_process(tmp_path, capsys):
    """The other segmenter failures through the command's own code, without a new process
    (the subprocess case above covers the process boundary)."""
    sys.path.insert(0, str(Path(__file__).parent / "parity"))
    from segmenter_labels import TINY_COLOR_LABELS
    from segmenter_torch import make_colornet, save_folder

    from jaxdissect import cli

    encoder, decoder = make_colornet((4, 4, 8), (4, 4, 8, 8), 4, 4, 12)
    few = {**TINY_COLOR_LABELS, "labels": TINY_COLOR_LABELS["labels"][:8]}
    folder = save_folder(tmp_path / "colour", encoder, decoder, few, epoch=20)
    for arch, message in [("colorseg", "names 8 colour classes but the checkpoint has 12"),
                          ("upernet50", "is this the right segmenter folder and --arch?")]:
        assert cli.main(["convert", str(folder), str(tmp_path / "c"), "--arch", arch]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxdissect convert: error: "), lines
        assert message in lines[0]
    assert not (tmp_path / "c").exists()
