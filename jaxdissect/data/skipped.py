"""What a data source skipped, and why: the ``DataSummary`` every source keeps.

An unreadable row (a truncated JPEG, a text file named ``.png``, a label map of the wrong size)
never stops a run unless the source is ``strict``: it is named in a :class:`BadDataWarning`,
recorded here once, and its row is masked out of every batch. Its dataset index stays
reserved, so indices (and the top-k images found through them) keep meaning the same file.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import asdict, dataclass


class BadDataWarning(UserWarning):
    """A data row could not be read and is skipped (masked out)."""


class BadRecordError(ValueError):
    """A data row could not be read, in a ``strict`` run (or before the source was strict)."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"cannot read {name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class SkippedRecord:
    """One skipped row: its dataset index, its name (file path or record id) and the error."""

    index: int
    name: str
    reason: str


class DataSummary:
    """Thread-safe record of the rows a source skipped; ``str()`` gives a short report."""

    def __init__(self, source: str, num_rows: int):
        self.source = source
        self.num_rows = int(num_rows)
        self._skipped: dict[int, SkippedRecord] = {}
        self._lock = threading.Lock()

    def record(self, index: int, name: str, reason: str, *, warn: bool = True) -> None:
        """Note a skipped row; the first time only, warn naming it."""
        with self._lock:
            if index in self._skipped:
                return
            self._skipped[index] = SkippedRecord(int(index), name, reason)
        if warn:
            warnings.warn(
                f"skipping unreadable row {index} ({name}): {reason}; it is masked out "
                "(to stop instead: --data-option strict=true on the command line, "
                "strict=True in Python)",
                BadDataWarning,
                stacklevel=3,
            )

    @property
    def skipped(self) -> list[SkippedRecord]:
        """The skipped rows seen so far, by dataset index."""
        with self._lock:
            return [self._skipped[i] for i in sorted(self._skipped)]

    @property
    def num_skipped(self) -> int:
        with self._lock:
            return len(self._skipped)

    def as_dict(self) -> dict:
        """JSON-ready: source, num_rows, num_skipped, skipped [{index, name, reason}]."""
        skipped = self.skipped
        return {
            "source": self.source,
            "num_rows": self.num_rows,
            "num_skipped": len(skipped),
            "skipped": [asdict(s) for s in skipped],
        }

    def __str__(self) -> str:
        skipped = self.skipped
        lines = [f"{self.source}: {self.num_rows} rows, {len(skipped)} skipped"]
        lines += [f"  row {s.index}: {s.name}: {s.reason}" for s in skipped]
        return "\n".join(lines)
