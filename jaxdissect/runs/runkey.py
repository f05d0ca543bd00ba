"""Results keyed by their settings: a run folder never holds results of other settings.

A dissection's *identity* is everything that decides its numbers: the configuration after
preset resolution (and the compute dtype), the software version, the checkpoint's hash, the
data source's identity (the spec plus what the source reports: file listing hash, packed-cache
key, sample count, seed) and the segmenter's identity. Its *key* is the SHA-256 of the
identity as canonical JSON. Batch size, device count and the activation cache do not enter the
key: results are bit-identical for any of them (see :mod:`jaxdissect.sharding`); they are
recorded beside it.

The chosen layout (:func:`open_run_folder` with ``keyed=True``, what ``jaxdissect dissect``
does)::

    OUT/<first 12 hex digits of the key>/run.json      identity, key, settings, layers done
    OUT/<short key>/<layer>/...                          one folder per layer (driver results)
    OUT/<short key>/index.html                           the report
    OUT/latest -> <short key>                            the most recent finished run (symlink)

* Same settings again: the same folder; layers already finished (their files match their
  manifest) are loaded, not recomputed (``--force`` recomputes them).
* ``OUT/latest`` moves only when a run finishes (:meth:`RunFolder.mark_latest`), so after a
  failed or killed run it still points at the last finished one.
* Different settings (a changed quantile, checkpoint bytes, data files, sample count,
  segmenter, version): a different folder, so results of different settings are never mixed
  and earlier runs stay readable.

With ``keyed=False`` results go to OUT itself, which must be empty, absent, or a run folder of
the same key; a run folder of another key is refused unless ``force``, which empties it first
(this is how ``jaxdissect demo`` lays out the dissections inside its own keyed folder).

Checkpoint hash: the ``source.sha256`` recorded in the model folder's ``meta.json`` (the hash of
the converted ``.pth``), else a hash of the parameters themselves (:func:`params_sha256`). Model
and segmenter folders enter by content, not by path (recorded under ``settings``), so a copied
folder reuses its results.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

import jaxdissect
from jaxdissect.dissection.layer_files import layer_folder, result_problem
from jaxdissect.outputs import write_text

RUN_FILE = "run.json"
LATEST = "latest"
SHORT_KEY = 12
FORMAT = 1


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not part of a run identity")


def params_sha256(params: Any) -> str:
    """SHA-256 over every parameter array: its path, dtype, shape and bytes, in path order."""
    digest = hashlib.sha256()
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    for path, leaf in sorted(leaves, key=lambda item: jax.tree_util.keystr(item[0])):
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{jax.tree_util.keystr(path)}|{array.dtype}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def model_identity(meta: dict, params: Any, dtype: str) -> dict:
    """What identifies a model: architecture, sizes, input normalisation, compute dtype and
    the checkpoint hash (recorded source hash, else the parameters' hash). Not its location:
    a copied model folder is the same model."""
    source = meta.get("source") if isinstance(meta.get("source"), dict) else {}
    if source.get("sha256"):
        checkpoint, hashed = str(source["sha256"]), "source checkpoint (meta.json)"
    else:
        checkpoint, hashed = params_sha256(params), "parameters"
    return {"arch": meta.get("arch"), "sizes": meta.get("sizes"),
            "normalization": meta.get("normalization"), "dtype": dtype,
            "checkpoint_sha256": checkpoint, "hash_of": hashed}


@dataclass(frozen=True)
class RunIdentity:
    """The parts of a run that decide its results (each JSON-able)."""

    config: dict
    model: dict
    data: dict
    segmenter: dict
    version: str = jaxdissect.__version__

    def as_dict(self) -> dict:
        return {"config": self.config, "model": self.model, "data": self.data,
                "segmenter": self.segmenter, "version": self.version}

    @property
    def key(self) -> str:
        """SHA-256 hex of the canonical JSON of :meth:`as_dict`."""
        return hashlib.sha256(canonical_json(self.as_dict()).encode()).hexdigest()

    @property
    def short(self) -> str:
        return self.key[:SHORT_KEY]


@dataclass
class RunFolder:
    """An opened run folder: ``path``, its identity, whether it existed before (``reused``)
    and the ``layers`` it has finished (name -> ISO time)."""

    path: Path
    identity: RunIdentity
    reused: bool
    settings: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)

    def record(self, layers: list[str], **settings) -> None:
        """Mark ``layers`` finished (keeping earlier ones) and rewrite ``run.json``."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for layer in layers:
            self.layers.setdefault(layer, now)
        self.settings.update(settings)
        self.write()

    def write(self) -> None:
        data = {"format": FORMAT, "key": self.identity.key, "short_key": self.identity.short,
                **self.identity.as_dict(), "settings": self.settings, "layers": self.layers}
        self.path.mkdir(parents=True, exist_ok=True)
        write_text(self.path / RUN_FILE,
                   json.dumps(data, indent=1, sort_keys=True, default=_jsonable) + "\n")

    def mark_latest(self) -> Path:
        """Point ``latest`` beside this run folder at it: call once the run has finished."""
        return point_latest(self.path.parent, self.path.name)


def read_run(folder: str | Path) -> dict | None:
    """The ``run.json`` of ``folder`` (None when absent); a damaged file is an error."""
    path = Path(folder) / RUN_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is damaged ({err}); delete the folder to recompute") from None


def _check_plain_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} exists and is not a folder; choose another --out")
    if folder.is_dir() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty and holds no {RUN_FILE}, so it is not a "
                              "jaxdissect run folder; choose another --out")


def _open_existing(folder: Path, identity: RunIdentity, force: bool, keyed: bool):
    """(reused, earlier run.json) for a folder that may hold a run."""
    earlier = read_run(folder)
    if earlier is None:
        _check_plain_folder(folder)
        return False, None
    if earlier.get("key") == identity.key:
        return True, earlier
    if keyed:
        raise FileExistsError(f"{folder} holds a run of another key ({earlier.get('key')}); "
                              "move it away")
    if not force:
        changed = [k for k, v in identity.as_dict().items() if earlier.get(k) != v]
        raise FileExistsError(f"{folder} holds results made with other settings (changed: "
                              f"{', '.join(changed) or 'key'}); choose another output folder or "
                              "pass --force to replace them")
    shutil.rmtree(folder)
    return False, None


def open_run_folder(out: str | Path, identity: RunIdentity, *, keyed: bool = True,
                    force: bool = False) -> RunFolder:
    """The folder for ``identity`` under ``out`` (see the module docstring), with ``run.json``
    written. ``out/latest`` is left alone until :meth:`RunFolder.mark_latest`."""
    out = Path(out)
    if keyed:
        _check_out(out)
    folder = out / identity.short if keyed else out
    reused, earlier = _open_existing(folder, identity, force, keyed)
    run = RunFolder(folder, identity, reused)
    if earlier is not None:
        run.settings, run.layers = dict(earlier.get("settings", {})), dict(earlier["layers"])
    run.write()
    return run


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder; choose another --out")
    if read_run(out) is not None:
        raise FileExistsError(f"{out} is itself a run folder; give its parent as --out")


def point_latest(out: Path, short: str) -> Path:
    """Make ``out/latest`` a symlink to ``short`` (replaced atomically)."""
    link = out / LATEST
    tmp = out / f".{LATEST}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(short, tmp)
    os.replace(tmp, link)
    return link


def finished_layers(run: RunFolder, layers: list[str]) -> list[str]:
    """Those of ``layers`` that ``run`` finished earlier and whose result is still there and
    intact (its files match its manifest)."""
    return [l for l in layers
            if l in run.layers and result_problem(layer_folder(run.path, l)) is None]
