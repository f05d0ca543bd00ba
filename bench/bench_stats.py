"""Dissection statistics throughput: jaxdissect.stats against plain numpy and the VGG16 forward.

The statistics alone, on VGG16-conv5_3-shaped data: 512 units at 14x14 upsampled to 56x56
(the published zero-padded bilinear), 6 label channels, 1,825 concepts, label maps made of
blob-shaped regions (a few dozen distinct labels per image). One run is a whole dissection of
the images by the engine the driver uses (``jaxdissect.dissection.engine.LayerStatistics`` on
in-memory activations, as the driver re-reads its cache): pass 0 (top-k of the spatial max,
first radix digit), two more radix passes (each re-upsampling the 14x14 maps) and the counting
pass (``upsampled > threshold`` and the IoU counts). Host-to-device copies of the 14x14 maps are
timed with the passes.

Baseline, same data, same script: upsampling with ``np.einsum``, thresholds with
``np.partition`` over each unit's values, counts with a per-image loop over the labels present,
top-k with ``np.lexsort``. Results are checked: thresholds, counts and top-k must be equal.
Reference: the VGG16 forward (``jaxdissect.models.vgg``, random weights, 224x224) on this
machine. Each figure is the median of ``--runs`` timed runs after one warm-up run; each part
runs in its own process, so the peak resident memory (``ru_maxrss``) is its own.

On CPU, ``--devices`` simulated devices split each batch, with ``--batch`` images per device
(the defaults, 2 x 16, are what ``jaxdissect dissect`` uses on 2 cores). Prints a Markdown
table, writes ``bench/out/bench_stats.json``.

Usage: ``python bench/bench_stats.py [--images 128] [--devices 2] [--batch 16] [--runs 3]``.
The default run takes about 2 minutes on 2 idle CPU cores, most of it the numpy baseline
(wall-clock figures suffer from other load on the machine; CPU-time figures, also reported,
much less).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE, TARGET, LABEL_CHANNELS = 14, 56, 6


def make_data(images: int, units: int, concepts: int, seed: int = 0):
    """Post-ReLU smooth unit maps (N, 14, 14, U) and blob label maps (N, 6, 56, 56) int32."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((images, 5, 5, units)).astype(np.float32)
    grid = np.linspace(0, 4, SOURCE)
    lo = np.minimum(grid.astype(int), 3)
    frac = (grid - lo).astype(np.float32)[None, :, None, None]
    rows = coarse[:, lo] * (1 - frac) + coarse[:, lo + 1] * frac
    frac = frac.transpose(0, 2, 1, 3)
    maps = rows[:, :, lo] * (1 - frac) + rows[:, :, lo + 1] * frac
    noise = 0.3 * rng.standard_normal(maps.shape).astype(np.float32)
    acts = np.maximum(maps + noise - 0.8, 0).astype(np.float32)
    seg = np.zeros((images, LABEL_CHANNELS, TARGET, TARGET), np.int32)
    yy, xx = np.mgrid[:TARGET, :TARGET]
    span = (concepts - 1) // LABEL_CHANNELS
    for n in range(images):
        for k in range(LABEL_CHANNELS):
            regions = rng.integers(3, 9)
            centres = rng.integers(0, TARGET, size=(regions, 2))
            nearest = np.argmin((yy[..., None] - centres[:, 0]) ** 2
                                + (xx[..., None] - centres[:, 1]) ** 2, axis=-1)
            labels = 1 + k * span + rng.integers(0, span, size=regions)
            labels[rng.random(regions) < 0.2] = 0  # unlabelled regions
            seg[n, k] = labels[nearest]
    return acts, seg


# -- jaxdissect ---------------------------------------------------------------------------------

