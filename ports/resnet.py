"""ResNet ports: torchvision ResNet-18/50 and the Torch7 ResNet-152 -> params of
:class:`jaxdissect.models.resnet.ResNet` / :class:`~jaxdissect.models.resnet.ResNetTorch7`.

Flax names (both layouts): ``conv1``, ``bn1``, blocks ``layer{s}_{b}`` holding ``conv{j}`` /
``bn{j}`` and ``downsample_conv`` / ``downsample_bn``, and ``fc``; BatchNorm ``weight, bias,
running_mean, running_var`` become ``scale, bias, mean, var``.

- torchvision: ``conv1``, ``bn1``, ``layer{s}.{b}.{conv,bn}{j}``, ``layer{s}.{b}.downsample.{0,1}``,
  ``fc``; ``num_batches_tracked`` is ignored (dropped when the file is read).
- Torch7 ResNet-152 (a numeric Sequential): ``0`` conv1, ``1`` BN; stages ``4..7``; block ``b`` of
  stage ``s``: residual convs ``s.b.0.0.{0,3,6}`` with BNs ``s.b.0.0.{1,4,7}``, projection
  ``s.0.0.1.{0,1}`` in block 0; fc ``10.1``.

The number of classes comes from the fc layer. Layout changes (all in :func:`layout`): conv
OIHW -> HWIO and the fc transpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

from jaxdissect.models.resnet import (
    RESNET18_STAGES,
    RESNET50_STAGES,
    RESNET152_STAGES,
    ResNet,
    ResNetTorch7,
)
from ports.common import FlaxPath, conv_kernel, convert_with_table, dense_kernel

BN_LEAVES = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}


def _conv(torch_prefix: str, flax_prefix: FlaxPath) -> dict[str, FlaxPath]:
    return {f"{torch_prefix}.weight": (*flax_prefix, "kernel")}


def _bn(torch_prefix: str, flax_prefix: FlaxPath) -> dict[str, FlaxPath]:
    return {f"{torch_prefix}.{t}": (*flax_prefix, f) for t, f in BN_LEAVES.items()}


def _has_projection(stage: int, block: int, bottleneck: bool) -> bool:
    """Block 0 of every stage whose shape changes (all but a basic-block network's first)."""
    return block == 0 and (stage > 0 or bottleneck)


def torchvision_table(stage_sizes: tuple[int, ...], bottleneck: bool) -> dict[str, FlaxPath]:
    """torchvision torch key -> Flax param path."""
    table = {**_conv("conv1", ("conv1",)), **_bn("bn1", ("bn1",))}
    for s, num_blocks in enumerate(stage_sizes):
        for b in range(num_blocks):
            block, prefix = f"layer{s + 1}_{b}", f"layer{s + 1}.{b}"
            for j in range(1, 4 if bottleneck else 3):
                table |= _conv(f"{prefix}.conv{j}", (block, f"conv{j}"))
                table |= _bn(f"{prefix}.bn{j}", (block, f"bn{j}"))
            if _has_projection(s, b, bottleneck):
                table |= _conv(f"{prefix}.downsample.0", (block, "downsample_conv"))
                table |= _bn(f"{prefix}.downsample.1", (block, "downsample_bn"))
    return table | {"fc.weight": ("fc", "kernel"), "fc.bias": ("fc", "bias")}


def torch7_table(stage_sizes: tuple[int, ...]) -> dict[str, FlaxPath]:
    """Torch7 (numeric Sequential) torch key -> Flax param path; bottleneck blocks."""
    table = {**_conv("0", ("conv1",)), **_bn("1", ("bn1",))}
    for s, num_blocks in enumerate(stage_sizes):
        for b in range(num_blocks):
            block, prefix = f"layer{s + 1}_{b}", f"{s + 4}.{b}.0"
            for j, index in enumerate((0, 3, 6), start=1):
                table |= _conv(f"{prefix}.0.{index}", (block, f"conv{j}"))
                table |= _bn(f"{prefix}.0.{index + 1}", (block, f"bn{j}"))
            if _has_projection(s, b, True):
                table |= _conv(f"{prefix}.1.0", (block, "downsample_conv"))
                table |= _bn(f"{prefix}.1.1", (block, "downsample_bn"))
    return table | {"10.1.weight": ("fc", "kernel"), "10.1.bias": ("fc", "bias")}


def layout(path: FlaxPath, array: np.ndarray) -> np.ndarray:
    """Every layout change of the ResNet ports, for the param at ``path``."""
    if path[-1] == "kernel" and array.ndim == 4:
        return conv_kernel(array)
    if path[-1] == "kernel":
        return dense_kernel(array)
    return array  # BN statistics and biases


def _block_counts(keys: Iterable[str], pattern: str) -> tuple[int, ...]:
    """Blocks per stage, from keys matching ``pattern`` (groups: stage, block)."""
    counts: dict[int, int] = {}
    for key in keys:
        if m := re.fullmatch(pattern, key):
            stage, block = int(m.group(1)), int(m.group(2))
            counts[stage] = max(counts.get(stage, 0), block + 1)
    return tuple(counts[s] for s in sorted(counts))


def torchvision_layout(keys: Iterable[str]) -> tuple[tuple[int, ...], bool] | None:
    """(blocks per stage, bottleneck) of a torchvision ResNet key set, or None."""
    keys = set(keys)
    if not {"conv1.weight", "bn1.weight", "fc.weight"} <= keys:
        return None
    counts = _block_counts(keys, r"layer(\d)\.(\d+)\.conv1\.weight")
    return counts, "layer1.0.conv3.weight" in keys


def is_resnet18(keys: Iterable[str]) -> bool:
    return torchvision_layout(keys) == (RESNET18_STAGES, False)


def is_resnet50(keys: Iterable[str]) -> bool:
    return torchvision_layout(keys) == (RESNET50_STAGES, True)


def is_resnet152(keys: Iterable[str]) -> bool:
    """Any Torch7 numeric ResNet layout (the strict check then demands 3, 8, 36, 3 blocks)."""
    keys = set(keys)
    return {"0.weight", "1.running_mean", "4.0.0.0.0.weight", "10.1.weight"} <= keys


def _num_classes(state: Mapping[str, np.ndarray], key: str) -> int:
    fc = state.get(key)
    return int(fc.shape[0]) if fc is not None and fc.ndim == 2 else 365


def _convert(state, module, table, arch) -> tuple[dict, dict[str, int]]:
    params = convert_with_table(state, table, module, (1, 224, 224, 3), layout, arch)
    return params, {"num_classes": module.num_classes}


def convert_resnet18(state: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, int]]:
    """torchvision ResNet-18 state dict -> (Flax params, sizes)."""
    module = ResNet(RESNET18_STAGES, False, _num_classes(state, "fc.weight"))
    return _convert(state, module, torchvision_table(RESNET18_STAGES, False), "resnet18")


def convert_resnet50(state: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, int]]:
    """torchvision ResNet-50 state dict -> (Flax params, sizes)."""
    module = ResNet(RESNET50_STAGES, True, _num_classes(state, "fc.weight"))
    return _convert(state, module, torchvision_table(RESNET50_STAGES, True), "resnet50")


def convert_resnet152(state: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, int]]:
    """Torch7-layout ResNet-152 state dict -> (Flax params, sizes)."""
    module = ResNetTorch7(RESNET152_STAGES, True, _num_classes(state, "10.1.weight"))
    return _convert(state, module, torch7_table(RESNET152_STAGES), "resnet152")
