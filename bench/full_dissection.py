"""Whole dissections of VGG16 conv5_3 with the model in the loop, for ``bench_stats.py``.

* :func:`jax_full_vs_forward`: jaxdissect's ``dissect`` (the model once per image, the
  statistics' passes from the activations kept on the devices, segmentations given) against the
  same jitted forward alone over the same batches and devices, alternating, medians.
* :func:`torch_reference`: the published algorithm as its reference code runs it, written from
  its description: PyTorch forward hooks; three passes, each recomputing the model (top-k of the
  spatial max; a randomized rank sketch of each unit's upsampled values for the threshold; IoU
  counts with a per-image loop over the labels present), on the same images, segmentations and
  weights.

Both take the same random VGG16 (torch, converted to Flax with ``ports``), 224x224 inputs and
(N, 6, 56, 56) label maps. With ``segmenter=True`` the label maps are not given: the published
segmenter (UPerNet-50 and the colour model, random weights, 224x224 in, 56x56 labels out) runs
inside the dissection's jitted function, and the forward it is compared with runs both models.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "parity")]

LAYER, SIDE, SEED = "conv5_3", 224, 0


def torch_vgg16():
    import torch_nets as T

    return T.randomize(T.vgg16(num_classes=365), seed=SEED, image_size=SIDE)


def images_of(n: int) -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal((n, SIDE, SIDE, 3)).astype(np.float32)


def host_batches(images, seg, size: int) -> list[dict]:
    out = []
    for start in range(0, len(images), size):
        rows = np.arange(start, min(start + size, len(images)))
        take = np.concatenate([rows, np.zeros(size - len(rows), int)])
        out.append({"image": images[take], "seg": seg[take], "index": take.astype(np.int32),
                    "mask": np.arange(size) < len(rows)})
    return out


def segmenter_fn():
    """The published segmenter on 224x224 images in [-1, 1] -> (N, 6, 56, 56) labels (a
    :class:`~jaxdissect.models.segmenter.segment.Segmenter`, with its vocabulary)."""
    from bench_segmenter import build_models

    from jaxdissect.models.segmenter.segment import published_segmenter

    with tempfile.TemporaryDirectory() as tmp:
        _, (upernet, colornet), labels = build_models(Path(tmp))
    return published_segmenter(upernet, colornet, image_size=(SIDE, SIDE))


def jax_full_vs_forward(seg: np.ndarray, images: int, batch: int, devices: int, runs: int,
                        concepts: int, segmenter: bool = False) -> dict:
    """Seconds per run (medians) of the forward alone and of the whole dissection."""
    import jax

    from jaxdissect.concepts import ConceptVocabulary
    from jaxdissect.dissection.driver import dissect
    from jaxdissect.dissection.presets import get_config
    from jaxdissect.sharding import make_mesh, replicate, shard_batch

    sys.path.insert(0, str(ROOT / "tests" / "parity"))
    import torch_nets as T

    mesh = make_mesh(devices)
    with tempfile.TemporaryDirectory() as tmp:
        net = T.save_and_convert(torch_vgg16(), Path(tmp), arch="vgg16")
    params = replicate(mesh, net.params)
    segment = segmenter_fn() if segmenter else None

    def model(p, b):
        acts = net.module.apply({"params": p}, b["image"], layers=(LAYER,))[1]
        return acts, (segment(jax.numpy.tanh(b["image"])) if segmenter else b["seg"])

    apply = jax.jit(model)
    fn = jax.jit(lambda b: apply(params, b))
    batches = host_batches(images_of(images), seg[:images], batch)
    vocabulary = segment.vocabulary if segmenter else ConceptVocabulary.numbered(concepts)

    def forward():  # pipelined as the driver's pass 0: wait for a batch while the next runs
        pending = None
        for b in batches:
            outputs = fn(shard_batch(mesh, b))
            if pending is not None:
                jax.block_until_ready(pending)
            pending = outputs
        jax.block_until_ready(pending)

    def full():
        return dissect(fn, iter(batches), [LAYER], get_config(), vocabulary=vocabulary,
                       mesh=mesh, progress=False)[LAYER]

    forward()
    result = full()  # warm-up: compiles every step
    times = {"forward": [], "full": []}
    for _ in range(runs):  # alternate, so that other load on the machine slows both alike
        for name, call in (("forward", forward), ("full", full)):
            tick = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - tick)
    seconds = {k: statistics.median(v) for k, v in times.items()}
    return {"devices": devices, "images": images, "batch": batch, "runs": times,
            "segmenter_in_the_loop": segmenter,
            "forward_seconds": seconds["forward"], "full_seconds": seconds["full"],
            "full_vs_forward": seconds["forward"] / seconds["full"],
            "device": f"{devices} x {jax.devices()[0].device_kind}",
            "thresholds": result.thresholds, "labels": result.labels.concept,
            "iou": result.iou}


# -- the published algorithm in PyTorch ---------------------------------------------------------

class RankSketch:
    """A randomized mergeable quantile sketch per unit (a KLL-style compactor, as the reference's
    running quantile): level ``i`` holds samples of weight ``2**i``; a full level is sorted and
    every other sample, from a random offset, moves up. ``resolution`` samples per level."""

    def __init__(self, units: int, resolution: int = 4096, seed: int = 1):
        import torch

        self.torch, self.units, self.resolution = torch, units, resolution
        self.levels: list = []
        self.generator = torch.Generator().manual_seed(seed)

    def add(self, values) -> None:
        """``values`` (n, U) float32 torch."""
        torch = self.torch
        self._push(0, values.t().contiguous())
        for level in range(len(self.levels)):
            if self.levels[level].shape[1] >= 2 * self.resolution:
                data = torch.sort(self.levels[level], dim=1).values
                offset = int(torch.randint(2, (1,), generator=self.generator))
                self.levels[level] = data[:, :0]
                self._push(level + 1, data[:, offset::2])

    def _push(self, level: int, data) -> None:
        while len(self.levels) <= level:
            self.levels.append(data[:, :0])
        self.levels[level] = self.torch.cat([self.levels[level], data], dim=1)

    def quantile(self, level: float):
        """(U,) the value with a fraction ``level`` of the weighted samples at or below it."""
        torch = self.torch
        data = torch.cat(self.levels, dim=1)
        weights = torch.cat([torch.full((d.shape[1],), 2.0**i, device=data.device)
                             for i, d in enumerate(self.levels)])
        order = torch.argsort(data, dim=1)
        cumulative = torch.cumsum(weights[order], dim=1)
        rank = torch.searchsorted(cumulative, (level * cumulative[:, -1:]).contiguous())
        return torch.gather(data, 1, order).gather(1, rank.clamp(max=data.shape[1] - 1))[:, 0]


def torch_reference(seg: np.ndarray, images: int, batch: int, runs: int, concepts: int,
                    topk: int = 100, q: float = 0.01) -> dict:
    """Seconds per whole dissection (median) of the reference algorithm, and its results."""
    import torch

    from jaxdissect.dissection.interpolation import interpolation_matrix

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = torch_vgg16().to(device)
    tap = model.LAYERS[LAYER]
    grabbed = {}
    tap.register_forward_hook(lambda _m, _i, out: grabbed.__setitem__("acts", out))
    x_all = torch.as_tensor(images_of(images).transpose(0, 3, 1, 2).copy()).to(device)
    labels = torch.as_tensor(seg[:images].astype(np.int64)).to(device)
    height, width = seg.shape[2:]
    rows = torch.tensor(interpolation_matrix(14, height, "pnas2020")).to(device)
    cols = torch.tensor(interpolation_matrix(14, width, "pnas2020")).to(device)

    def activations():  # the model, recomputed in every pass
        for start in range(0, images, batch):
            with torch.no_grad():
                model(x_all[start:start + batch])
            yield start, grabbed["acts"]  # (b, U, 14, 14), post-ReLU (in-place ReLU)

    def upsampled(acts):  # (b, U, H, W)
        return torch.einsum("Hh,Ww,buhw->buHW", rows, cols, acts)

    def dissection():
        peaks = torch.cat([a.amax(dim=(2, 3)) for _, a in activations()])  # pass 1: top-k
        top = torch.topk(peaks, min(topk, images), dim=0).indices.t()
        sketch = RankSketch(peaks.shape[1])
        for _, acts in activations():  # pass 2: thresholds
            sketch.add(upsampled(acts).permute(0, 2, 3, 1).reshape(-1, acts.shape[1]))
        thresholds = sketch.quantile(1 - q)
        units = len(thresholds)
        inter = torch.zeros(units, concepts, dtype=torch.int64, device=device)
        unit_area = torch.zeros(units, dtype=torch.int64, device=device)
        concept_area = torch.zeros(concepts, dtype=torch.int64, device=device)
        for start, acts in activations():  # pass 3: IoU counts, image by image
            on_batch = upsampled(acts) > thresholds[None, :, None, None]
            for i, on in enumerate(on_batch):
                image_labels = labels[start + i]
                unit_area += on.sum(dim=(1, 2))
                for c in torch.unique(image_labels).tolist():
                    if c == 0:
                        continue
                    here = (image_labels == c).any(dim=0)
                    concept_area[c] += here.sum()
                    inter[:, c] += on[:, here].sum(dim=1)
        union = unit_area[:, None] + concept_area[None, :] - inter
        iou = inter.double() / union.clamp(min=1).double()
        return thresholds.cpu().numpy(), iou.argmax(dim=1).cpu().numpy(), top.cpu().numpy()

    dissection()  # warm-up
    seconds = []
    for _ in range(runs):
        tick = time.perf_counter()
        thresholds, labels_found, _ = dissection()
        seconds.append(time.perf_counter() - tick)
    return {"images": images, "batch": batch, "seconds": statistics.median(seconds),
            "runs": seconds, "torch_threads": torch.get_num_threads(), "device": str(device),
            "thresholds": thresholds, "labels": labels_found}
