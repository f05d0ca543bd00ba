"""On an accelerator: a dissection gives the same bits for any batch size, and agrees with CPU.

The CPU tests show batch-size and device-count invariance on simulated CPU devices, where the
engine loops over images; GPUs and TPUs take whole batches (``StepPlan.per_image``), with other
kernels (cuBLAS/XLA matmuls for the resampling, the matmul label counts). This script runs
``dissect_arrays`` on the default backend at several batch sizes on random data (96 images,
256 units at 7x7 -> 28x28 and 14x14 -> 56x56, 3 label channels, 200 concepts, both resampling
modes), requires identical thresholds, counts, IoU and top-k across batch sizes, and compares
with the CPU backend (the CPU's matmul kernels may round a few values differently, so a few
pixels at a threshold may move: reported, not required to be zero).

Usage: ``python bench/check_accelerator.py [--out FILE]`` (exit status 1 if a batch size changes
a bit); ``--out`` writes the findings as JSON (default ``bench/out/check_accelerator.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import jax
import numpy as np

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.presets import get_config
from jaxdissect.runs.arrays import dissect_arrays

IMAGES, UNITS, CHANNELS, CONCEPTS = 96, 256, 3, 200


def data(source: int, target: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    acts = np.maximum(rng.standard_normal((IMAGES, UNITS, source, source)) - 0.5, 0)
    blocks = rng.integers(0, CONCEPTS, size=(IMAGES, CHANNELS, 7, 7))
    segs = np.kron(blocks, np.ones((1, 1, target // 7, target // 7), np.int64))
    return acts.astype(np.float32), segs.astype(np.int32)


def run(acts, segs, mode, batch, devices):
    return dissect_arrays(acts, segs, config=get_config(upsample=mode, topk=10),
                          concepts=ConceptVocabulary.numbered(CONCEPTS), batch_size=batch,
                          devices=devices, progress=False)


def same(a, b) -> bool:
    return (np.array_equal(a.thresholds, b.thresholds) and np.array_equal(a.iou, b.iou)
            and np.array_equal(a.counts.inter, b.counts.inter)
            and np.array_equal(a.topk_indices, b.topk_indices))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "out" / "check_accelerator.json")
    args = parser.parse_args(argv)
    device = jax.devices()[0]
    rows = []
    print(f"default backend: {device.platform} ({device.device_kind}), jax {jax.__version__}")
    failures = 0
    for source, target in ((7, 28), (14, 56)):
        acts, segs = data(source, target)
        for mode in ("pnas2020", "bilinear"):
            results = {b: run(acts, segs, mode, b, [device]) for b in (8, 32, 96)}
            invariant = all(same(results[8], r) for r in results.values())
            failures += not invariant
            cpu = run(acts, segs, mode, 32, jax.devices("cpu")[:1])
            moved = np.abs(cpu.counts.inter - results[8].counts.inter).sum()
            ulps = np.abs(cpu.thresholds.view(np.int32) - results[8].thresholds.view(np.int32))
            rows.append({"shape": f"{source}->{target}", "mode": mode,
                         "batch_sizes_identical": bool(invariant),
                         "thresholds_equal_to_cpu": float(np.mean(ulps == 0)),
                         "threshold_max_ulps": int(ulps.max()),
                         "intersection_pixels_moved": int(moved),
                         "intersection_pixels": int(cpu.counts.inter.sum()),
                         "labels_equal_to_cpu": float(np.mean(
                             cpu.labels.concept == results[8].labels.concept))})
            print(f"{source}->{target} {mode}: batch sizes 8/32/96 identical: {invariant}; "
                  f"vs CPU: thresholds equal {np.mean(ulps == 0):.1%} (max {ulps.max()} ulps), "
                  f"{moved} of {cpu.counts.inter.sum()} intersection pixels differ, labels "
                  f"equal {np.mean(cpu.labels.concept == results[8].labels.concept):.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{device.device_kind} ({device.platform}), {os.cpu_count()} CPU cores, "
                   f"jax {jax.__version__}",
        "command": " ".join(["python", "bench/check_accelerator.py", *sys.argv[1:]]),
        "load_average": os.getloadavg()[0], "rows": rows, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
