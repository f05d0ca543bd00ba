"""Resumable dissections: an on-disk activation cache plus checkpoints of the statistic states.

Pass 0 is the expensive one (the model and the segmenter run on every image). With
``dissect(..., resume_dir=DIR)``:

* every batch's cache entry goes straight to ``DIR/cache`` (a persistent
  :class:`~jaxdissect.dissection.cache.ActivationCache`);
* every ``checkpoint_every`` batches, and at the end of pass 0, the statistic states (top-k and
  the first quantile pass) are saved with orbax to ``DIR/states-<batches>`` together with
  ``DIR/progress.json`` (batches done, images counted, label range, cache layout, a hash of the
  dataset indices seen and a fingerprint of the settings);
* a later call with the same ``resume_dir``, settings and batches restores the states, cuts the
  cache back to the checkpoint, skips the batches already done (checking that their indices hash
  to the same value) and carries on; when pass 0 had finished, only the first batch is read (for
  the shapes) and the model does not run again;
* after each later threshold pass the quantile states are saved too (``DIR/later.pkl``), so a
  restart after pass 0 continues after the last finished pass; the intersection pass, the
  last one, starts again from its beginning;
* after the results are written the folder is emptied.

Ctrl-C (SIGINT) inside :class:`InterruptLatch` does not stop the work mid-batch: pass 0
finishes its batch, saves a checkpoint and raises :class:`Interrupted` (a
``KeyboardInterrupt``) whose message says where a rerun resumes; a second Ctrl-C stops at
once.

Test hook: with ``JAXDISSECT_TEST_KILL_AT=POINT:N`` the process kills itself (SIGKILL; with
``POINT:N:INT`` it sends itself SIGINT, as Ctrl-C does) the N-th time it reaches POINT:
``pass0-batch`` (a pass-0 batch cached), ``checkpoint-write`` (a checkpoint's states written,
its ``progress.json`` not yet) or ``later-batch`` (a batch of a later pass read), so tests
can interrupt a real run at a chosen point.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import signal
import threading
from pathlib import Path

import jax
import numpy as np

from jaxdissect.dissection.cache import ActivationCache

PROGRESS_FILE = "progress.json"
LATER_FILE = "later.pkl"
KILL_VARIABLE = "JAXDISSECT_TEST_KILL_AT"
_reached: dict[str, int] = {}


def kill_point(point: str) -> None:
    """The test hook described in the module docstring (does nothing unless it is set)."""
    wanted = os.environ.get(KILL_VARIABLE, "").split(":")
    if wanted[0] != point:
        return
    _reached[point] = _reached.get(point, 0) + 1
    if str(_reached[point]) == wanted[1]:
        os.kill(os.getpid(), signal.SIGINT if wanted[2:] == ["INT"] else signal.SIGKILL)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a resumable dissection at a safe point; the message says what was saved."""


class InterruptLatch(contextlib.AbstractContextManager):
    """Within ``with InterruptLatch() as latch:`` the first Ctrl-C only sets ``latch.requested``
    (checked at safe points, between batches); a second one raises ``KeyboardInterrupt`` at
    once. Only the main thread receives signals: elsewhere Ctrl-C is left as it is."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> InterruptLatch:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


class IndexHash:
    """A running hash of the ``index`` and ``mask`` arrays of the batches seen, in order."""

    def __init__(self):
        self.hexdigest = ""

    def update(self, index: np.ndarray, mask: np.ndarray) -> None:
        chained = hashlib.sha256(self.hexdigest.encode())
        chained.update(np.ascontiguousarray(index, np.int64).tobytes())
        chained.update(np.ascontiguousarray(mask, bool).tobytes())
        self.hexdigest = chained.hexdigest()


class ResumeFolder:
    """The checkpoints of one run's pass 0 in ``folder`` (an absolute path is used)."""

    def __init__(self, folder: str | Path, fingerprint: dict, restart_stale: bool = False):
        if jax.process_count() > 1:
            raise ValueError("resume_dir works in single-process runs only; leave it out on "
                             "several hosts")
        self.folder = Path(folder).absolute()
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it reads back from JSON
        self.cache_dir = self.folder / "cache"
        self.restored_finished = False  # open() found a finished pass 0
        # A checkpoint of other settings or shapes: an error, or (restart_stale) discarded.
        self.restart_stale, self.discarded_stale = restart_stale, False

    def _progress(self) -> dict | None:
        path = self.folder / PROGRESS_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def open(self, abstract_states):
        """``(cache, states, progress)`` from the last checkpoint, or a fresh persistent cache
        with ``(cache, None, None)``. ``abstract_states``: the state pytree (arrays or
        ``jax.ShapeDtypeStruct``) to restore into."""
        progress = self._progress()
        if progress is None:
            if self.folder.exists() and any(self.folder.iterdir()):
                raise FileExistsError(f"resume folder {self.folder} is not empty and holds no "
                                      f"{PROGRESS_FILE}; choose an empty folder")
            return ActivationCache(0, self.cache_dir, persistent=True), None, None
        if progress["fingerprint"] != self.fingerprint and self.restart_stale:
            self.discard()
            self.discarded_stale = True
            return ActivationCache(0, self.cache_dir, persistent=True), None, None
        self.restored_finished = bool(progress.get("finished"))
        if progress["fingerprint"] != self.fingerprint:
            raise ValueError(f"resume folder {self.folder} belongs to a run with other settings "
                             "or shapes; use another folder, or delete it to start again")
        import orbax.checkpoint as ocp

        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_states)
        with ocp.StandardCheckpointer() as checkpointer:
            states = checkpointer.restore(self.folder / progress["states"], target)
        cache = ActivationCache.reopen(self.cache_dir, progress["layout"], progress["batches"])
        return cache, states, progress

    def save(self, states, cache: ActivationCache, progress: dict) -> None:
        """Checkpoint ``states`` after ``progress["batches"]`` batches (all in ``cache``)."""
        import orbax.checkpoint as ocp

        cache.sync()
        name = f"states-{progress['batches']}"
        with ocp.StandardCheckpointer() as checkpointer:
            checkpointer.save(self.folder / name, jax.tree.map(np.asarray, states), force=True)
            checkpointer.wait_until_finished()
        previous = self._progress()
        record = {**progress, "states": name, "layout": cache.layout(),
                  "fingerprint": self.fingerprint}
        kill_point("checkpoint-write")
        _write_atomically(self.folder / PROGRESS_FILE, json.dumps(record).encode())
        if previous and previous["states"] != name:
            shutil.rmtree(self.folder / previous["states"], ignore_errors=True)

    def save_later(self, finished_pass: int, states) -> None:
        """Keep the quantile states (host pytrees) after later threshold pass ``finished_pass``."""
        _write_atomically(self.folder / LATER_FILE, pickle.dumps((finished_pass, states)))

    def later(self):
        """``(finished_pass, states)`` saved by :meth:`save_later`, or None."""
        path = self.folder / LATER_FILE
        if not path.is_file():
            return None
        with path.open("rb") as f:
            return pickle.load(f)  # written by save_later in this private folder

    def discard(self) -> None:
        """Remove the checkpoints and the cache (after the results are safely written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds the old bytes or the new ones, never a part (also after a power cut)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
