"""What every PyTorch-to-Flax port shares: reading a ``.pth``, strict checks, detection, hashing.

The family modules (``ports/vgg.py``, ``ports/alexnet.py``, ``ports/resnet.py``, and the GAN and
segmenter ports) each provide, for an architecture registered in
``jaxdissect.models.registry``:

- ``convert_<arch>(state) -> (params, sizes)``: ``state`` maps torch keys to float32 numpy arrays
  (as :func:`load_state_dict` returns them), ``params`` is the Flax params tree (numpy) and
  ``sizes`` the JSON-able dict that rebuilds the model (e.g. ``{"num_classes": 365}``);
- ``is_<arch>(keys) -> bool``: whether a key set has that layout (for ``--arch`` detection).

A port builds a name table ``torch key -> Flax param path`` and calls :func:`convert_with_table`,
which takes the expected shapes from the Flax model itself (:func:`flax_param_shapes`), so the
table and the model cannot drift apart: every Flax parameter must be named by the table, and every
checkpoint tensor must be in it with the right shape, or the conversion fails listing *all*
missing, unexpected and mis-shaped tensors in one error. All layout changes happen in the one
``layout(path, array)`` function each family passes in.

Only this package imports torch, and only inside :func:`load_state_dict`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

FlaxPath = tuple[str, ...]
Layout = Callable[[FlaxPath, np.ndarray], np.ndarray]
IGNORED_SUFFIXES = ("num_batches_tracked",)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict file as ``{key: float32 numpy array}``.

    ``torch.load(..., weights_only=True)``: no pickled code runs. A ``{'state_dict': ...}``
    wrapper and a ``module.`` prefix (DataParallel) are removed; ``num_batches_tracked`` is dropped.
    """
    import torch  # only here: the rest of the package works without torch

    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{path} {what}; pass a PyTorch .pth state dict file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file
        raise ValueError(f"cannot read {path} as a PyTorch state dict: "
                         f"{torch_load_problem(err)}") from err
    return clean_state_dict(obj, str(path))


_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def torch_load_problem(err: Exception) -> str:
    """One plain line for a ``torch.load`` failure: a pickled object other than tensors (a whole
    module saved with ``torch.save(model)``) is named with the way out; otherwise the first line
    of torch's text without terminal colour codes."""
    text = _TERMINAL_CODES.sub("", str(err)).strip()
    if "Weights only load failed" in text:
        found = _GLOBAL.search(text)
        what = f"a pickled {found.group(1)}" if found else "pickled Python objects"
        return (f"it holds {what}, not only tensors, and pickled code is never run; save the "
                "weights with torch.save(model.state_dict(), PATH) and convert that file")
    return text.splitlines()[0] if text else type(err).__name__


