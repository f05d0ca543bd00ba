"""End-to-end dissection throughput and memory of ``dissect_arrays`` on conv5_3-shaped data.

Writes float16 activations (N, U, h, w) and int16 multi-label segmentations (N, K, H, W) with
blob-shaped regions to a temporary folder, then times ``dissect_arrays`` (every pass: top-k and
the exact quantile's radix passes over the upsampled maps, then intersection counts) after a
warm-up run that compiles the steps, and reports images/s (whole dissection, all passes), the
peak growth of anonymous resident memory (sampled from /proc; the memory-mapped input's page
cache is not counted) against the input size (the arrays are streamed), and a
straightforward numpy implementation on a subset (np.partition thresholds, per-image loop over
the labels present) run in the same process on the same data, as a ratio; the subset's
thresholds and counts are checked against the numpy ones.

    python bench/bench_driver.py                      # default: 256 images, 512 units, 14 -> 56
    python bench/bench_driver.py --images 2048 --devices 8

Results go to stdout (a markdown table) and ``bench/out/bench_driver.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import jax
import numpy as np

from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.upsample import interpolation_matrix
from jaxdissect.runs.arrays import dissect_arrays


def make_data(folder: Path, args) -> tuple[Path, Path]:
    """Random activations and segmentations with a few dozen rectangular label regions each."""
    rng = np.random.default_rng(0)
    acts = np.lib.format.open_memmap(folder / "acts.npy", "w+", np.float16,
                                     (args.images, args.units, args.size, args.size))
    segs = np.lib.format.open_memmap(folder / "segs.npy", "w+", np.int16,
                                     (args.images, args.channels, args.seg, args.seg))
    for i in range(args.images):
        acts[i] = np.maximum(rng.normal(size=acts.shape[1:]), 0)
        segs[i] = 0
        for _ in range(args.regions):
            k = rng.integers(args.channels)
            y, x = rng.integers(0, args.seg, size=2)
            h, w = rng.integers(4, args.seg // 2, size=2)
            segs[i, k, y:y + h, x:x + w] = rng.integers(1, args.concepts)
    segs[0, 0, 0, 0] = args.concepts - 1  # the vocabulary size is max label + 1
    acts.flush()
    segs.flush()
    return folder / "acts.npy", folder / "segs.npy"


def numpy_dissection(acts: np.ndarray, segs: np.ndarray, q: float, num_concepts: int):
    """The straightforward way: everything upsampled in memory, np.partition, label loops."""
    rows = interpolation_matrix(acts.shape[2], segs.shape[2])
    cols = interpolation_matrix(acts.shape[3], segs.shape[3])
    up = np.einsum("Hh,Ww,nuhw->nHWu", rows, cols, acts.astype(np.float32), optimize=True)
    values = up.reshape(-1, up.shape[-1])
    k = max(1, int(np.ceil(q * len(values))))
    thresholds = -np.partition(-values, k - 1, axis=0)[k - 1]
    inter = np.zeros((up.shape[-1], num_concepts), np.int64)
    for i in range(len(segs)):
        on = up[i] > thresholds
        for c in np.unique(segs[i]):
            if c:
                inter[:, c] += on[(segs[i] == c).any(axis=0)].sum(axis=0)
    return thresholds, inter


def anonymous_rss_mib() -> float:
    """Resident anonymous memory (not the memory-mapped input files' pages), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PeakSampler(threading.Thread):
    """Samples anonymous resident memory every 20 ms; ``peak`` is the largest seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._halt = anonymous_rss_mib(), threading.Event()

    def run(self):
        while not self._halt.wait(0.02):
            self.peak = max(self.peak, anonymous_rss_mib())

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


def run(args) -> dict:
    config = get_config(quantile=args.quantile)
    with tempfile.TemporaryDirectory() as tmp:
        acts_path, segs_path = make_data(Path(tmp), args)
        acts, segs = np.load(acts_path, mmap_mode="r"), np.load(segs_path, mmap_mode="r")
        subset = slice(0, args.baseline_images)
        kw = dict(config=config, batch_size=args.batch, devices=args.devices, progress=False)
        check = dissect_arrays(acts[subset], segs[subset], **kw)  # warm-up: compiles the steps
        baseline = anonymous_rss_mib()
        sampler = PeakSampler()
        sampler.start()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            dissect_arrays(acts_path, segs_path, **kw)
            times.append(time.perf_counter() - start)
        peak = sampler.stop()
        start = time.perf_counter()
        ref_thresholds, ref_inter = numpy_dissection(np.asarray(acts[subset]),
                                                     np.asarray(segs[subset]), config.quantile,
                                                     check.vocabulary.num_concepts)
        numpy_seconds = time.perf_counter() - start
    seconds = statistics.median(times)
    input_mib = (acts.nbytes + segs.nbytes) / 2**20
    return {
        "device": f"{jax.devices()[0].platform} x{args.devices or jax.device_count()}",
        "cpu": platform.processor() or platform.machine(),
        "shape": f"{args.units} units {args.size}x{args.size} -> {args.seg}x{args.seg}, "
                 f"{args.channels} label channels, {check.vocabulary.num_concepts} concepts",
        "images": args.images, "batch": args.batch,
        "seconds_median": seconds, "runs": times,
        "images_per_s": args.images / seconds,
        "numpy_images_per_s": args.baseline_images / numpy_seconds,
        "speedup_vs_numpy": (args.images / seconds) / (args.baseline_images / numpy_seconds),
        "input_mib": input_mib,
        "anon_rss_before_mib": baseline,
        "anon_rss_peak_growth_mib": peak - baseline,
        "threshold_max_rel_diff_vs_numpy": float(np.max(
            np.abs(check.thresholds - ref_thresholds) / np.maximum(np.abs(ref_thresholds),
                                                                   1e-12))),
        "inter_max_abs_diff_vs_numpy": int(np.abs(check.counts.inter - ref_inter).max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--size", type=int, default=14)
    parser.add_argument("--seg", type=int, default=56)
    parser.add_argument("--channels", type=int, default=6)
    parser.add_argument("--concepts", type=int, default=1825)
    parser.add_argument("--regions", type=int, default=30)
    parser.add_argument("--quantile", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--baseline-images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    result = run(args)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_driver.json").write_text(json.dumps(result, indent=1))
    print(f"| {result['device']} | {result['shape']} |")
    print("| measure | value |\n|---|---|")
    for key in ("images", "images_per_s", "numpy_images_per_s", "speedup_vs_numpy",
                "input_mib", "anon_rss_before_mib", "anon_rss_peak_growth_mib",
                "threshold_max_rel_diff_vs_numpy", "inter_max_abs_diff_vs_numpy"):
        value = result[key]
        print(f"| {key} | {value:.3g} |" if isinstance(value, float) else f"| {key} | {value} |")


if __name__ == "__main__":
    main()
