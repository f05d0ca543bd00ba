"""Resumable pass 0: an on-disk activation cache plus orbax checkpoints of the statistic states.

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
* after the results are written the folder is emptied.

Single process only (multi-host runs would need one cache per host). Orbax writes a checkpoint
to a temporary name and renames it when complete, and saves are waited for, so a crash leaves
either the previous checkpoint or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import jax
import numpy as np

from jaxdissect.dissection.cache import ActivationCache

PROGRESS_FILE = "progress.json"


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

    def __init__(self, folder: str | Path, fingerprint: dict):
        if jax.process_count() > 1:
            raise ValueError("resume_dir works in single-process runs only; leave it out on "
                             "several hosts")
        self.folder = Path(folder).absolute()
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it reads back from JSON
        self.cache_dir = self.folder / "cache"

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
        tmp = self.folder / f".{PROGRESS_FILE}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.folder / PROGRESS_FILE)
        if previous and previous["states"] != name:
            shutil.rmtree(self.folder / previous["states"], ignore_errors=True)

    def discard(self) -> None:
        """Remove the checkpoints and the cache (after the results are safely written)."""
        shutil.rmtree(self.folder, ignore_errors=True)