def jax_part(args) -> dict:
    import jax
    import jax.numpy as jnp

    from jaxdissect.dissection.engine import LayerStatistics
    from jaxdissect.dissection.presets import DissectConfig
    from jaxdissect.dissection.progress import Progress
    from jaxdissect.dissection.upsample import upsample
    from jaxdissect.sharding import check_batch_size, make_mesh

    acts, seg = make_data(args.images, args.units, args.concepts)
    mesh = make_mesh(args.devices)
    batch = args.batch * args.devices
    check_batch_size(batch, mesh)
    batches = []
    for start in range(0, args.images, batch):
        rows = np.arange(start, min(start + batch, args.images))
        take = np.concatenate([rows, np.zeros(batch - len(rows), int)])
        batches.append({"acts": {"conv5_3": acts[take]}, "seg": seg[take],
                        "index": take.astype(np.int32), "mask": np.arange(batch) < len(rows)})
    grid = (TARGET, TARGET)
    config = DissectConfig(topk=args.topk)

    def source():
        return iter(batches)

    def dissect():
        """The engine's passes, as the driver runs them on cached activations."""
        stats = LayerStatistics(config, {"conv5_3": (SOURCE, SOURCE, args.units)}, grid, mesh,
                                Progress(False))
        times = [time.perf_counter()]
        stats.first_pass(source, args.images)
        times.append(time.perf_counter())
        thresholds = stats.quantile_passes(source, args.images)
        times.append(time.perf_counter())
        counts = stats.count(source, thresholds, args.concepts, None, args.images)
        times.append(time.perf_counter())
        top = stats.top_images()["conv5_3"]
        return np.diff(times).tolist(), (thresholds["conv5_3"], counts["conv5_3"], top)

    dissect()  # warm-up: compiles every step
    runs, cpu = [], []
    for _ in range(args.runs):
        cpu_start = time.process_time()
        runs.append(dissect())
        cpu.append(time.process_time() - cpu_start)
    check_exact(runs[0][1][0], jax.jit(lambda a: upsample(a, grid)[..., :CHECKED_UNITS]),
                batches, args.images)
    upsample_only = jax.jit(lambda a: jnp.sum(upsample(a, grid)))
    upsample_seconds = []
    placed = [jax.device_put(b["acts"]["conv5_3"]) for b in batches]
    for _ in range(args.runs + 1):  # the first run compiles
        tick = time.perf_counter()
        jax.block_until_ready([upsample_only(a) for a in placed])
        upsample_seconds.append(time.perf_counter() - tick)
    totals = [sum(t) for t, _ in runs]
    passes = np.median(np.array([t for t, _ in runs]), axis=0)
    thresholds, result, (top_values, top_indices) = runs[0][1]
    np.savez(args.results, thresholds=thresholds, inter=result.inter,
             unit_area=result.unit_area, concept_area=result.concept_area,
             top_values=top_values, top_indices=top_indices)
    return {"seconds": statistics.median(totals), "cpu_seconds": statistics.median(cpu),
            "pass_seconds": passes.tolist(),
            "upsample_seconds": statistics.median(upsample_seconds[1:]),
            "device": f"{args.devices} x {jax.devices()[0].device_kind}"}


CHECKED_UNITS = 16


def check_exact(thresholds, upsampled, batches, images) -> None:
    """The first units' thresholds equal np.partition's on the very same upsampled values
    (np.einsum rounds differently from XLA's matmul: the baseline gets a tolerance)."""
    values = np.concatenate([np.asarray(upsampled(b["acts"]["conv5_3"]))[b["mask"]]
                             for b in batches]).reshape(-1, CHECKED_UNITS)
    n = len(values)
    k = max(1, int(np.ceil(0.01 * n)))
    expected = np.partition(values, n - k, axis=0)[n - k]
    if len(values) != images * TARGET * TARGET or not np.array_equal(
            thresholds[:CHECKED_UNITS], expected):
        raise SystemExit("jaxdissect thresholds differ from np.partition on the same values")


# -- numpy baseline -----------------------------------------------------------------------------

