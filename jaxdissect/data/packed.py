"""Packed cache: decode a source once into ``.npy`` arrays, memory-map them on later runs.

``cached(source, cache_dir)`` returns a :class:`PackedSource` with the same rows, fields and
dataset indices as ``source``, building ``cache_dir/<key>/`` on first use. Format: one
``np.lib.format.open_memmap`` file per field (rows of fixed shape, so a batch is one
fancy-indexed read of a memory map, no per-record deserialisation, and the OS page cache
serves repeated passes; ArrayRecord would add a serialise/parse step per row for nothing),
``valid.npy`` (rows that could be read), ``names.json`` and ``meta.json``.

Keys: ``key`` hashes the source's ``identity()`` (files with sizes and mtimes, or the tfds
name/version/split; the preprocessing settings) and the field layout, and ``meta.json`` stores
the identity. A changed file or setting gives a new key, so a stale cache is never read; the
stored identity is checked again on open, so a mismatch is a clear error.

Atomic writes: the arrays are written into ``cache_dir/.partial-<key>-...`` and renamed to
``cache_dir/<key>`` only after every file (``meta.json`` last) is flushed. A crash leaves at most
a ``.partial-*`` folder, which is never read and may be deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from jaxdissect.data.batching import batches
from jaxdissect.data.skipped import BadDataWarning, BadRecordError
from jaxdissect.data.source import Field, RowSource

CACHE_FORMAT = 1


def cache_key(source: RowSource) -> str:
    """Hex key of the source's identity and field layout."""
    described = {"format": CACHE_FORMAT, "identity": source.identity(),
                 "fields": {k: f.as_dict() for k, f in source.fields.items()}}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


class PackedSource(RowSource):
    """The rows of a packed cache folder, memory-mapped; ``strict`` as for other sources.

    Opened directly, the folder is trusted; :func:`cached` also checks it matches a source.
    """

    def __init__(self, folder: str | os.PathLike, *, strict: bool = False):
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a complete packed cache (no meta.json)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError(f"{self.folder}: cache format {meta.get('format')}, this version "
                             f"reads {CACHE_FORMAT}; delete the folder to rebuild it")
        self.meta, self.strict = meta, strict
        self.num_rows = int(meta["num_rows"])
        self.fields = {k: Field(tuple(f["shape"]), f["dtype"], f["stored_as"])
                       for k, f in meta["fields"].items()}
        self.arrays = {k: np.load(self.folder / f"{k}.npy", mmap_mode="r") for k in self.fields}
        self.valid = np.load(self.folder / "valid.npy")
        self.names = json.loads((self.folder / "names.json").read_text())
        for name, array in {**self.arrays, "valid": self.valid}.items():
            if len(array) != self.num_rows:
                raise ValueError(f"{self.folder}/{name}.npy has {len(array)} rows, meta.json "
                                 f"says {self.num_rows}; delete the folder to rebuild it")
        self.description = f"packed cache of {meta['description']}"
        self._restore_skipped(meta["skipped"])

    def _restore_skipped(self, skipped: list[dict]) -> None:
        for entry in skipped:
            self.summary.record(entry["index"], entry["name"], entry["reason"], warn=False)
        if skipped:
            names = ", ".join(e["name"] for e in skipped[:5])
            warnings.warn(f"{len(skipped)} row(s) of {self.meta['description']} were unreadable "
                          f"when packed and are masked out: {names}{' ...' * (len(skipped) > 5)}",
                          BadDataWarning, stacklevel=3)

    def __len__(self) -> int:
        return self.num_rows

    def row_name(self, index: int) -> str:
        return self.names[index]

    def identity(self) -> dict:
        return self.meta["identity"]

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        if not self.valid[index]:
            raise BadRecordError(self.names[index], self._reason(index))
        return {k: np.asarray(a[index], self.fields[k].dtype) for k, a in self.arrays.items()}

    def _reason(self, index: int) -> str:
        reasons = {e["index"]: e["reason"] for e in self.meta["skipped"]}
        return reasons.get(index, "unreadable when packed")

    def read_batch(self, indices: Sequence[int], executor: Executor | None = None):
        """One vectorised read per field (the executor is not needed)."""
        rows = np.asarray(indices, np.int64)
        valid = self.valid[rows].copy() if rows.size else np.zeros(0, bool)
        if self.strict and not valid.all():
            bad = int(rows[~valid][0])
            raise BadRecordError(self.names[bad], f"{self._reason(bad)} (strict run)")
        arrays = {k: np.asarray(a[rows], self.fields[k].dtype) for k, a in self.arrays.items()}
        return arrays, valid


def cached(source: RowSource, cache_dir: str | os.PathLike, *, batch_size: int = 64,
           num_workers: int | None = None) -> PackedSource:
    """The packed cache of ``source`` under ``cache_dir``, decoded now if not there yet."""
    cache_dir = Path(cache_dir).expanduser().absolute()
    key = cache_key(source)
    folder = cache_dir / key
    if not (folder / "meta.json").is_file():
        _pack(source, cache_dir, key, batch_size, num_workers)
    packed = PackedSource(folder, strict=source.strict)
    if packed.identity() != source.identity():
        raise ValueError(f"packed cache {folder} was built from another source (key collision or "
                         "an edited meta.json); delete the folder to rebuild it")
    return packed


def _pack(source, cache_dir: Path, key: str, batch_size: int, num_workers) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".partial-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        _write_arrays(source, partial, batch_size, num_workers)
        meta = {"format": CACHE_FORMAT, "key": key, "description": source.description,
                "identity": source.identity(), "num_rows": len(source),
                "fields": {k: f.as_dict() for k, f in source.fields.items()},
                "skipped": source.summary.as_dict()["skipped"]}
        _write_synced(partial / "names.json", json.dumps(
            [source.row_name(i) for i in range(len(source))]))
        _write_synced(partial / "meta.json", json.dumps(meta, indent=1))
        try:
            os.rename(partial, cache_dir / key)
        except OSError:
            if not (cache_dir / key / "meta.json").is_file():
                raise
            shutil.rmtree(partial)  # another process finished the same cache first
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _write_arrays(source: RowSource, folder: Path, batch_size: int, num_workers) -> None:
    n = len(source)
    arrays = {k: np.lib.format.open_memmap(folder / f"{k}.npy", mode="w+",
                                           dtype=np.dtype(f.stored_as or f.dtype),
                                           shape=(n, *f.shape))
              for k, f in source.fields.items()}
    valid = np.zeros(n, bool)
    for number, batch in enumerate(batches(source, batch_size, process_index=0,
                                           process_count=1, num_workers=num_workers)):
        start = number * batch_size
        real = min(batch_size, n - start)
        for k, array in arrays.items():
            array[start : start + real] = batch[k][:real]
        valid[start : start + real] = batch["mask"][:real]
    for k, array in arrays.items():
        array.flush()
        _fsync(folder / f"{k}.npy")
    del arrays
    np.save(folder / "valid.npy", valid)
    _fsync(folder / "valid.npy")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
