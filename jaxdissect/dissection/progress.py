"""Progress of a dissection's passes on stderr: a bar in a terminal, plain lines in a log.

* In a terminal (the stream is a TTY): a tqdm bar per pass with images done, rate and time
  left.
* Otherwise (a log file, a pipe): one plain line every ``JAXDISSECT_PROGRESS_SECONDS``
  seconds (default 10) and one when the pass ends, never a carriage return:
  ``pass 0 (model): 3,776/10,000 images, 120.5 images/s, 0:31 elapsed, 0:52 left``.

The rate and the time left are measured from the end of a pass's first batch, so the
compilation of its steps does not count. Totals are valid images, not padded rows. The
passes are named as the README names them: ``pass 0 (model)``, ``threshold pass 1``,
``threshold pass 2``, ``intersection pass``. Only process 0 of a multi-host run prints;
``Progress(enabled=False)`` prints nothing.
"""

from __future__ import annotations

import os
import sys
import time

import jax

INTERVAL_VARIABLE = "JAXDISSECT_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 10.0


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _interval() -> float:
    text = os.environ.get(INTERVAL_VARIABLE)
    try:
        return DEFAULT_INTERVAL if text is None else max(float(text), 0.0)
    except ValueError:
        return DEFAULT_INTERVAL


class Progress:
    """Call :meth:`start` at the beginning of a pass, :meth:`advance` per batch, :meth:`end`.

    ``terminal``: draw a bar (default: when ``stream`` is a TTY); ``min_interval``: seconds
    between plain lines (default: ``JAXDISSECT_PROGRESS_SECONDS`` or 10)."""

    def __init__(self, enabled: bool = True, stream=None, min_interval: float | None = None,
                 terminal: bool | None = None):
        self.enabled = enabled and jax.process_index() == 0
        self.stream = stream or sys.stderr
        self.min_interval = _interval() if min_interval is None else min_interval
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.terminal = bool(isatty()) if terminal is None else terminal
        self._label, self._total, self._done = "", None, 0
        self._start = self._last_print = 0.0
        self._measured_from: tuple[float, int] | None = None  # (time, images) after batch 1
        self._bar = None

    def start(self, label: str, total_images: int | None, done: int = 0) -> None:
        """A new pass of ``total_images`` valid images, ``done`` of them already (resumed)."""
        self._close_bar()
        self._label, self._total, self._done = label, total_images, int(done)
        self._start = self._last_print = time.perf_counter()
        self._measured_from = None
        if self.enabled and self.terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=total_images, initial=self._done, desc=label, unit=" images",
                             file=self.stream, leave=False, dynamic_ncols=True,
                             bar_format="{desc}: {n_fmt}/{total_fmt} images, compiling",
                             mininterval=0.2)

    def advance(self, images: int) -> None:
        self._done += int(images)
        now = time.perf_counter()
        if self._measured_from is None:  # the first batch carried the compilation
            self._measured_from = (now, self._done)
            if self._bar is not None:
                self._new_bar()
            return
        if self._bar is not None:
            self._bar.update(int(images))
        elif now - self._last_print >= self.min_interval:
            self._last_print = now
            self._write(self.line(now))

    def end(self) -> None:
        """The pass is over: every valid image has been seen."""
        if self._total is not None:
            self._total = self._done  # a total given in rows would count the padding
        self._close_bar()
        self._write(self.line(time.perf_counter(), final=True))

    def note(self, text: str) -> None:
        """One line of text between passes (e.g. where a resumed run continues)."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self._write(text)

    def rate(self, now: float) -> float | None:
        """Images per second since the end of the first batch (None before the second)."""
        if self._measured_from is None:
            return None
        since, images = self._measured_from
        return (self._done - images) / max(now - since, 1e-9) if now > since else None

    def line(self, now: float, final: bool = False) -> str:
        elapsed = now - self._start
        text = f"{self._label}: {self._done:,}"
        if self._total:
            text += f"/{self._total:,}"
        text += " images"
        rate = self.rate(now)
        if rate:
            text += f", {rate:,.1f} images/s"
        text += f", {_clock(elapsed)} elapsed"
        if self._total and rate and not final:
            text += f", {_clock((self._total - self._done) / rate)} left"
        return text

    def _new_bar(self) -> None:
        from tqdm import tqdm

        self._bar.close()
        # A fresh bar whose clock starts now: tqdm's rate is (n - initial) / elapsed.
        self._bar = tqdm(total=self._total, initial=self._done, desc=self._label,
                         unit=" images", unit_scale=False, file=self.stream, leave=False,
                         dynamic_ncols=True, mininterval=0.2, smoothing=0.1)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _write(self, text: str) -> None:
        if self.enabled:
            self.stream.write(text + "\n")
            self.stream.flush()