def numpy_part(args) -> dict:
    from jaxdissect.dissection.upsample import upsample_numpy

    acts, seg = make_data(args.images, args.units, args.concepts)

    def dissect():
        up = upsample_numpy(acts, (TARGET, TARGET))  # (N, 56, 56, U)
        per_unit = np.ascontiguousarray(up.reshape(-1, args.units).T)  # (U, n)
        n = per_unit.shape[1]
        k = max(1, int(np.ceil(0.01 * n)))
        thresholds = np.partition(per_unit, n - k, axis=1)[:, n - k]
        inter = np.zeros((args.units, args.concepts), np.int64)
        unit_area = np.zeros(args.units, np.int64)
        concept_area = np.zeros(args.concepts, np.int64)
        for image in range(args.images):
            on = up[image].reshape(-1, args.units) > thresholds
            unit_area += on.sum(0)
            labels = seg[image].reshape(LABEL_CHANNELS, -1)
            for c in np.unique(labels):
                if c == 0:
                    continue
                here = (labels == c).any(0)
                concept_area[c] += here.sum()
                inter[:, c] += on[here].sum(0)
        peaks = acts.max(axis=(1, 2))
        order = [np.lexsort((np.arange(args.images), -peaks[:, u]))[: args.topk]
                 for u in range(args.units)]
        return thresholds, inter, unit_area, concept_area, np.array(order)

    dissect()
    seconds, cpu, results = [], [], None
    for _ in range(args.runs):
        tick, cpu_start = time.perf_counter(), time.process_time()
        results = dissect()
        seconds.append(time.perf_counter() - tick)
        cpu.append(time.process_time() - cpu_start)
    np.savez(args.results, thresholds=results[0], inter=results[1], unit_area=results[2],
             concept_area=results[3], top_indices=results[4])
    return {"seconds": statistics.median(seconds), "cpu_seconds": statistics.median(cpu)}


# -- VGG16 forward ------------------------------------------------------------------------------

def forward_part(args) -> dict:
    import jax
    import jax.numpy as jnp

    from jaxdissect.models.vgg import VGG16

    model = VGG16()
    x = jnp.asarray(np.random.default_rng(0).random((args.vgg_batch, 224, 224, 3), np.float32))
    params = jax.jit(model.init)(jax.random.PRNGKey(0), x[:1])
    forward = jax.jit(lambda p, x: model.apply(p, x, layers=("conv5_3",)))
    jax.block_until_ready(forward(params, x))
    seconds, cpu = [], []
    for _ in range(args.runs):
        tick, cpu_start = time.perf_counter(), time.process_time()
        jax.block_until_ready(forward(params, x))
        seconds.append(time.perf_counter() - tick)
        cpu.append(time.process_time() - cpu_start)
    return {"seconds": statistics.median(seconds), "cpu_seconds": statistics.median(cpu),
            "images": args.vgg_batch}


# -- orchestration ------------------------------------------------------------------------------

PARTS = {"jax": jax_part, "numpy": numpy_part, "forward": forward_part}

def run_part(name: str, args, scratch: Path) -> dict:
    """Run one part in a fresh process (its own peak memory); returns its JSON record."""
    out, results = scratch / f"{name}.json", scratch / f"{name}.npz"
    command = [sys.executable, __file__, "--part", name, "--out", str(out),
               "--results", str(results)] + [a for a in sys.argv[1:] if a != "--"]
    env = dict(os.environ)
    if name == "jax":  # simulated CPU devices (ignored by GPU and TPU backends)
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                            f" --xla_force_host_platform_device_count={args.devices}").strip()
    subprocess.run(command, check=True, env=env)
    record = json.loads(out.read_text())
    record["results"] = str(results)
    return record


def check_same(jax_npz: str, numpy_npz: str) -> None:
    """Against the baseline: thresholds to float rounding of the upsampling, counts to the few
    pixels that rounding moves across a threshold, top-k exactly (raw maxima, no arithmetic)."""
    ours, theirs = np.load(jax_npz), np.load(numpy_npz)
    if not np.allclose(ours["thresholds"], theirs["thresholds"], rtol=1e-5, atol=1e-6):
        raise SystemExit("thresholds differ from the numpy baseline")
    for key in ("inter", "unit_area"):
        moved = np.abs(ours[key] - theirs[key]).sum()
        if moved > 1e-3 * theirs[key].sum():
            raise SystemExit(f"{key} differs from the numpy baseline by {moved} pixels")
    if not np.array_equal(ours["concept_area"], theirs["concept_area"]):
        raise SystemExit("concept areas differ from the numpy baseline")
    kept = theirs["top_indices"].shape[1]
    if not np.array_equal(ours["top_indices"][:, :kept], theirs["top_indices"]):
        raise SystemExit("results differ from the numpy baseline: top-k indices")


