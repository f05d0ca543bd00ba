"""Fixed-size padded and masked batches, decoded in parallel and prefetched, split over hosts.

``batches(source, B)`` yields dicts of host numpy arrays with B rows: the source's fields
(``image`` (B, H, W, 3) uint8, ``label``, ``seg``, ``z`` ...), ``index`` (B,) int64 dataset
indices and ``mask`` (B,) bool. Global batch k holds dataset rows ``k*B .. k*B+B-1``; the last
one is padded to B with zero rows (index 0, mask False). Rows that could not be read keep
their index and have mask False (see :mod:`jaxdissect.data.skipped`).

Multi-host: with P processes, process p reads only rows ``p*B/P .. (p+1)*B/P`` of every global
batch, so concatenating the hosts' batches gives the single-host batch (B must be a multiple of
P). The defaults come from ``jax.process_index()`` / ``jax.process_count()``.

Rows of a batch are decoded by a pool of ``num_workers`` threads while a producer thread keeps
up to ``prefetch`` finished batches ahead of the consumer, so decoding overlaps device work.
The order of rows and batches never depends on ``num_workers`` or ``prefetch``. The returned
:class:`Batches` is re-iterable (each pass starts a fresh pipeline) and has a ``len()``.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jaxdissect.data.source import RowSource

_END = object()


def default_workers() -> int:
    """Decoding threads used when ``num_workers`` is not given: one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def _process_defaults(index: int | None, count: int | None) -> tuple[int, int]:
    if index is None or count is None:
        import jax

        index = jax.process_index() if index is None else index
        count = jax.process_count() if count is None else count
    return int(index), int(count)


class Batches:
    """A re-iterable sequence of batches; see the module docstring and :func:`batches`."""

    def __init__(self, source: RowSource, batch_size: int, *, process_index: int | None = None,
                 process_count: int | None = None, num_workers: int | None = None,
                 prefetch: int = 2):
        index, count = _process_defaults(process_index, process_count)
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size}: must be positive")
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"process_index={index} is not in [0, process_count={count})")
        if batch_size % count:
            raise ValueError(f"global batch size {batch_size} does not split over {count} "
                             f"processes; choose a multiple of {count}")
        if prefetch < 0:
            raise ValueError(f"prefetch={prefetch}: must be >= 0 (0 decodes on demand)")
        if len(source) == 0:
            raise ValueError(f"{source.description}: no rows to batch")
        self.source, self.batch_size = source, int(batch_size)
        self.process_index, self.process_count = index, count
        self.num_workers = default_workers() if num_workers is None else int(num_workers)
        self.prefetch = int(prefetch)

    @property
    def local_batch_size(self) -> int:
        """Rows per batch on this process: ``batch_size / process_count``."""
        return self.batch_size // self.process_count

    def __len__(self) -> int:
        return math.ceil(len(self.source) / self.batch_size)

    def host_rows(self, batch_number: int) -> range:
        """Dataset rows of this process's share of global batch ``batch_number`` (may run past
        the end of the data; those rows are padding)."""
        start = batch_number * self.batch_size + self.process_index * self.local_batch_size
        return range(start, start + self.local_batch_size)

    def make_batch(self, batch_number: int, executor=None) -> dict[str, np.ndarray]:
        """This process's rows of global batch ``batch_number``, padded and masked."""
        rows = [i for i in self.host_rows(batch_number) if i < len(self.source)]
        arrays, valid = self.source.read_batch(rows, executor)
        size, real = self.local_batch_size, len(rows)
        batch = {}
        for name, field in self.source.fields.items():
            # Not sharding.pad_rows: the field, not the rows read, gives shape and dtype (a
            # process's share of the last batch may hold no row at all), and failed rows are
            # masked too; the rows are written into the field's zeros.
            padded = field.zeros(size)
            padded[:real] = arrays[name]
            batch[name] = padded
        batch["index"] = np.zeros(size, np.int64)
        batch["index"][:real] = rows
        batch["mask"] = np.zeros(size, bool)
        batch["mask"][:real] = valid
        return batch

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        executor = ThreadPoolExecutor(self.num_workers) if self.num_workers > 0 else None
        try:
            if self.prefetch == 0:
                for number in range(len(self)):
                    yield self.make_batch(number, executor)
            else:
                yield from self._prefetched(executor)
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _prefetched(self, executor) -> Iterator[dict[str, np.ndarray]]:
        ready: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def put(item) -> None:
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.05)
                    return
                except queue.Full:
                    continue

        def produce() -> None:
            try:
                for number in range(len(self)):
                    if stop.is_set():
                        return
                    put(self.make_batch(number, executor))
                put(_END)
            except BaseException as err:  # noqa: BLE001 - handed to the consumer thread
                put(err)

        producer = threading.Thread(target=produce, name="jaxdissect-batches", daemon=True)
        producer.start()
        try:
            while (item := ready.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            producer.join()


def batches(source: RowSource, batch_size: int, *, process_index: int | None = None,
            process_count: int | None = None, num_workers: int | None = None,
            prefetch: int = 2) -> Batches:
    """Padded, masked batches of ``source`` with global batch size ``batch_size``.

    Returns a re-iterable :class:`Batches`; each batch is a dict of numpy arrays with
    ``batch_size / process_count`` rows: the source's fields, ``index`` (int64) and ``mask``
    (bool). ``num_workers`` decoding threads (default: one per core, at most 8; 0 decodes in the
    producer thread), ``prefetch`` batches decoded ahead (0: decode on demand, no thread).
    """
    return Batches(source, batch_size, process_index=process_index,
                   process_count=process_count, num_workers=num_workers, prefetch=prefetch)
