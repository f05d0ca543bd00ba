"""Caffe-style AlexNet port: PyTorch state dict -> params of
:class:`jaxdissect.models.alexnet.AlexNet`.

Keys ``conv{1..5}.{weight,bias}`` and ``fc{6,7,8}.{weight,bias}`` (the Places365 release, a
Sequential with named children). conv2, conv4 and conv5 are grouped (2 groups): torch stores them
as (out, in / 2, kh, kw) with the output channels group-major, which is exactly Flax's
``feature_group_count`` layout after the OIHW -> HWIO transpose. The number of classes comes from
fc8, the pool5 side ``s`` from fc6's input width (``256 * s * s``; 6 for 227 inputs).
Layout changes (all in :func:`layout`): conv OIHW -> HWIO, Linear transposes, fc6's input
reordered from torch's CHW flatten to our HWC flatten.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from jaxdissect.models.alexnet import AlexNet, input_size
from ports.common import (
    FlaxPath,
    conv_kernel,
    convert_with_table,
    dense_kernel,
    dense_kernel_from_chw,
)

CONV_NAMES = ("conv1", "conv2", "conv3", "conv4", "conv5")
FC_NAMES = ("fc6", "fc7", "fc8")
POOL5_CHANNELS = 256


def is_alexnet(keys: Iterable[str]) -> bool:
    keys = set(keys)
    return all(f"{name}.weight" in keys for name in (*CONV_NAMES, *FC_NAMES))


def read_sizes(state: Mapping[str, np.ndarray]) -> dict[str, int]:
    """``num_classes`` from fc8 and ``pool5_size`` from fc6 (defaults when they are missing)."""
    fc8 = state.get("fc8.weight")
    fc6 = state.get("fc6.weight")
    num_classes = int(fc8.shape[0]) if fc8 is not None and fc8.ndim == 2 else 365
    pool5_size = 6
    if fc6 is not None and fc6.ndim == 2:
        side = math.isqrt(fc6.shape[1] // POOL5_CHANNELS)
        if side >= 1 and side * side * POOL5_CHANNELS == fc6.shape[1]:
            pool5_size = side  # otherwise the strict check reports fc6 as mis-shaped
    return {"num_classes": num_classes, "pool5_size": pool5_size}


def name_table() -> dict[str, FlaxPath]:
    """torch key -> Flax param path (the names are the same)."""
    return {
        f"{name}.{leaf}": (name, "kernel" if leaf == "weight" else "bias")
        for name in (*CONV_NAMES, *FC_NAMES)
        for leaf in ("weight", "bias")
    }


def layout(path: FlaxPath, array: np.ndarray, pool5_size: int) -> np.ndarray:
    """Every layout change of the AlexNet port, for the param at ``path``."""
    if path[-1] == "bias":
        return array
    if array.ndim == 4:
        return conv_kernel(array)  # grouped convs included: see the module docstring
    if path[0] == "fc6":
        return dense_kernel_from_chw(array, (POOL5_CHANNELS, pool5_size, pool5_size))
    return dense_kernel(array)


def convert_alexnet(state: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, int]]:
    """AlexNet state dict -> (Flax params, sizes)."""
    sizes = read_sizes(state)
    module = AlexNet(sizes["num_classes"], sizes["pool5_size"])
    side = input_size(sizes["pool5_size"])
    params = convert_with_table(
        state,
        name_table(),
        module,
        (1, side, side, 3),
        lambda path, array: layout(path, array, sizes["pool5_size"]),
        "alexnet",
    )
    return params, sizes
