"""Tests for jaxdissect/cli.py: every sub-command exists and explains itself, bad options are
one-line errors with a non-zero exit, and ``jaxdissect dissect`` runs end to end."""

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from jaxdissect import cli


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_listed_command_module_exists_and_registers_one_command():
    for name in cli.COMMANDS:
        assert importlib.util.find_spec(f"jaxdissect.commands.{name}"), name
    assert len(subcommands()) == len(cli.COMMANDS)


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in subcommands():
        assert name in text
    assert cli.main([]) == 2  # no command: the help, and a failing exit


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_help_works(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: jaxdissect {name}" in capsys.readouterr().out


def test_dissect_help_explains_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["dissect", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--model", "--data", "--out", "--layers", "--preset", "--segmenter",
                   "--quantile", "--miniou", "--topk", "--batch-size", "--devices", "--dtype",
                   "--cache-dir", "--limit", "--no-progress", "--force"):
        assert option in text
    for default in ("default: pnas2020", "default: data", "default: float32", "0.01", "0.04",
                    "default: all", "default: 32"):
        assert default in text, default


def test_the_installed_entry_point_module_runs():
    done = subprocess.run([sys.executable, "-m", "jaxdissect.cli", "dissect", "--help"],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0 and "--segmenter" in done.stdout


def run_error(argv, capsys) -> str:
    assert cli.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("extra, message", [
    (["--layers", "conv9"], "unknown layer(s) ['conv9']"),
    (["--layers", "conv9"], "dissectable layers are: conv1_1, conv1_2"),
    (["--batch-size", "12"], "batch size 12 is not a multiple of the 8 devices"),
    (["--data", "photos:/x"], "unknown scheme 'photos'"),
    (["--data", "latents:8"], "holds no images"),
    (["--segmenter", "nowhere"], "segmenter folder nowhere not found"),
    (["--data", "latents:8", "--model", "world:generator"], "generated images have no segm"),
    (["--model", "missing-folder"], "model folder missing-folder not found"),
    (["--quantile", "2"], "quantile=2.0: the top fraction q must be in (0, 1)"),
    (["--data-option", "size"], "expected KEY=VALUE"),
    (["--color-none-concept"], "--color-none-concept goes with --colornet"),
])
def test_dissect_errors_are_one_line_and_come_before_any_output(extra, message, tmp_path,
                                                                 capsys):
    out = tmp_path / "out"
    argv = ["dissect", "--model", "world:classifier", "--data", "world:16", "--out", str(out),
            "--no-progress", *extra]
    line = run_error(argv, capsys)
    assert line.startswith("jaxdissect dissect: error: ") and message in line
    assert not out.exists()


def test_argparse_errors_exit_non_zero_with_the_error_last(capsys):
    for argv in (["dissect", "--model", "m"], ["dissect", "--frobnicate"], ["nonsense"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith("jaxdissect")


def test_dissect_runs_end_to_end_and_prints_a_summary(tmp_path, capsys):
    argv = ["dissect", "--model", "world:classifier", "--data", "world:200", "--limit", "24",
            "--out", str(tmp_path), "--batch-size", "8", "--topk", "5", "--no-progress"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    folder = (tmp_path / "latest").resolve()
    assert "conv4_2: " in out and "/96 units interpretable" in out and "best: unit" in out
    assert f"report: {folder / 'index.html'}" in out
    assert (folder / "conv4_2" / "image" / "unit0.jpg").is_file()
    assert cli.main(argv) == 0
    assert "finished earlier" in capsys.readouterr().out


def test_convert_summary_keeps_long_size_entries_short():
    from jaxdissect.commands.convert import describe_sizes

    text = describe_sizes({"num_classes": 365, "labels": {"object": list(range(336))},
                           "ignored": [f"k{i}" for i in range(40)], "widths": [64, 128]})
    assert text == "num_classes=365, labels=<1 entries>, ignored=<40 entries>, widths=[64, 128]"


def test_data_options_are_typed():
    from jaxdissect.commands.dissect import parse_data_options

    options = parse_data_options(["strict=false", "resize=256", "scale=0.5", "split=val", "s=True"])
    assert options == {"strict": False, "resize": 256, "scale": 0.5, "split": "val", "s": True}
    assert options["strict"] is False
