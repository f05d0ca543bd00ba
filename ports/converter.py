"""``convert``: a PyTorch checkpoint -> a converted-model folder that ``jaxdissect.load`` reads.

Steps: read the source (``ports.common.load_state_dict``, or the architecture's own loader for
sources that are not one ``.pth`` file), find the architecture (``arch``, or detection from the
keys), convert strictly (every tensor accounted for), and write ``DEST/params`` plus
``DEST/meta.json`` atomically (``jaxdissect.checkpoint.save_model``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ports.common import detect_arch, load_state_dict, sha256_of


def build_meta(spec: Any, sizes: dict, src: Path) -> dict[str, Any]:
    """The JSON-able description stored beside the params (see ``jaxdissect.checkpoint``)."""
    import jaxdissect

    module = spec.make_module(sizes)
    return {
        "arch": spec.name,
        "sizes": sizes,
        "normalization": spec.normalization_json(sizes),
        "default_layer": spec.default_layer,
        "layers": list(module.LAYERS),
        "source": {"name": src.name, "sha256": sha256_of(src)},
        "jaxdissect_version": jaxdissect.__version__,
    }


def convert(src: str | Path, dest: str | Path, arch: str | None = None,
            force: bool = False) -> Path:
    """Convert ``src`` (a ``.pth`` state dict) into the folder ``dest``; returns its absolute path.

    ``arch``: a registered architecture name, or None to detect it from the keys. An existing
    ``dest`` is an error unless ``force``. Raises ValueError for a checkpoint that does not match
    (listing every missing, unexpected and mis-shaped tensor).
    """
    from jaxdissect.checkpoint import save_model
    from jaxdissect.models.registry import get_arch
    from jaxdissect.outputs import check_writable

    src, dest = Path(src), Path(dest).absolute()
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist; pass the path of a PyTorch checkpoint")
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} already exists; pass --force to overwrite it")
    check_writable(dest)
    if arch is not None:
        spec = get_arch(arch)  # fail on an unknown name before reading a large file
        spec.convert_fn()  # and on an architecture without a converter
        loader = spec.loader_fn() or load_state_dict
        state = loader(src)
    else:
        state = load_state_dict(src)
        spec = get_arch(detect_arch(state, str(src)))
    try:
        params, sizes = spec.convert_fn()(state)
    except ValueError as err:
        raise ValueError(f"{err}{_detection_hint(state, spec.name)}") from err
    return save_model(dest, params, build_meta(spec, sizes, src), force=force)


def _detection_hint(state, tried: str) -> str:
    """`` (its keys look like NAME)`` when the keys match another architecture, else ``""``.

    ``state`` is a state dict, or what an architecture's own loader returned (a segmenter
    folder's files), whose ``state`` holds the keys."""
    keys = state if isinstance(state, Mapping) else getattr(state, "state", None)
    if not isinstance(keys, Mapping):
        return ""
    try:
        found = detect_arch(keys)
    except ValueError:
        return ""
    return f" (its keys look like {found!r})" if found != tried else ""
