"""The random-access source protocol every input pipeline implements.

A source has ``len(source)`` rows of fixed shapes (:attr:`RowSource.fields`); row ``i`` is
read by ``source.read_row(i)``, which raises :class:`BadRecordError` when the data itself is
bad (truncated file, wrong size). :meth:`RowSource.load` turns such a row into ``None`` (and a
warning and a :class:`DataSummary` entry), or stops a ``strict`` run. :meth:`RowSource.read_batch`
fills whole batches, in parallel threads when given an executor (PIL releases the GIL while it
decodes and resamples, so threads scale).

``identity()`` is a JSON-ready description of exactly what the rows contain (files with sizes
and modification times, data set versions, preprocessing settings): the packed cache keys on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from jaxdissect.data.skipped import BadRecordError, DataSummary


@dataclass(frozen=True)
class Field:
    """Shape (without the batch axis) and dtype of one array of every row.

    ``stored_as``: a smaller dtype that holds every value losslessly, used by the packed cache
    (Broden label numbers are ``red + 256 * green`` < 2**16: int32 in batches, uint16 on disk).
    """

    shape: tuple[int, ...]
    dtype: str
    stored_as: str | None = None

    def zeros(self, rows: int) -> np.ndarray:
        return np.zeros((rows, *self.shape), np.dtype(self.dtype))

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "stored_as": self.stored_as}


class RowSource:
    """Base class: subclasses set ``fields`` and implement ``__len__``, ``row_name``,
    ``read_row`` and ``identity``; ``strict=True`` stops at the first unreadable row."""

    fields: dict[str, Field]
    strict: bool = False
    description: str = "data"

    def __len__(self) -> int:
        raise NotImplementedError

    def row_name(self, index: int) -> str:
        """A human-readable name for row ``index`` (file path, record id)."""
        raise NotImplementedError

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        """Row ``index`` as arrays matching ``fields``; raises BadRecordError for bad data."""
        raise NotImplementedError

    def identity(self) -> dict:
        """JSON-ready description of the rows' content (cache key)."""
        raise NotImplementedError

    @property
    def summary(self) -> DataSummary:
        """The rows skipped so far (filled as rows are read)."""
        if getattr(self, "_summary", None) is None:
            self._summary = DataSummary(self.description, len(self))
        return self._summary

    def report(self) -> DataSummary:
        """Same as :attr:`summary`: what was skipped and why."""
        return self.summary

    def load(self, index: int) -> dict[str, np.ndarray] | None:
        """Row ``index``, or None when it is unreadable (named in a warning and the summary).

        With ``strict=True`` an unreadable row raises :class:`BadRecordError` naming it.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} is out of range for {len(self)} rows")
        try:
            row = self.read_row(index)
            check_row(row, self.fields, self.row_name(index))
        except BadRecordError as err:
            if self.strict:
                raise BadRecordError(err.name, f"{err.reason} (strict run)") from err
            self.summary.record(index, err.name, err.reason)
            return None
        return row

    def read_batch(
        self, indices: Sequence[int], executor: Executor | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rows ``indices`` stacked: ``({name: (n, *shape)}, valid (n,) bool)``.

        Unreadable rows are zeros with ``valid`` False. With an executor the rows are
        decoded in parallel; the result does not depend on the number of workers.
        """
        indices = [int(i) for i in indices]
        arrays = {name: field.zeros(len(indices)) for name, field in self.fields.items()}
        valid = np.zeros(len(indices), bool)

        def fill(position: int) -> None:
            row = self.load(indices[position])
            if row is None:
                return
            for name in arrays:
                arrays[name][position] = row[name]
            valid[position] = True

        if executor is None or len(indices) < 2:
            for position in range(len(indices)):
                fill(position)
        else:
            list(executor.map(fill, range(len(indices))))
        return arrays, valid


def check_row(row: dict[str, np.ndarray], fields: dict[str, Field], row_name: str) -> None:
    """Raise BadRecordError when a decoded row lacks a field or has another shape."""
    for name, field in fields.items():
        if name not in row:
            raise BadRecordError(row_name, f"no {name!r} in the decoded row")
        shape = tuple(np.shape(row[name]))
        if shape != field.shape:
            raise BadRecordError(row_name, f"{name} has shape {shape}, expected {field.shape}")


class FirstRows(RowSource):
    """The first ``limit`` rows of ``source`` (all of them when it has fewer)."""

    def __init__(self, source: RowSource, limit: int):
        if int(limit) < 1:
            raise ValueError(f"limit={limit}: keep at least one row")
        self.source, self.limit = source, min(int(limit), len(source))
        self.fields, self.strict = source.fields, source.strict
        self.description = f"the first {self.limit} rows of {source.description}"
        self.classes = getattr(source, "classes", None)

    def __len__(self) -> int:
        return self.limit

    def row_name(self, index: int) -> str:
        return self.source.row_name(index)

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        return self.source.read_row(index)

    def read_batch(self, indices, executor=None):
        if len(indices) and max(indices) >= self.limit:
            raise IndexError(f"row {max(indices)} is beyond the limit of {self.limit} rows")
        return self.source.read_batch(indices, executor)

    def identity(self) -> dict:
        return {"kind": "first_rows", "rows": self.limit, "of": self.source.identity()}

    def vocabulary(self):
        return self.source.vocabulary()

    @property
    def summary(self):
        return self.source.summary