def clean_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, np.ndarray]:
    """Unwrap ``{'state_dict': ...}``, strip ``module.``, drop ``num_batches_tracked``, to numpy."""
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ValueError(f"{source} holds a {type(obj).__name__}, not a state dict of tensors")
    keys = list(obj)
    if keys and all(k.startswith("module.") for k in keys):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    state = {}
    for key, value in obj.items():
        if key.endswith(IGNORED_SUFFIXES):
            continue
        if not hasattr(value, "detach"):
            raise ValueError(f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor")
        state[key] = value.detach().float().cpu().numpy()
    return state


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def flax_param_shapes(module: Any, example_input: Any) -> dict[FlaxPath, tuple]:
    """``{path: shape}`` of every parameter ``module.init`` creates (traced, nothing computed)."""
    import jax  # here, so that reading a checkpoint (and failing on it) does not import jax

    variables = jax.eval_shape(module.init, jax.random.key(0), example_input)
    flat = jax.tree_util.tree_flatten_with_path(variables["params"])[0]
    return {tuple(k.key for k in path): tuple(leaf.shape) for path, leaf in flat}


def torch_shape(flax_shape: tuple) -> tuple:
    """The torch shape of a Flax parameter: HWIO -> OIHW, (in, out) -> (out, in), vectors as is."""
    if len(flax_shape) == 4:
        h, w, i, o = flax_shape
        return (o, i, h, w)
    return tuple(reversed(flax_shape))


def conv_kernel(weight: np.ndarray) -> np.ndarray:
    """torch OIHW (grouped: O, I/groups, H, W) -> Flax HWIO (H, W, I/groups, O)."""
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def dense_kernel(weight: np.ndarray) -> np.ndarray:
    """torch Linear (out, in) -> Flax Dense (in, out)."""
    return np.ascontiguousarray(weight.T)


def dense_kernel_from_chw(weight: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """First dense layer after a flatten: torch's input order C, H, W -> Flax's H, W, C.

    (out, C*H*W) -> (H*W*C, out).
    """
    c, h, w = chw
    out = weight.shape[0]
    return np.ascontiguousarray(weight.reshape(out, c, h, w).transpose(2, 3, 1, 0).reshape(-1, out))


def check_state(
    state: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple],
    arch: str,
    ignore_prefixes: Iterable[str] = (),
) -> list[str]:
    """Fail unless ``state`` has exactly the ``expected`` keys and shapes; list every problem.

    Keys starting with one of ``ignore_prefixes`` are skipped and returned (to report them).
    """
    ignore_prefixes = tuple(ignore_prefixes)
    ignored = sorted(k for k in state if ignore_prefixes and k.startswith(ignore_prefixes))
    present = {k: v for k, v in state.items() if k not in ignored}
    missing = sorted(set(expected) - set(present))
    unexpected = sorted(set(present) - set(expected))
    misshaped = [
        f"{k} {list(present[k].shape)} (expected {list(expected[k])})"
        for k in sorted(set(expected) & set(present))
        if tuple(present[k].shape) != tuple(expected[k])
    ]
    problems = [
        f"{len(items)} {what}: {', '.join(items)}"
        for what, items in (("missing", missing), ("unexpected", unexpected),
                            ("mis-shaped", misshaped))
        if items
    ]
    if problems:
        raise ValueError(
            f"checkpoint does not match architecture {arch!r}: {'; '.join(problems)}. "
            "Is it another architecture? Pass the right --arch"
        )
    return ignored


def nest(flat: Mapping[FlaxPath, np.ndarray]) -> dict:
    """``{('a', 'b'): x}`` -> ``{'a': {'b': x}}``."""
    tree: dict = {}
    for path, value in flat.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def convert_with_table(
    state: Mapping[str, np.ndarray],
    table: Mapping[str, FlaxPath],
    module: Any,
    input_shape: tuple[int, ...],
    layout: Layout,
    arch: str,
) -> dict:
    """Strictly check ``state`` against ``table`` and ``module``'s params, then lay them out.

    ``table`` maps every torch key to a Flax param path of ``module`` (initialised on an input of
    ``input_shape``); ``layout(path, array)`` turns one torch array into the Flax array.
    """
    import jax

    flax_shapes = flax_param_shapes(module, jax.ShapeDtypeStruct(input_shape, np.float32))
    named = set(table.values())
    if named != set(flax_shapes):
        raise RuntimeError(  # a bug in a port, not in the user's checkpoint
            f"{arch} name table and Flax model disagree: table only "
            f"{sorted(named - set(flax_shapes))}, model only {sorted(set(flax_shapes) - named)}"
        )
    check_state(state, {k: torch_shape(flax_shapes[p]) for k, p in table.items()}, arch)
    flat = {}
    for key, path in table.items():
        value = np.asarray(layout(path, state[key]), np.float32)
        if value.shape != flax_shapes[path]:
            raise RuntimeError(f"{arch}: layout of {key} gave {value.shape}, "
                               f"expected {flax_shapes[path]}")
        flat[path] = value
    return nest(flat)


def detect_arch(keys: Iterable[str], source: str = "checkpoint") -> str:
    """The one registered architecture whose detector accepts ``keys``; else a clear error."""
    from jaxdissect.models.registry import arch_names, get_arch

    keys = set(keys)
    matches = [n for n in arch_names() if (d := get_arch(n).detect_fn()) is not None and d(keys)]
    if len(matches) == 1:
        return matches[0]
    sample = ", ".join(sorted(keys)[:5])
    if not matches:
        raise ValueError(
            f"cannot tell the architecture of {source} from its keys ({len(keys)} keys: {sample}, "
            f"...); pass --arch, one of: {', '.join(arch_names())}"
        )
    raise ValueError(f"{source} matches several architectures ({', '.join(matches)}); pass --arch")
