"""Tests for jaxdissect/dissection/progress.py."""

import io

from jaxdissect.dissection.progress import Progress


def test_rate_and_time_left():
    stream = io.StringIO()
    progress = Progress(stream=stream, min_interval=0.0)
    progress.start("pass 1", total_images=1000)
    progress._start -= 10.0  # as if 10 s had passed
    progress.advance(250)
    progress.end()
    text = stream.getvalue()
    assert "pass 1: 250/1000 images" in text
    assert "25.0 images/s" in text and "0:30 left" in text
    assert text.endswith("\n")


def test_unknown_total_and_disabled():
    stream = io.StringIO()
    progress = Progress(stream=stream, min_interval=0.0)
    progress.start("pass 2", None)
    progress.advance(5)
    assert "left" not in stream.getvalue() and "pass 2: 5 images" in stream.getvalue()
    quiet = io.StringIO()
    off = Progress(enabled=False, stream=quiet)
    off.start("x", 3)
    off.advance(3)
    off.end()
    assert quiet.getvalue() == ""


def test_final_line_counts_the_images_seen_not_the_padded_rows():
    stream = io.StringIO()
    progress = Progress(stream=stream, min_interval=3600.0)
    progress.start("pass 1", total_images=2048)  # 64 batches of 32 rows, the last one padded
    progress.advance(2000)
    progress.end()
    assert stream.getvalue().splitlines()[-1].lstrip("\r").startswith("pass 1: 2000/2000 images")
