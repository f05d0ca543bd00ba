"""The activation cache: the first pass's outputs, replayed by the later passes.

The model and the segmenter run once per image. Their outputs (raw low-resolution activations in
their own dtype, segmentations, masks and indices: everything the later passes need) are kept as
batches of host arrays, in memory up to ``memory_bound_bytes`` and in raw files under
``cache_dir`` beyond it (read back as read-only memory maps). Without a ``cache_dir`` a run that
outgrows the bound stops with an error that says how to fix it.

A *persistent* cache (for resuming, see :mod:`jaxdissect.dissection.resume`) writes every batch
straight to fixed file names in ``cache_dir``, keeps them on :meth:`close`, and can be
reopened at a given number of batches with :meth:`ActivationCache.reopen`.

Every batch must have the same keys, shapes and dtypes (fixed-size padded batches). Keys are
``"/"``-separated paths such as ``"acts/conv5_3"`` (a ``"/"`` inside a name, as in the module
path ``"backbone/block2"``, is escaped); :meth:`ActivationCache.__iter__` returns nested dicts
again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from jaxdissect.outputs import naming


def _readable(nbytes: float) -> str:
    unit = "B"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024:
            break
        nbytes, unit = nbytes / 1024, larger
    return f"{nbytes:.1f} {unit}"


def _escape(key: str) -> str:
    return str(key).replace("%", "%25").replace("/", "%2F")


def _unescape(part: str) -> str:
    return part.replace("%2F", "/").replace("%25", "%")


def flatten(tree: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """``{"acts": {"a": x}, "seg": s}`` -> ``{"acts/a": x, "seg": s}``."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{_escape(key)}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}/"))
        else:
            flat[name] = value
    return flat


def unflatten(flat: dict[str, np.ndarray]) -> dict:
    tree: dict = {}
    for name, value in flat.items():
        *parents, leaf = [_unescape(part) for part in name.split("/")]
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


