"""VGG16 port: PyTorch state dict -> params of :class:`jaxdissect.models.vgg.VGG16`.

Two key layouts are accepted, the same network either way:

- the Places365 release: ``features.conv1_1 .. features.conv5_3``, ``classifier.fc6/fc7/fc8a``
  (each ``.weight`` and ``.bias``);
- plain torchvision numbering: ``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}``,
  ``classifier.{0,3,6}``.

The number of classes comes from the last layer; the pool5 side ``s`` from fc6's input width
(``512 * s * s``; 7 for 224 inputs). Layout changes (all in :func:`layout`): conv OIHW -> HWIO,
Linear transposes, and fc6's input reordered from torch's CHW flatten to our HWC flatten.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from jaxdissect.models.vgg import CONV_NAMES, VGG16
from ports.common import (
    FlaxPath,
    conv_kernel,
    convert_with_table,
    dense_kernel,
    dense_kernel_from_chw,
)

TORCHVISION_CONV_INDEX = dict(zip(CONV_NAMES, (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
                                  strict=True))
TORCHVISION_FC_INDEX = {"fc6": 0, "fc7": 3, "fc8a": 6}
FC_NAMES = ("fc6", "fc7", "fc8a")
POOL5_CHANNELS = 512


def _torchvision_names() -> dict[str, str]:
    """torchvision key prefix -> Places365 key prefix."""
    names = {f"features.{i}": f"features.{n}" for n, i in TORCHVISION_CONV_INDEX.items()}
    names.update({f"classifier.{i}": f"classifier.{n}" for n, i in TORCHVISION_FC_INDEX.items()})
    return names


def is_torchvision_layout(keys: Iterable[str]) -> bool:
    return "features.0.weight" in set(keys)


def rename_torchvision(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename torchvision-numbered keys to the Places365 names; other keys are left as they are."""
    names = _torchvision_names()
    renamed = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        renamed[f"{names.get(prefix, prefix)}.{leaf}"] = value
    return renamed


def is_vgg16(keys: Iterable[str]) -> bool:
    """Places365 names, or torchvision numbering ending at features.28 (not VGG19, not _bn)."""
    keys = set(keys)
    if "features.conv5_3.weight" in keys and "classifier.fc8a.weight" in keys:
        return True
    return (
        "features.28.weight" in keys
        and "features.30.weight" not in keys
        and "classifier.6.weight" in keys
        and not any(k.endswith("running_mean") for k in keys)
    )


def read_sizes(state: Mapping[str, np.ndarray]) -> dict[str, int]:
    """``num_classes`` and ``pool5_size`` from fc8a and fc6 (defaults when they are missing)."""
    fc8a = state.get("classifier.fc8a.weight")
    fc6 = state.get("classifier.fc6.weight")
    num_classes = int(fc8a.shape[0]) if fc8a is not None and fc8a.ndim == 2 else 365
    pool5_size = 7
    if fc6 is not None and fc6.ndim == 2:
        side = math.isqrt(fc6.shape[1] // POOL5_CHANNELS)
        if side * side * POOL5_CHANNELS == fc6.shape[1]:
            pool5_size = side  # otherwise the strict check reports fc6 as mis-shaped
    return {"num_classes": num_classes, "pool5_size": pool5_size}


def name_table() -> dict[str, FlaxPath]:
    """Places365 torch key -> Flax param path."""
    table = {}
    for name in (*CONV_NAMES, *FC_NAMES):
        group = "features" if name in CONV_NAMES else "classifier"
        table[f"{group}.{name}.weight"] = (name, "kernel")
        table[f"{group}.{name}.bias"] = (name, "bias")
    return table


def layout(path: FlaxPath, array: np.ndarray, pool5_size: int) -> np.ndarray:
    """Every layout change of the VGG16 port, for the param at ``path``."""
    if path[-1] == "bias":
        return array
    if array.ndim == 4:
        return conv_kernel(array)
    if path[0] == "fc6":
        return dense_kernel_from_chw(array, (POOL5_CHANNELS, pool5_size, pool5_size))
    return dense_kernel(array)


def convert_vgg16(state: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, int]]:
    """VGG16 state dict (either layout) -> (Flax params, sizes)."""
    if is_torchvision_layout(state):
        state = rename_torchvision(state)
    sizes = read_sizes(state)
    module = VGG16(sizes["num_classes"], sizes["pool5_size"])
    side = 32 * sizes["pool5_size"]
    params = convert_with_table(
        state,
        name_table(),
        module,
        (1, side, side, 3),
        lambda path, array: layout(path, array, sizes["pool5_size"]),
        "vgg16",
    )
    return params, sizes
