"""A one-line progress display on stderr: pass, images done, images/s and time left.

Only process 0 of a multi-host run prints. ``Progress(enabled=False)`` prints nothing.
"""

from __future__ import annotations

import sys
import time

import jax


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Call :meth:`start` at the beginning of a pass, :meth:`advance` per batch, :meth:`end`."""

    def __init__(self, enabled: bool = True, stream=None, min_interval: float = 0.5):
        self.enabled = enabled and jax.process_index() == 0
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self._label, self._total, self._done = "", None, 0
        self._start = self._last_print = 0.0

    def start(self, label: str, total_images: int | None) -> None:
        self._label, self._total, self._done = label, total_images, 0
        self._start = time.perf_counter()
        self._last_print = 0.0

    def advance(self, images: int) -> None:
        self._done += int(images)
        now = time.perf_counter()
        if now - self._last_print >= self.min_interval:
            self._last_print = now
            self._print(now, end="")

    def end(self) -> None:
        # The announced total counts padded rows; at the end every valid image has been seen.
        if self._total is not None:
            self._total = self._done
        self._print(time.perf_counter(), end="\n")

    def line(self, now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self._done / elapsed
        text = f"{self._label}: {self._done}"
        if self._total:
            text += f"/{self._total}"
        text += f" images, {rate:.1f} images/s, {_clock(elapsed)} elapsed"
        if self._total and rate > 0:
            text += f", {_clock((self._total - self._done) / rate)} left"
        return text

    def _print(self, now: float, end: str) -> None:
        if self.enabled:
            self.stream.write("\r" + self.line(now).ljust(78) + end)
            self.stream.flush()
