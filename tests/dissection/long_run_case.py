"""A long multi-device dissection compared with one device, run as a script in a subprocess
(so that the simulated device count can differ from the test suite's 8):

    XLA_FLAGS=--xla_force_host_platform_device_count=N python long_run_case.py BATCHES SIZE OUT

Hundreds of small batches over two layers, so the host dispatches the threshold and
intersection passes far ahead of the devices (the condition that once deadlocked XLA:CPU's
collectives; see the module docstring of ``jaxdissect.dissection.engine``). Saves every
statistic to OUT (``.npz``) for the test to compare with one device's.
"""

import sys
import time

import jax
import numpy as np

from jaxdissect.dissection.driver import dissect
from jaxdissect.dissection.presets import get_config
from jaxdissect.sharding import make_mesh

SHAPES = {"a": (16, 16, 64), "b": (8, 8, 96)}
SEG = (4, 32, 32)
NUM_CONCEPTS = 12


def batches(count: int, size: int, images: int):
    """``count`` batches of ``size`` rows; rows from ``images`` on are padding."""
    for b in range(count):
        rng = np.random.default_rng(b)
        index = np.arange(b * size, (b + 1) * size)
        batch = {l: rng.gamma(1.0, size=(size, *s)).astype(np.float32)
                 for l, s in SHAPES.items()}
        batch["seg"] = rng.integers(0, NUM_CONCEPTS, size=(size, *SEG)).astype(np.int32)
        batch["mask"], batch["index"] = index < images, np.where(index < images, index, 0)
        yield batch


def fn(batch):
    return {l: batch[l] for l in SHAPES}, batch["seg"]


def run(mesh, count: int, size: int) -> dict:
    """The results of ``count`` batches of ``size`` on ``mesh`` as flat numpy arrays."""
    results = dissect(fn, batches(count, size, images(count, size)), list(SHAPES),
                      get_config(topk=5), num_concepts=NUM_CONCEPTS, mesh=mesh, progress=False)
    arrays = {}
    for layer, r in results.items():
        for name in ("thresholds", "iou", "topk_values", "topk_indices"):
            arrays[f"{layer}/{name}"] = getattr(r, name)
        for name in ("inter", "unit_area", "concept_area"):
            arrays[f"{layer}/{name}"] = getattr(r.counts, name)
        arrays[f"{layer}/num_images"] = np.array(r.num_images)
    return arrays


def images(count: int, size: int) -> int:
    return count * size - size // 2  # the last batch is half padding


def main() -> int:
    count, size, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    start = time.perf_counter()
    np.savez(out, **run(make_mesh(jax.device_count()), count, size))
    print(f"{jax.device_count()} devices, {count} batches of {size}: "
          f"{time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
