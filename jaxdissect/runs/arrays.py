"""Dissect precomputed arrays: activations and segmentations already on disk as ``.npy`` files.

``dissect_arrays(acts, segs, out)`` reads

* ACTS: float16/float32 ``(N, U, h, w)``, or ``(N, h, w, U)`` with ``channels_last=True``;
* SEGS: integer ``(N, K, H, W)`` or ``(N, H, W)``; 0 = no label, concepts 1..C-1 with
  C = max label + 1 unless a vocabulary (``concepts`` CSV) names them;

memory-mapped and streamed in batches, so memory stays bounded whatever N is. The files are
the cache: every pass re-reads them, nothing is copied. The result (see
:mod:`jaxdissect.dissection.results`) is written to ``out`` atomically, only after every pass
succeeded; bad input raises ``ValueError`` / ``FileNotFoundError`` / ``FileExistsError`` with a
one-line message and leaves ``out`` untouched. Single process (any number of local devices).
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from jaxdissect import sharding
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.driver import finish
from jaxdissect.dissection.engine import LayerStatistics
from jaxdissect.dissection.presets import DissectConfig, get_config
from jaxdissect.dissection.progress import Progress
from jaxdissect.dissection.results import LayerResult, check_destination, save_result
from jaxdissect.outputs import check_writable

DEFAULT_BATCH_SIZE = 32


def _open(array, what: str) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    path = Path(array)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"{what} file {path} is not a readable .npy array ({err})") from None


class ArraySource:
    """Batches ``{"acts": {layer: (B, h, w, U) float}, "seg": (B, K, H, W) int32, "mask",
    "index"}`` read from the arrays; the last batch is padded with zeros and masked."""

    def __init__(self, acts: np.ndarray, segs: np.ndarray, batch_size: int, channels_last: bool,
                 layer: str, vocabulary: ConceptVocabulary | None):
        self.acts, self.segs, self.batch_size = acts, segs, batch_size
        self.channels_last, self.layer, self.vocabulary = channels_last, layer, vocabulary
        self.max_label = 0
        self.check = True  # validate values on the first pass only

    def __len__(self) -> int:
        return -(-len(self.acts) // self.batch_size)

    def _checked_segs(self, start: int, stop: int) -> np.ndarray:
        seg = np.asarray(self.segs[start:stop])
        seg = seg[:, None] if seg.ndim == 3 else seg
        if not self.check:
            return seg.astype(np.int32)
        low, high = int(seg.min()), int(seg.max())
        if low < 0:
            image = start + int(np.argmax((seg < 0).reshape(len(seg), -1).any(axis=1)))
            raise ValueError(f"SEGS has a negative label ({low}) at image {image}; labels are 0 "
                             "(none) or concept numbers")
        limit = self.vocabulary.num_concepts if self.vocabulary else 2**31
        if high >= limit:
            raise ValueError(f"SEGS has label {high} (images {start}..{stop - 1}) beyond the "
                             f"{limit} concepts of the concept file; use a matching file")
        self.max_label = max(self.max_label, high)
        return seg.astype(np.int32)

    def _checked_acts(self, start: int, stop: int) -> np.ndarray:
        acts = np.asarray(self.acts[start:stop])
        if not self.check:
            return acts if self.channels_last else acts.transpose(0, 2, 3, 1)
        finite = np.isfinite(acts).reshape(len(acts), -1).all(axis=1)
        if not finite.all():
            raise ValueError(f"ACTS has NaN or inf values at image {start + int(np.argmin(finite))}"
                             "; dissection needs finite activations")
        return acts if self.channels_last else acts.transpose(0, 2, 3, 1)

    def __iter__(self):
        n, size = len(self.acts), self.batch_size
        for start in range(0, n, size):
            stop = min(start + size, n)
            padded = sharding.pad_rows({"acts": self._checked_acts(start, stop),
                                        "seg": self._checked_segs(start, stop)}, size)
            yield {
                "acts": {self.layer: np.ascontiguousarray(padded["acts"])},
                "seg": padded["seg"],
                "mask": padded["mask"],
                "index": np.arange(start, start + size, dtype=np.int32),
            }


def _validate(acts: np.ndarray, segs: np.ndarray, channels_last: bool) -> None:
    if acts.dtype not in (np.float16, np.float32):
        raise ValueError(f"ACTS has dtype {acts.dtype}; expected float16 or float32")
    if acts.ndim != 4:
        layout = "(N, h, w, U)" if channels_last else "(N, U, h, w)"
        raise ValueError(f"ACTS has shape {acts.shape}; expected rank 4 {layout}")
    if not np.issubdtype(segs.dtype, np.integer):
        raise ValueError(f"SEGS has dtype {segs.dtype}; expected integer concept labels")
    if segs.ndim not in (3, 4):
        raise ValueError(f"SEGS has shape {segs.shape}; expected (N, K, H, W) or (N, H, W)")
    if len(acts) != len(segs):
        raise ValueError(f"ACTS has {len(acts)} images but SEGS has {len(segs)}; they must match")
    if len(acts) == 0:
        raise ValueError("ACTS holds no images")


def dissect_arrays(
    acts: str | Path | np.ndarray,
    segs: str | Path | np.ndarray,
    out: str | Path | None = None,
    *,
    channels_last: bool = False,
    config: DissectConfig | None = None,
    concepts: str | Path | ConceptVocabulary | None = None,
    batch_size: int | None = None,
    devices: sharding.Devices = None,
    force: bool = False,
    progress: bool = True,
    layer: str = "acts",
) -> LayerResult:
    """Dissect the unit maps in ACTS against the labels in SEGS; write to ``out`` if given.

    ``config`` defaults to the ``pnas2020`` preset; ``concepts`` is a ``number,name,category``
    CSV or a vocabulary; ``batch_size`` (default 32 rounded up to a multiple of the device
    count) must be a multiple of the device count. Returns the :class:`LayerResult`.
    """
    config = config or get_config()
    if jax.process_count() > 1:
        raise ValueError("dissect_arrays runs in one process; for several hosts use "
                         "jaxdissect.dissection.driver.dissect with each host's rows")
    if out is not None:
        check_destination(out, force)
        check_writable(out)
    acts, segs = _open(acts, "ACTS"), _open(segs, "SEGS")
    _validate(acts, segs, channels_last)
    if concepts is not None and not isinstance(concepts, ConceptVocabulary):
        concepts = ConceptVocabulary.from_csv(concepts)
    mesh = sharding.make_mesh(devices)
    shards = sharding.num_data_shards(mesh)
    if batch_size is None:
        batch_size = -(-DEFAULT_BATCH_SIZE // shards) * shards
    sharding.check_batch_size(batch_size, mesh)
    source = ArraySource(acts, segs, batch_size, channels_last, layer, concepts)
    unit_map = acts.shape[1:] if channels_last else (*acts.shape[2:], acts.shape[1])
    seg_size = segs.shape[-2:]
    stats = LayerStatistics(config, {layer: unit_map}, seg_size, mesh, Progress(progress))
    stats.first_pass(lambda: iter(source), len(acts))
    source.check = False
    vocabulary = concepts or ConceptVocabulary.numbered(max(source.max_label, 1) + 1)
    result = finish(stats, lambda: iter(source), config, vocabulary, histograms=False)[layer]
    if out is not None:
        save_result(result, out, force)
    return result
