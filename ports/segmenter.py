"""The published segmenter folders -> Flax params of :class:`UPerNet` and :class:`ColorNet`.

A segmenter folder holds ``encoder_epoch_N.pth``, ``decoder_epoch_N.pth`` and ``labels.json``
(``upp-resnet50-upernet``: N = 40; ``color-resnet18dilated-ppm_deepsup``: N = 20). Convert with
``jaxdissect convert FOLDER DEST --arch upernet50`` (or ``--arch colorseg``).

Keys are read as ``encoder.<key>`` and ``decoder.<key>``. Flax names: the encoder lives under
``encoder`` (``conv1..3``, ``bn1..3``, blocks ``layer{s}_{b}`` as in ``ports/resnet.py``); the
decoder's CBR modules hold ``conv`` and ``bn``; heads hold ``cbr`` and ``classifier``:

- UPerNet: ``ppm_conv.{i}.{0,1}`` -> ``ppm_conv_{i}``, ``ppm_last_conv.{0,1}``,
  ``fpn_in.{i}.{0,1}`` -> ``fpn_in_{i}``, ``fpn_out.{i}.0.{0,1}`` -> ``fpn_out_{i}``,
  ``conv_fusion.{0,1}``, ``{object,part,material}_head.0.{0,1}`` -> ``cbr``, ``.1`` ->
  ``classifier``. Ignored (listed in the converted metadata): ``scene_head.*``.
- colour: ``ppm.{i}.{1,2}`` -> ``ppm_{i}``, ``conv_last.{0,1}`` -> ``conv_last``,
  ``conv_last.4`` -> ``classifier``. Ignored: the deep-supervision branch ``cbr_deepsup.*``,
  ``conv_last_deepsup.*``.

Sizes (stem and stage widths, blocks per stage, decoder widths, class counts) come from the
tensors and must agree with ``labels.json``; every other tensor must be present with its shape
(all problems are listed in one error). The labels travel in the converted ``sizes``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jaxdissect.models.segmenter.colornet import POOL_SCALES as COLOR_SCALES
from jaxdissect.models.segmenter.colornet import build_colornet
from jaxdissect.models.segmenter.upernet import POOL_SCALES as UPERNET_SCALES
from jaxdissect.models.segmenter.upernet import build_upernet
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels
from ports.common import FlaxPath, conv_kernel, convert_with_table, load_state_dict

BN_LEAVES = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}
UPERNET_IGNORED = ("decoder.scene_head.",)
COLOR_IGNORED = ("decoder.cbr_deepsup.", "decoder.conv_last_deepsup.")
_EPOCH = re.compile(r"^(encoder|decoder)_epoch_(\d+)\.pth$")


@dataclass(frozen=True)
class SegmodelFiles:
    """A segmenter folder read into memory: ``encoder.*`` / ``decoder.*`` tensors and labels."""

    state: Mapping[str, np.ndarray]
    labels: Mapping[str, Any]
    source: str


def load_segmodel_folder(path: str | Path) -> SegmodelFiles:
    """Read ``encoder_epoch_N.pth``, ``decoder_epoch_N.pth`` (the largest N present in both)
    and ``labels.json`` from a folder."""
    import json

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a folder; pass the segmenter folder holding "
                                "encoder_epoch_N.pth, decoder_epoch_N.pth and labels.json")
    epochs: dict[str, set[int]] = {"encoder": set(), "decoder": set()}
    for file in path.iterdir():
        if m := _EPOCH.match(file.name):
            epochs[m.group(1)].add(int(m.group(2)))
    both = epochs["encoder"] & epochs["decoder"]
    if not both:
        found = sorted(p.name for p in path.iterdir())
        raise FileNotFoundError(f"{path} has no matching encoder_epoch_N.pth and "
                                f"decoder_epoch_N.pth (found {found})")
    if not (path / "labels.json").is_file():
        raise FileNotFoundError(f"{path} has no labels.json (the segmenter's class names)")
    epoch = max(both)
    state = {}
    for part in ("encoder", "decoder"):
        for key, value in load_state_dict(path / f"{part}_epoch_{epoch}.pth").items():
            state[f"{part}.{key}"] = value
    labels = json.loads((path / "labels.json").read_text())
    return SegmodelFiles(state, labels, str(path))


def _conv(torch_prefix: str, flax_prefix: FlaxPath, bias: bool = False) -> dict[str, FlaxPath]:
    table = {f"{torch_prefix}.weight": (*flax_prefix, "kernel")}
    if bias:
        table[f"{torch_prefix}.bias"] = (*flax_prefix, "bias")
    return table


def _bn(torch_prefix: str, flax_prefix: FlaxPath) -> dict[str, FlaxPath]:
    return {f"{torch_prefix}.{t}": (*flax_prefix, f) for t, f in BN_LEAVES.items()}


def _cbr(torch_prefix: str, flax_prefix: FlaxPath, conv: str = "0", bn: str = "1"):
    return {**_conv(f"{torch_prefix}.{conv}", (*flax_prefix, "conv")),
            **_bn(f"{torch_prefix}.{bn}", (*flax_prefix, "bn"))}


def encoder_table(stage_sizes: tuple[int, ...], bottleneck: bool) -> dict[str, FlaxPath]:
    """Deep-stem ResNet keys (``encoder.`` prefix) -> Flax paths under ``encoder``."""
    table: dict[str, FlaxPath] = {}
    for i in (1, 2, 3):
        table |= _conv(f"encoder.conv{i}", ("encoder", f"conv{i}"))
        table |= _bn(f"encoder.bn{i}", ("encoder", f"bn{i}"))
    for s, blocks in enumerate(stage_sizes, start=1):
        for b in range(blocks):
            key, block = f"encoder.layer{s}.{b}", ("encoder", f"layer{s}_{b}")
            for j in range(1, 4 if bottleneck else 3):
                table |= _conv(f"{key}.conv{j}", (*block, f"conv{j}"))
                table |= _bn(f"{key}.bn{j}", (*block, f"bn{j}"))
            if b == 0:
                table |= _conv(f"{key}.downsample.0", (*block, "downsample_conv"))
                table |= _bn(f"{key}.downsample.1", (*block, "downsample_bn"))
    return table


def upernet_decoder_table() -> dict[str, FlaxPath]:
    table: dict[str, FlaxPath] = {}
    for i in range(len(UPERNET_SCALES)):
        table |= _cbr(f"decoder.ppm_conv.{i}", (f"ppm_conv_{i}",))
    table |= _cbr("decoder.ppm_last_conv", ("ppm_last_conv",))
    for i in range(3):
        table |= _cbr(f"decoder.fpn_in.{i}", (f"fpn_in_{i}",))
        table |= _cbr(f"decoder.fpn_out.{i}.0", (f"fpn_out_{i}",))
    table |= _cbr("decoder.conv_fusion", ("conv_fusion",))
    for head in ("object_head", "part_head", "material_head"):
        table |= _cbr(f"decoder.{head}.0", (head, "cbr"))
        table |= _conv(f"decoder.{head}.1", (head, "classifier"), bias=True)
    return table


def color_decoder_table() -> dict[str, FlaxPath]:
    table: dict[str, FlaxPath] = {}
    for i in range(len(COLOR_SCALES)):
        table |= _cbr(f"decoder.ppm.{i}", (f"ppm_{i}",), conv="1", bn="2")
    table |= _cbr("decoder.conv_last", ("conv_last",))
    table |= _conv("decoder.conv_last.4", ("classifier",), bias=True)
    return table


def layout(path: FlaxPath, array: np.ndarray) -> np.ndarray:
    """The one layout change: conv kernels OIHW -> HWIO; everything else as is."""
    return conv_kernel(array) if path[-1] == "kernel" and array.ndim == 4 else array


def _dim(state: Mapping[str, np.ndarray], key: str, axis: int, source: str) -> int:
    if key not in state:
        part, _, rest = key.partition(".")
        raise ValueError(f"{source}: the {part} has no tensor {rest!r}; is this the right "
                         "segmenter folder and --arch?")
    return int(np.shape(state[key])[axis])


def encoder_sizes(state: Mapping[str, np.ndarray], source: str) -> dict[str, list[int]]:
    """Stem widths, blocks per stage and stage widths read from the encoder tensors."""
    stem = [_dim(state, f"encoder.conv{i}.weight", 0, source) for i in (1, 2, 3)]
    stages, widths = [], []
    for s in range(1, 5):
        widths.append(_dim(state, f"encoder.layer{s}.0.conv1.weight", 0, source))
        stages.append(sum(1 for b in range(64) if f"encoder.layer{s}.{b}.conv1.weight" in state))
    return {"stem_widths": stem, "stage_sizes": stages, "stage_widths": widths}


def _split_ignored(state, prefixes):
    ignored = sorted(k for k in state if k.startswith(prefixes))
    return {k: v for k, v in state.items() if k not in ignored}, ignored


def _as_files(src) -> SegmodelFiles:
    return src if isinstance(src, SegmodelFiles) else load_segmodel_folder(src)


def _check_count(what: str, from_labels: int, from_tensors: int, source: str) -> None:
    if from_labels != from_tensors:
        raise ValueError(f"{source}: labels.json names {from_labels} {what} but the checkpoint "
                         f"has {from_tensors}; the labels.json belongs to another model")


def convert_upernet50(src: SegmodelFiles | str | Path) -> tuple[dict, dict]:
    """A UPerNet folder (or its :class:`SegmodelFiles`) -> ``(params, sizes)``."""
    files = _as_files(src)
    state, ignored = _split_ignored(files.state, UPERNET_IGNORED)
    d = lambda key, axis=0: _dim(state, key, axis, files.source)
    sizes: dict[str, Any] = {
        **encoder_sizes(state, files.source),
        "fpn_dim": d("decoder.ppm_last_conv.0.weight"),
        "ppm_dim": d("decoder.ppm_conv.0.0.weight"),
        "num_objects": d("decoder.object_head.1.weight"),
        "num_parts": d("decoder.part_head.1.weight"),
        "num_materials": d("decoder.material_head.1.weight"),
    }
    labels = UnifiedLabels.from_json(files.labels)
    _check_count("objects", len(labels.objects), sizes["num_objects"], files.source)
    _check_count("part channels", labels.num_part_channels, sizes["num_parts"], files.source)
    _check_count("materials", len(labels.materials), sizes["num_materials"], files.source)
    table = encoder_table(tuple(sizes["stage_sizes"]), bottleneck=True) | upernet_decoder_table()
    params = convert_with_table(state, table, build_upernet(sizes), (1, 64, 64, 3), layout,
                                "upernet50")
    return params, {**sizes, "labels": labels.to_json(), "ignored": ignored}


def convert_colorseg(src: SegmodelFiles | str | Path) -> tuple[dict, dict]:
    """A colour segmenter folder (or its :class:`SegmodelFiles`) -> ``(params, sizes)``."""
    files = _as_files(src)
    state, ignored = _split_ignored(files.state, COLOR_IGNORED)
    d = lambda key, axis=0: _dim(state, key, axis, files.source)
    sizes: dict[str, Any] = {
        **encoder_sizes(state, files.source),
        "ppm_dim": d("decoder.ppm.0.1.weight"),
        "last_dim": d("decoder.conv_last.0.weight"),
        "num_classes": d("decoder.conv_last.4.weight"),
    }
    labels = ColorLabels.from_json(files.labels)
    _check_count("colour classes", len(labels.names), sizes["num_classes"], files.source)
    table = encoder_table(tuple(sizes["stage_sizes"]), bottleneck=False) | color_decoder_table()
    params = convert_with_table(state, table, build_colornet(sizes), (1, 64, 64, 3), layout,
                                "colorseg")
    return params, {**sizes, "labels": labels.to_json(), "ignored": ignored}