def report(args, records: dict) -> dict:
    images = {"jax": args.images, "numpy": args.images, "forward": args.vgg_batch}
    parts = [name for name in ("jax", "numpy", "forward") if name in records]
    wall = {name: records[name]["seconds"] / images[name] for name in parts}
    cpu = {name: records[name]["cpu_seconds"] / images[name] for name in parts}
    ratios = {}
    for name, key, target in (("numpy", "stats_vs_numpy", 10), ("forward", "stats_vs_forward", 20)):
        if name in parts:
            ratios[key] = {"wall": wall[name] / wall["jax"], "cpu": cpu[name] / cpu["jax"],
                           "target": target}
    labels = {"jax": f"jaxdissect.stats ({records['jax']['device']}, {args.batch}/device)",
              "numpy": "numpy baseline", "forward": f"VGG16 forward (batch {args.vgg_batch})"}
    print(f"\n{args.images} images, {args.units} units {SOURCE}->{TARGET}, "
          f"{LABEL_CHANNELS} channels, {args.concepts} concepts; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {records['load_average']}")
    print("\n| part | images/s | ms/image | CPU ms/image | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for name in parts:
        print(f"| {labels[name]} | {1 / wall[name]:.4g} | {1e3 * wall[name]:.3g} | "
              f"{1e3 * cpu[name]:.3g} | {records[name]['peak_rss_mib']:.0f} |")
    passes = records["jax"]["pass_seconds"]
    names = ["pass 0 (top-k, radix digit 1)", "radix passes 2 and 3", "counting pass"]
    print("\n| jaxdissect pass | ms/image |\n|---|---:|")
    for name, seconds in zip(names, passes, strict=True):
        print(f"| {name} | {1e3 * seconds / args.images:.3g} |")
    upsampling = records["jax"]["upsample_seconds"]
    print(f"| (upsampling alone, part of every pass) | {1e3 * upsampling / args.images:.3g} |")
    print()
    for name, ratio in ratios.items():
        print(f"{name}: {ratio['wall']:.3g}x wall-clock, {ratio['cpu']:.3g}x CPU time "
              f"(target >= {ratio['target']}x)")
    return {"config": vars(args), "ms_per_image": {k: 1e3 * v for k, v in wall.items()},
            "cpu_ms_per_image": {k: 1e3 * v for k, v in cpu.items()}, "ratios": ratios,
            "records": records}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--units", type=int, default=512)
    p.add_argument("--concepts", type=int, default=1825)
    p.add_argument("--topk", type=int, default=100)
    p.add_argument("--devices", type=int, default=2, help="devices to split batches over")
    p.add_argument("--batch", type=int, default=16, help="images per device per step")
    p.add_argument("--vgg-batch", type=int, default=4)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--skip", nargs="*", default=[], choices=list(PARTS))
    p.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--results", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.part:  # child process: one part
        record = PARTS[args.part](args)
        record["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(args.out).write_text(json.dumps(record))
        return
    scratch = ROOT / "bench" / "out" / "bench_stats_parts"
    scratch.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]  # other work on the machine slows every part
    records = {name: run_part(name, args, scratch) for name in PARTS if name not in args.skip}
    load.append(os.getloadavg()[0])
    if "jax" not in records:
        raise SystemExit("--skip jax: nothing to compare")
    if "numpy" in records:
        check_same(records["jax"]["results"], records["numpy"]["results"])
    summary = report(args, {**records, "load_average": f"{load[0]:.1f} -> {load[1]:.1f}"})
    out = ROOT / "bench" / "out" / "bench_stats.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
