"""Input pipeline throughput: can decoding keep up with the VGG16 forward pass?

Generates JPEGs (512x384, smooth content plus noise, quality 90) in a temporary folder, then
measures decoded images per second through ``jaxdissect.data.batches`` (squash to 256, centre
crop 224, uint8) with 1 and 2 decoding threads, grain's multiprocessing workers on the same
rows (the alternative to threads), the packed cache (build once, then memory-mapped reads), and
the VGG16 forward pass at 224 (float32, layer conv5_3 requested, random weights) on the default
jax device. Each figure is the median of ``--repeats`` timed passes after a warm-up pass.

Prints a Markdown table and writes ``bench/out/data.json`` (see ``bench/record.py``). About 1-3
minutes on 2 cores.
Usage: ``python bench/bench_data.py [--images 500] [--repeats 3] [--batch 50]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import record  # noqa: E402

from jaxdissect.data import ImageFolder, batches, cached  # noqa: E402


def write_jpegs(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:384, 0:512]
    for i in range(count):
        folder = root / f"class{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        smooth = np.sin(x / (9 + i % 17)) * 60 + np.cos(y / (7 + i % 13)) * 60 + 128
        pixels = smooth[..., None] + rng.normal(0, 12, (384, 512, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg",
                                                                    quality=90)


def rate(make_pass, repeats: int) -> tuple[float, list[float]]:
    """Median images/s of ``repeats`` timed passes after one warm-up pass."""
    make_pass()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        images = make_pass()
        rates.append(images / (time.perf_counter() - start))
    return statistics.median(rates), rates


def pipeline_pass(source, batch: int, workers: int):
    def run() -> int:
        count = 0
        for b in batches(source, batch, process_index=0, process_count=1, num_workers=workers):
            count += int(b["mask"].sum())
        return count
    return run


def grain_pass(folder: ImageFolder, batch: int, workers: int):
    import grain
    from absl import flags

    flags.FLAGS.mark_as_parsed()  # grain reads absl flags; nothing parses them in a script

    def run() -> int:
        dataset = grain.MapDataset.source(GrainRows(folder)).batch(batch).to_iter_dataset()
        options = grain.MultiprocessingOptions(num_workers=workers)
        return sum(len(b["image"]) for b in dataset.mp_prefetch(options))
    return run


class GrainRows:
    """Random access for grain (picklable: the rows only, no thread pool)."""

    def __init__(self, folder: ImageFolder):
        self.folder = folder

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int) -> dict:
        return self.folder.read_row(index)


def vgg_pass(batch: int):
    import jax
    import jax.numpy as jnp

    from jaxdissect.models.base import Normalization
    from jaxdissect.models.vgg import VGG16

    model, normalize = VGG16(), Normalization()
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (batch, 224, 224, 3),
                                                           dtype=np.uint8))
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 224, 224, 3)))["params"]
    forward = jax.jit(lambda p, x: model.apply({"params": p}, normalize(x),
                                               layers=("conv5_3",))[1]["conv5_3"])

    def run() -> int:
        forward(params, images).block_until_ready()
        return batch
    return run, str(jax.devices()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--vgg-batch", type=int, default=8)
    args = parser.parse_args()
    rows, load_before = [], record.load_average()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "jpegs"
        write_jpegs(root, args.images)
        folder = ImageFolder(root)
        for workers in (1, 2):
            median, runs = rate(pipeline_pass(folder, args.batch, workers), args.repeats)
            rows.append((f"JPEG folder, {workers} decoding thread(s)", median, runs))
        median, runs = rate(grain_pass(folder, args.batch, 2), args.repeats)
        rows.append(("JPEG folder, grain, 2 worker processes", median, runs))
        start = time.perf_counter()
        packed = cached(ImageFolder(root), Path(tmp) / "cache")
        rows.append(("packed cache: build (one decode pass)",
                     args.images / (time.perf_counter() - start), []))
        median, runs = rate(pipeline_pass(packed, args.batch, 0), args.repeats)
        rows.append(("packed cache: read", median, runs))
    run, device = vgg_pass(args.vgg_batch)
    median, runs = rate(run, args.repeats)
    rows.append((f"VGG16 forward to conv5_3, float32, batch {args.vgg_batch}", median, runs))
    report(rows, args, device, load_before)


def report(rows, args, device: str, load_before: str) -> None:
    lines = [f"{args.images} JPEGs of 512x384, squashed to 256 and cropped to 224, batch "
             f"{args.batch}:", "", "| stage | images/s (median) |", "|---|---:|"]
    lines += [f"| {name} | {median:.1f} |" for name, median, _ in rows]
    table = "\n".join(lines)
    print(table)
    rate = {name: median for name, median, _ in rows}
    decode = max(m for n, m in rate.items() if n.startswith("JPEG folder"))
    forward = rows[-1][1]
    notes = [f"Decoding keeps up with the VGG16 forward {decode / forward:.0f} times over on "
             "this CPU; on an accelerator JPEG decoding would become the bottleneck, and the "
             f"packed cache ({rate['packed cache: read']:,.0f} images/s) removes it."]
    result = {"images": args.images, "batch": args.batch, "repeats": args.repeats,
              "device": device,
              "rows": [{"stage": n, "images_per_s": m, "runs": r} for n, m, r in rows]}
    path = record.save("data", result, table=table, notes=notes, load_before=load_before)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
