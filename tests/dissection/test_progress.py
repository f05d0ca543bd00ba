"""Tests for jaxdissect/dissection/progress.py (the command line's output is tested in
tests/runs/test_run_resume.py)."""

import io

from jaxdissect.dissection.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_measure_the_rate_after_the_first_batch():
    stream = io.StringIO()
    progress = Progress(stream=stream, min_interval=0.0)
    assert not progress.terminal
    progress.start("pass 0 (model)", total_images=1000)
    progress.advance(100)  # the first batch (compilation): no line, the clock starts here
    progress._measured_from = (progress._measured_from[0] - 10.0, 100)  # 10 s later:
    progress.advance(250)
    progress.end()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("pass 0 (model): 350/1,000 images, 25.0 images/s")
    assert lines[0].endswith("0:26 left")  # 650 images at 25 images/s
    assert lines[-1].startswith("pass 0 (model): 350/350 images")  # the images seen
    assert "left" not in lines[-1]


def test_unknown_total_resumed_count_and_disabled():
    stream = io.StringIO()
    progress = Progress(stream=stream, min_interval=0.0)
    progress.start("threshold pass 1", None, done=40)
    progress.advance(5)
    progress.advance(5)
    assert "left" not in stream.getvalue()
    assert "threshold pass 1: 50 images" in stream.getvalue()
    quiet = io.StringIO()
    off = Progress(enabled=False, stream=quiet)
    off.start("x", 3)
    off.advance(3)
    off.note("a note")
    off.end()
    assert quiet.getvalue() == ""


def test_a_terminal_gets_a_bar_with_rate_and_time_left():
    stream = Terminal()
    progress = Progress(stream=stream)
    assert progress.terminal
    progress.start("intersection pass", total_images=64)
    assert "compiling" in stream.getvalue()
    for _ in range(8):
        progress.advance(8)
    assert progress._bar.n == 64 and progress._bar.initial == 8
    progress.end()
    text = stream.getvalue()
    assert "images/s" in text and "intersection pass" in text and "\r" in text
    assert text.rstrip().endswith("elapsed") and "64/64 images" in text.splitlines()[-1]


def test_log_lines_every_10_seconds_unless_told(monkeypatch):
    monkeypatch.delenv("JAXDISSECT_PROGRESS_SECONDS", raising=False)
    assert Progress(stream=io.StringIO()).min_interval == 10.0
    monkeypatch.setenv("JAXDISSECT_PROGRESS_SECONDS", "2.5")
    assert Progress(stream=io.StringIO()).min_interval == 2.5
