"""Orbax save / restore of array pytrees, and converted models on disk (``jaxdissect.load``).

A converted model is a folder::

    DEST/params/     orbax checkpoint of the Flax params (float32 numpy arrays)
    DEST/meta.json   {"arch", "sizes", "normalization", "default_layer", "layers",
                      "source": {"name", "sha256"}, "jaxdissect_version", "format_version",
                      "arch_module"}

written by :func:`save_model` (``jaxdissect convert`` calls it) into a temporary folder beside
DEST that is renamed into place, so a DEST folder is complete or absent, never half written.
``arch_module`` names the module that registers the architecture; :func:`load` imports it, so
architectures registered outside ``jaxdissect.models`` load too.

:func:`save_tree` / :func:`restore_tree` work for any pytree of arrays (params, statistic
states of a resumable run). Orbax wants absolute paths (we resolve them) and saves
asynchronously (we wait). Trees are stored as numpy on the host and restored as numpy, so a
checkpoint does not depend on the devices that wrote it.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import Net
from jaxdissect.models.registry import get_arch
from jaxdissect.outputs import write_folder
from jaxdissect.sharding import to_host

FORMAT_VERSION = 1
PARAMS_DIR = "params"
META_FILE = "meta.json"


def save_tree(path: str | Path, tree: Any, force: bool = False) -> Path:
    """Save a pytree of arrays to the orbax checkpoint folder ``path`` (waits until written).

    An existing ``path`` is an error unless ``force`` (then it is replaced).
    """
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    if path.exists() and not force:
        raise FileExistsError(f"{path} already exists; pass force=True (--force) to overwrite it")
    checkpointer = ocp.StandardCheckpointer()
    try:
        checkpointer.save(path, jax.tree.map(np.asarray, to_host(tree)), force=force)
        checkpointer.wait_until_finished()
    except (ValueError, RuntimeError) as err:
        raise _as_os_error(err, path) from err
    finally:
        checkpointer.close()
    return path


_OS_ERROR_CODE = re.compile(r"os_error_code='?(\d+)")


def _as_os_error(err: Exception, path: Path) -> Exception:
    """A write failure inside orbax (tensorstore reports it as text with the errno, e.g. a full
    disk) as the ``OSError`` it is, naming the checkpoint folder; other errors unchanged."""
    found = _OS_ERROR_CODE.search(str(err))
    if found is None:
        return err
    code = int(found.group(1))
    return OSError(code, os.strerror(code), os.fspath(path))


def restore_tree(path: str | Path) -> Any:
    """Restore the pytree saved by :func:`save_tree`, as numpy arrays."""
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    if not path.is_dir():
        raise FileNotFoundError(f"no checkpoint at {path}")
    checkpointer = ocp.StandardCheckpointer()
    tree = checkpointer.restore(path)
    checkpointer.close()
    return jax.tree.map(np.asarray, tree)


def save_model(dest: str | Path, params: Any, meta: Mapping[str, Any], force: bool = False) -> Path:
    """Write ``params`` and ``meta`` (JSON-able) as a converted-model folder, atomically.

    An existing ``dest`` is an error unless ``force``; it is replaced only once the new folder is
    complete.
    """
    dest = Path(dest).absolute()
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} already exists; pass --force to overwrite it")

    def write(tmp: Path) -> None:
        save_tree(tmp / PARAMS_DIR, params)
        full_meta = {"format_version": FORMAT_VERSION, **meta}
        if "arch" in meta and "arch_module" not in meta:
            full_meta["arch_module"] = get_arch(meta["arch"]).build.__module__
        (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2) + "\n")

    write_folder(dest, write)
    return dest


def read_meta(dest: str | Path) -> dict[str, Any]:
    """The ``meta.json`` of a converted-model folder, with clear errors when it is not one."""
    dest = Path(dest).absolute()
    if not dest.is_dir():
        raise FileNotFoundError(
            f"no converted model at {dest}; make one with `jaxdissect convert SRC.pth {dest}`"
        )
    meta_path = dest / META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{dest} has no {META_FILE}, so it was not written by `jaxdissect convert`; "
            "convert the .pth checkpoint again"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{meta_path} is not valid JSON ({err}); convert the model again") from err
    if "arch" not in meta or "sizes" not in meta:
        raise ValueError(f"{meta_path} lacks 'arch' or 'sizes'; convert the model again")
    return meta


def load(dest: str | Path, dtype: Any = jnp.float32) -> Net:
    """Load a converted model: ``net = load(DEST); output, acts = net(x, layers=["conv5_3"])``.

    ``dtype`` is the compute dtype (float32, or bfloat16 on request); params stay float32 and
    are placed on the default device.
    """
    meta = read_meta(dest)
    if meta.get("arch_module"):
        try:
            importlib.import_module(meta["arch_module"])  # registers the architecture
        except ImportError as err:
            raise ValueError(f"{dest}: architecture {meta['arch']!r} is defined in "
                             f"{meta['arch_module']}, which cannot be imported ({err})") from err
    spec = get_arch(meta["arch"])
    module = spec.make_module(meta["sizes"], dtype)
    params = jax.device_put(restore_tree(Path(dest).absolute() / PARAMS_DIR))
    return Net(module=module, params=params, meta=meta)
