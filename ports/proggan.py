"""Progressive GAN generator checkpoints (PyTorch state dicts) -> Flax parameters.

Accepted layouts (see the checkpoint reference):

- published: ``layer{i}.conv.weight`` [out, in, k, k], ``layer{i}.wscale.b`` [out] for i = 1..L,
  ``output_{R}x{R}.conv.weight`` [3, C, 1, 1], ``output_{R}x{R}.wscale.b`` [3];
- legacy: ``features.{i-1}.*`` for ``layer{i}.*`` and ``output.*`` for the output block;
- either one wrapped in ``{'state_dict': ...}``.

The channel schedule (latent size, widths, number of layers, resolution) is read from the
tensors; the conversion is strict (``ports.common.convert_with_table``): every missing,
unexpected or mis-shaped tensor is listed in one error. Registered as ``proggan`` for
``jaxdissect convert`` with key-based detection (:func:`matches`). Nothing here imports torch:
values may be numpy arrays or anything ``np.asarray`` accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from jaxdissect.models.proggan import (
    ProgressiveGenerator,
    num_layers,
    output_name,
    output_resolution,
)
from ports.common import FlaxPath, conv_kernel, convert_with_table

ARCH = "proggan"
_LAYER_KEY = re.compile(r"^layer(\d+)\.conv\.weight$")
_LEGACY_KEY = re.compile(r"^features\.(\d+)\.(.+)$")


def unwrap(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """Strip a ``{'state_dict': ...}`` wrapper if present."""
    inner = state.get("state_dict") if isinstance(state, Mapping) else None
    return inner if isinstance(inner, Mapping) else state


def matches(keys) -> bool:
    """Whether a set of state-dict keys looks like a ProGAN generator (either layout)."""
    keys = set(keys)
    published = "layer1.conv.weight" in keys and "layer1.wscale.b" in keys
    legacy = "features.0.conv.weight" in keys and "output.conv.weight" in keys
    return published or legacy


def rename_legacy(state: Mapping[str, Any]) -> dict[str, Any]:
    """``features.{i}.*`` -> ``layer{i+1}.*`` and ``output.*`` -> ``output_{R}x{R}.*``."""
    if not any(_LEGACY_KEY.match(k) for k in state):
        return dict(state)
    count = len({m.group(1) for k in state if (m := _LEGACY_KEY.match(k))})
    side = 4 * 2 ** ((count - 1) // 2)
    renamed = {}
    for key, value in state.items():
        m = _LEGACY_KEY.match(key)
        if m:
            key = f"layer{int(m.group(1)) + 1}.{m.group(2)}"
        elif key.startswith("output."):
            key = f"output_{side}x{side}." + key[len("output."):]
        renamed[key] = value
    return renamed


def sizes_from_state(state: Mapping[str, Any]) -> tuple[int, ...]:
    """The channel schedule (latent, width of layers 1-2, width of each later pair)."""
    indices = sorted(int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k)))
    if not indices or indices != list(range(1, len(indices) + 1)):
        raise ValueError(
            "not a ProGAN generator state dict: expected layer1.conv.weight, layer2.conv.weight, "
            f"... without gaps, found layers {indices}"
        )
    if len(indices) % 2:
        raise ValueError(f"a ProGAN generator has an even number of layers, found {len(indices)}")
    shapes = [np.shape(state[f"layer{i}.conv.weight"]) for i in indices]
    if any(len(s) != 4 for s in shapes):
        raise ValueError(f"ProGAN conv weights must be 4-D [out, in, k, k], got shapes {shapes}")
    sizes = [shapes[0][1], shapes[0][0]]
    sizes += [shapes[i - 1][0] for i in indices[2::2]]
    return tuple(int(s) for s in sizes)


def name_table(sizes: tuple[int, ...]) -> dict[str, FlaxPath]:
    """torch key -> Flax param path, for every tensor of a generator with this schedule."""
    blocks = [f"layer{i}" for i in range(1, num_layers(sizes) + 1)] + [output_name(sizes)]
    table: dict[str, FlaxPath] = {}
    for block in blocks:
        table[f"{block}.conv.weight"] = (block, "conv", "kernel")
        table[f"{block}.wscale.b"] = (block, "wscale", "b")
    return table


def layout(path: FlaxPath, array: np.ndarray) -> np.ndarray:
    """The one layout change: conv weights OIHW -> HWIO; biases as they are."""
    return conv_kernel(array) if path[-1] == "kernel" else array


def convert(state: Mapping[str, Any]) -> tuple[dict, dict]:
    """A ProGAN state dict (any accepted layout) -> ``(params, sizes)``.

    ``params`` is the Flax tree of :class:`ProgressiveGenerator` (float32 numpy arrays);
    ``sizes`` (JSON-able) holds the channel schedule ``sizes``, the ``resolution`` and the
    ``layers``; ``jaxdissect.models.proggan`` builds the module from it. Every missing,
    unexpected or mis-shaped tensor is listed in one error.
    """
    state = {k: np.asarray(v, np.float32) for k, v in rename_legacy(unwrap(state)).items()}
    sizes = sizes_from_state(state)
    module = ProgressiveGenerator(sizes=sizes)
    params = convert_with_table(state, name_table(sizes), module, (1, sizes[0]), layout, ARCH)
    meta = {"sizes": list(sizes), "resolution": output_resolution(sizes),
            "layers": list(module.LAYERS)}
    return params, meta
