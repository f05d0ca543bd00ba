"""Latent vectors for generator dissection: the published ``RandomState(seed)`` draw, lazily.

The reference draws all ``z`` at once with ``numpy.random.RandomState(1).standard_normal((N,
512))`` (then casts to float32), so the first z does not depend on N. Drawing the same stream
in consecutive blocks gives bit-identical values (the legacy generator keeps its spare Gaussian
in its state), so :class:`LatentSource` produces batch after batch without holding all N
vectors: reading rows in increasing order draws each row once; going back restarts the stream
from the seed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np

from jaxdissect.data.source import Field, RowSource

_SKIP_BLOCK = 4096  # rows drawn at a time when skipping (multi-host: other hosts' rows)


class LatentSource(RowSource):
    """Rows ``{"z": (dim,) float32}``: row i is row i of ``RandomState(seed).standard_normal
    ((num_samples, dim))``, cast to float32."""

    def __init__(self, num_samples: int, seed: int = 1, dim: int = 512):
        if int(num_samples) < 1:
            raise ValueError(f"num_samples={num_samples}: draw at least one latent vector")
        if int(dim) < 1:
            raise ValueError(f"dim={dim}: the latent size must be positive")
        self.num_samples, self.seed, self.dim = int(num_samples), int(seed), int(dim)
        self.fields = {"z": Field((self.dim,), "float32")}
        self.description = f"{self.num_samples} latents (seed {self.seed}, dim {self.dim})"
        self._lock = threading.Lock()
        self._restart()

    def _restart(self) -> None:
        self._state = np.random.RandomState(self.seed)
        self._next_row = 0

    def _skip_to(self, row: int) -> None:
        while self._next_row < row:
            count = min(_SKIP_BLOCK, row - self._next_row)
            self._state.standard_normal((count, self.dim))
            self._next_row += count

    def __len__(self) -> int:
        return self.num_samples

    def row_name(self, index: int) -> str:
        return f"z[{index}]"

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        arrays, _ = self.read_batch([index])
        return {"z": arrays["z"][0]}

    def read_batch(
        self, indices: Sequence[int], executor: Executor | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``({"z": (n, dim) float32}, valid (n,) all True)``; cheapest for increasing rows."""
        rows = np.asarray(indices, np.int64)
        if rows.size == 0:
            return {"z": np.zeros((0, self.dim), np.float32)}, np.zeros(0, bool)
        if rows.min() < 0 or rows.max() >= self.num_samples:
            raise IndexError(f"latent rows must be in [0, {self.num_samples})")
        start, stop = int(rows.min()), int(rows.max()) + 1
        with self._lock:
            if start < self._next_row:
                self._restart()
            self._skip_to(start)
            block = self._state.standard_normal((stop - start, self.dim))
            self._next_row = stop
        return {"z": block[rows - start].astype(np.float32)}, np.ones(rows.size, bool)

    def identity(self) -> dict:
        return {"kind": "latents", "num_samples": self.num_samples, "seed": self.seed,
                "dim": self.dim}


def latent_batches(num_samples: int, batch_size: int, seed: int = 1, dim: int = 512, **options):
    """Batches ``{"z": (B, dim) float32, "index": (B,) int64, "mask": (B,) bool}`` of the
    published latent draw, generated lazily; ``options`` go to :func:`batches` (multi-host)."""
    from jaxdissect.data.batching import batches

    options.setdefault("num_workers", 0)
    return batches(LatentSource(num_samples, seed=seed, dim=dim), batch_size, **options)
