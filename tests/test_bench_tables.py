"""The README's benchmark figures are the ones the benchmarks recorded (bench/readme_tables.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import readme_tables  # noqa: E402

RECORD = {"images": 3, "record": {"command": "python bench/bench_x.py --quick",
                                  "date": "2026-01-02", "machine": "2 x86_64 cores, no GPU",
                                  "load_average": "1.0 -> 2.0"},
          "readme": {"table": "| a | b |\n|---|---|\n| 1 | 2 |", "notes": ["It is 3x faster."]}}


def test_every_readme_section_matches_its_record():
    text = (ROOT / "README.md").read_text()
    for name in readme_tables.sections(text):
        assert (ROOT / "bench" / "results" / f"{name}.json").is_file(), name
    assert readme_tables.regenerate(text) == text, \
        "README figures differ from bench/results/: run python bench/readme_tables.py"


def test_records_name_no_folder_of_the_machine_they_ran_on():
    """A record is committed: the files it names are relative to the repository."""
    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    for path in (ROOT / "bench" / "results").glob("*.json"):
        absolute = [s for s in strings(json.loads(path.read_text())) if s.startswith("/")]
        assert not absolute, (path.name, absolute[:3])


def test_a_section_is_rewritten_from_its_record(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps(RECORD))
    text = "intro\n<!-- bench: x -->\nold figures\n<!-- /bench -->\nafter\n"
    new = readme_tables.regenerate(text, tmp_path)
    assert new.startswith("intro\n<!-- bench: x -->\nMeasured with `python bench/bench_x.py "
                          "--quick` on 2026-01-02 (2 x86_64 cores, no GPU; load average "
                          "1.0 -> 2.0)")
    assert "| 1 | 2 |" in new and "- It is 3x faster.\n<!-- /bench -->\nafter\n" in new
    assert "old figures" not in new
    assert readme_tables.regenerate(new, tmp_path) == new


def test_a_missing_record_names_the_command(tmp_path):
    with pytest.raises(SystemExit, match="--record y"):
        readme_tables.regenerate("<!-- bench: y -->\n<!-- /bench -->\n", tmp_path)


def test_check_mode_through_the_command(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps(RECORD))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench: x -->\nstale\n<!-- /bench -->\n")
    command = [sys.executable, str(ROOT / "bench" / "readme_tables.py"), "--readme", str(readme),
               "--results", str(tmp_path)]
    done = subprocess.run([*command, "--check"], capture_output=True, text=True)
    assert done.returncode == 1 and "out of date" in done.stdout
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert "It is 3x faster." in readme.read_text()
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 0