class ActivationCache:
    """Fixed-size batches (nested dicts of ``(B, ...)`` numpy arrays), in memory then on disk."""

    def __init__(self, memory_bound_bytes: int, cache_dir: str | Path | None = None, *,
                 persistent: bool = False):
        if persistent and cache_dir is None:
            raise ValueError("a persistent activation cache needs a cache_dir")
        self.persistent = persistent
        self.memory_bound_bytes = 0 if persistent else int(memory_bound_bytes)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._memory: list[dict[str, np.ndarray]] = []
        self._memory_bytes = 0
        self._layout: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None
        self._spill_dir: Path | None = None
        self._files: dict = {}
        self._spilled_batches = 0

    def __len__(self) -> int:
        return len(self._memory) + self._spilled_batches

    @property
    def batch_bytes(self) -> int:
        """Bytes of one batch (0 before the first)."""
        if self._layout is None:
            return 0
        return sum(int(np.prod(shape)) * dtype.itemsize for shape, dtype in self._layout.values())

    @property
    def disk_bytes(self) -> int:
        return self._spilled_batches * self.batch_bytes

    def check_fits(self, num_batches: int) -> None:
        """Fail early when ``num_batches`` batches cannot be held (no cache_dir, over the bound)."""
        need = num_batches * self.batch_bytes
        if self.cache_dir is None and need > self.memory_bound_bytes:
            raise ValueError(
                f"the activation cache needs {_readable(need)} for {num_batches} batches, above "
                f"the memory bound of {_readable(self.memory_bound_bytes)}; pass "
                "cache_dir (--cache-dir) to spill to disk, or raise memory_bound_bytes"
            )

    def append(self, batch: dict) -> None:
        """Store one batch (copied when kept in memory)."""
        flat = {k: np.asarray(v) for k, v in flatten(batch).items()}
        self._check_layout(flat)
        if self._memory_bytes + self.batch_bytes <= self.memory_bound_bytes:
            self._memory.append({k: np.array(v, copy=True) for k, v in flat.items()})
            self._memory_bytes += self.batch_bytes
            return
        self.check_fits(len(self) + 1)
        self._spill(flat)

    def _check_layout(self, flat: dict[str, np.ndarray]) -> None:
        layout = {k: (v.shape, v.dtype) for k, v in flat.items()}
        if self._layout is None:
            self._layout = layout
        elif layout != self._layout:
            raise ValueError(
                f"batch {len(self)} differs from the first batch in keys, shapes or dtypes "
                f"({layout} vs {self._layout}); batches must have a fixed size (pad the last one "
                "and mask it)"
            )

    def _spill(self, flat: dict[str, np.ndarray]) -> None:
        if self._spill_dir is None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._spill_dir = self.cache_dir if self.persistent else Path(
                tempfile.mkdtemp(prefix="jaxdissect-cache-", dir=self.cache_dir))
            self._files = {k: (self._spill_dir / f"array{i}.bin").open("ab")
                           for i, k in enumerate(self._layout)}
        for key, value in flat.items():
            with naming(self._files[key].name):  # a full disk names the cache file
                self._files[key].write(np.ascontiguousarray(value).tobytes())
        self._spilled_batches += 1

    def _disk_arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        for i, (key, (shape, dtype)) in enumerate(self._layout.items()):
            with naming(self._files[key].name):
                self._files[key].flush()
            rows = self._spilled_batches * shape[0]
            arrays[key] = np.memmap(self._spill_dir / f"array{i}.bin", dtype=dtype, mode="r",
                                    shape=(rows, *shape[1:]))
        return arrays

    def __iter__(self) -> Iterator[dict]:
        """The batches in insertion order, as nested dicts (disk ones are memory-map views)."""
        for flat in self._memory:
            yield unflatten(flat)
        if self._spilled_batches:
            disk = self._disk_arrays()
            size = next(iter(self._layout.values()))[0][0]
            for b in range(self._spilled_batches):
                yield unflatten({k: v[b * size:(b + 1) * size] for k, v in disk.items()})

    # -- persistence ----------------------------------------------------------------------------

    def layout(self) -> list[list]:
        """JSON-ready ``[[key, shape, dtype name], ...]`` of a batch."""
        return [[k, list(shape), dtype.name] for k, (shape, dtype) in (self._layout or {}).items()]

    def sync(self) -> None:
        """Flush the disk files to stable storage (a checkpoint may now refer to them)."""
        for f in self._files.values():
            with naming(f.name):
                f.flush()
                os.fsync(f.fileno())

    @classmethod
    def reopen(cls, cache_dir: str | Path, layout: list[list], num_batches: int) -> ActivationCache:
        """A persistent cache holding the first ``num_batches`` batches already in ``cache_dir``
        (files cut back to that length: batches written after the last checkpoint go)."""
        cache = cls(0, cache_dir, persistent=True)
        cache._layout = {k: (tuple(shape), jnp.dtype(name)) for k, shape, name in layout}
        cache._spill_dir = Path(cache_dir)
        for i, (key, (shape, dtype)) in enumerate(cache._layout.items()):
            path = cache._spill_dir / f"array{i}.bin"
            size = num_batches * int(np.prod(shape)) * dtype.itemsize
            if not path.is_file() or path.stat().st_size < size:
                raise ValueError(f"the activation cache in {cache_dir} is incomplete ({path.name});"
                                 " delete the resume folder to start again")
            os.truncate(path, size)
            cache._files[key] = path.open("ab")
        cache._spilled_batches = num_batches
        return cache

    def close(self) -> None:
        """Free the memory and delete the spill files (a persistent cache keeps its files)."""
        for f in self._files.values():
            f.close()
        self._files = {}
        if self._spill_dir is not None and not self.persistent:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
        self._spill_dir = None
        self._memory = []
        self._memory_bytes = 0
        self._spilled_batches = 0

    def __enter__(self) -> ActivationCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
