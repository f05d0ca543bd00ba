"""The small dissection run by the multi-host test, in one process or in two."""

import flax.linen as nn
import jax
import numpy as np

from jaxdissect.dissection.presets import get_config

LAYERS = ("conv1", "conv2")
CONFIG = get_config(quantile=0.05, topk=6)
NUM_CONCEPTS = 7
GLOBAL_BATCH = 8


class TwoConvs(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(6, (3, 3), strides=2, name="conv1")(x))
        b = nn.relu(nn.Conv(5, (3, 3), strides=2, name="conv2")(a))
        return {"conv1": a, "conv2": b}


def model_fn():
    """Ordinary float weights (host numpy constants, identical in every process)."""
    rng = np.random.default_rng(7)
    params = {"params": {
        name: {"kernel": rng.normal(scale=0.4, size=shape).astype(np.float32),
               "bias": rng.normal(scale=0.1, size=shape[-1]).astype(np.float32)}
        for name, shape in (("conv1", (3, 3, 3, 6)), ("conv2", (3, 3, 6, 5)))
    }}
    model = TwoConvs()
    return jax.jit(lambda batch: (model.apply(params, batch["image"]), batch["seg"]))


def global_batches(n=29):
    rng = np.random.default_rng(11)
    images = rng.normal(size=(n, 16, 16, 3)).astype(np.float32)
    segs = rng.integers(0, NUM_CONCEPTS, size=(n, 2, 8, 8)).astype(np.int32)
    for start in range(0, n, GLOBAL_BATCH):
        stop = min(start + GLOBAL_BATCH, n)
        pad = GLOBAL_BATCH - (stop - start)
        yield {
            "image": np.concatenate([images[start:stop], np.zeros((pad, 16, 16, 3), np.float32)]),
            "seg": np.concatenate([segs[start:stop], np.zeros((pad, 2, 8, 8), np.int32)]),
            "index": np.arange(start, start + GLOBAL_BATCH),
            "mask": np.arange(GLOBAL_BATCH) < stop - start,
        }


def local_batches(process_id, num_processes):
    """This process's rows of every global batch."""
    rows = GLOBAL_BATCH // num_processes
    for batch in global_batches():
        yield {k: v[process_id * rows:(process_id + 1) * rows] for k, v in batch.items()}
