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
machine. The batches are placed on the devices once, as the driver keeps pass 0's outputs there
(``--host-cache``: copied from the host in every pass instead, as before). Counted, not timed:
the values that enter a digit histogram per image in each radix pass (all of them in pass 0;
the candidates sharing the fixed prefix later), and the host-to-device bytes per image per pass.

With the model in the loop (``full_dissection.py``, ``--full-images`` images, skipped with
``--skip full1 full2 reference``): jaxdissect's whole dissection of VGG16 conv5_3 (model once
per image, segmentations given) against the forward alone, on 1 and on 2 devices; and the
published algorithm in PyTorch as its reference code runs it (rank sketch thresholds, per-image
label loops, the model recomputed in each of its three passes) on the same images and weights.

Each figure is the median of ``--runs`` timed runs after one warm-up run; each part runs in its
own process, so the peak resident memory (``ru_maxrss``) is its own.

On CPU, ``--devices`` simulated devices split each batch, with ``--batch`` images per device
(the defaults, 2 x 16, are what ``jaxdissect dissect`` uses on 2 cores). Prints a Markdown
table, writes ``bench/out/stats.json`` (see ``bench/record.py``).

Usage: ``python bench/bench_stats.py [--images 128] [--devices 2] [--batch 16] [--runs 3]``.
The default run takes about 2 minutes on 2 idle CPU cores, most of it the numpy baseline
(wall-clock figures suffer from other load on the machine; CPU-time figures, also reported,
much less).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py: the JSON every benchmark writes)

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
    from jaxdissect.sharding import check_batch_size, make_mesh, shard_batch

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
    if not args.host_cache:  # on the devices, as the driver's resident cache keeps them
        batches = [{**shard_batch(mesh, {k: b[k] for k in ("acts", "seg")}),
                    "index": b["index"], "mask": b["mask"]} for b in batches]
        jax.block_until_ready(batches)

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
        counted = {"histogrammed": stats.histogrammed["conv5_3"],
                   "host_to_device": stats.host_to_device}
        return np.diff(times).tolist(), (thresholds["conv5_3"], counts["conv5_3"], top), counted

    counted = dissect()[2]  # warm-up: compiles every step
    runs, cpu = [], []
    for _ in range(args.runs):
        cpu_start = time.process_time()
        runs.append(dissect()[:2])
        cpu.append(time.process_time() - cpu_start)
    host = [jax.tree.map(np.asarray, b) for b in batches]
    check_exact(runs[0][1][0], jax.jit(lambda a: upsample(a, grid)[..., :CHECKED_UNITS]),
                host, args.images)
    upsample_only = jax.jit(lambda a: jnp.sum(upsample(a, grid)))
    upsample_seconds = []
    placed = [jax.device_put(b["acts"]["conv5_3"]) for b in host]
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
            "device": f"{args.devices} x {jax.devices()[0].device_kind}",
            "plan": stats_plan_kind(), **counted}


def stats_plan_kind() -> str:
    from jaxdissect.dissection.engine import plan_kind
    from jaxdissect.sharding import make_mesh

    return plan_kind(make_mesh(1))


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
    from jaxdissect.report.resample import upsample_maps

    acts, seg = make_data(args.images, args.units, args.concepts)

    def dissect():
        up = upsample_maps(acts, (TARGET, TARGET), channels_last=True)  # (N, 56, 56, U)
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


# -- with the model in the loop ----------------------------------------------------------------

def full_part(args, devices: int, segmenter: bool = False) -> dict:
    from full_dissection import jax_full_vs_forward

    _, seg = make_data(args.full_images, 4, args.concepts)
    record = jax_full_vs_forward(seg, args.full_images, args.full_batch, devices,
                                 args.runs, args.concepts, segmenter)
    np.savez(args.results, thresholds=record.pop("thresholds"), labels=record.pop("labels"),
             iou=record.pop("iou"))
    return record


def reference_part(args) -> dict:
    from full_dissection import torch_reference

    _, seg = make_data(args.full_images, 4, args.concepts)
    record = torch_reference(seg, args.full_images, args.full_batch, args.runs, args.concepts,
                             topk=args.topk)
    np.savez(args.results, thresholds=record.pop("thresholds"), labels=record.pop("labels"))
    return record


# -- orchestration ------------------------------------------------------------------------------

PARTS = {"jax": jax_part, "numpy": numpy_part, "forward": forward_part,
         "full1": lambda args: full_part(args, 1), "full2": lambda args: full_part(args, 2),
         "reference": reference_part,
         "full_segmenter": lambda args: full_part(args, 1, segmenter=True)}
DEVICES = {"jax": lambda args: args.devices, "full1": lambda args: 1, "full2": lambda args: 2,
           "full_segmenter": lambda args: 1}

def run_part(name: str, args, scratch: Path) -> dict:
    """Run one part in a fresh process (its own peak memory); returns its JSON record."""
    out, results = scratch / f"{name}.json", scratch / f"{name}.npz"
    command = [sys.executable, __file__, "--part", name, "--out", str(out),
               "--results", str(results)] + [a for a in sys.argv[1:] if a != "--"]
    env = dict(os.environ)
    if name in DEVICES:  # simulated CPU devices (ignored by GPU and TPU backends)
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count="
                            f"{DEVICES[name](args)}").strip()
    subprocess.run(command, check=True, env=env)
    record = json.loads(out.read_text())
    # relative to the repository, so that the saved record names no folder of this machine
    record["results"] = str(results.relative_to(ROOT))
    return record


def load_results(record: dict):
    """The arrays a part saved (its record's ``results``, relative to the repository)."""
    return np.load(ROOT / record["results"])


def check_same(jax_record: dict, numpy_record: dict) -> None:
    """Against the baseline: thresholds to float rounding of the upsampling, counts to the few
    pixels that rounding moves across a threshold, top-k exactly (raw maxima, no arithmetic)."""
    ours, theirs = load_results(jax_record), load_results(numpy_record)
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


def report(args, records: dict) -> tuple[dict, list[str], list[str]]:
    """The summary, the markdown tables and the sentences computed from the measurements."""
    images = {"jax": args.images, "numpy": args.images, "forward": args.vgg_batch}
    parts = [name for name in ("jax", "numpy", "forward") if name in records]
    wall = {name: records[name]["seconds"] / images[name] for name in parts}
    cpu = {name: records[name]["cpu_seconds"] / images[name] for name in parts}
    ratios = {}
    on_cpu = "cpu" in records["jax"]["device"].lower()
    for name, key, target in (("numpy", "stats_vs_numpy", 10),
                              ("forward", "stats_vs_forward", 40 if on_cpu else 5)):
        if name in parts:
            ratios[key] = {"wall": wall[name] / wall["jax"], "cpu": cpu[name] / cpu["jax"],
                           "target": target}
    labels = {"jax": f"jaxdissect statistics ({records['jax']['device']}, "
                     f"{args.batch}/device, {records['jax']['plan']} plan)",
              "numpy": "numpy baseline (np.partition thresholds, per-image loop over labels)",
              "forward": f"VGG16 forward (batch {args.vgg_batch})"}
    table = [f"{args.images} images, {args.units} units {SOURCE}->{TARGET}, {LABEL_CHANNELS} "
             f"label channels, {args.concepts} concepts.", "",
             "| part | images/s | ms/image | CPU ms/image | peak RSS (MiB) |",
             "|---|---:|---:|---:|---:|"]
    for name in parts:
        table.append(f"| {labels[name]} | {1 / wall[name]:.4g} | {1e3 * wall[name]:.3g} | "
                     f"{1e3 * cpu[name]:.3g} | {records[name]['peak_rss_mib']:.0f} |")
    passes = records["jax"]["pass_seconds"]
    # named as the progress lines name the passes
    names = ["pass 0 (top-k, first radix digit)", "threshold passes 1 and 2", "intersection pass"]
    table += ["", "| jaxdissect pass | ms/image |", "|---|---:|"]
    table += [f"| {name} | {1e3 * seconds / args.images:.3g} |"
              for name, seconds in zip(names, passes, strict=True)]
    upsampling = records["jax"]["upsample_seconds"]
    table.append(f"| (upsampling alone, part of every pass) | "
                 f"{1e3 * upsampling / args.images:.3g} |")
    notes = [f"{name}: {ratio['wall']:.3g}x wall-clock, {ratio['cpu']:.3g}x CPU time "
             f"(target >= {ratio['target']}x)." for name, ratio in ratios.items()]
    counted = counted_costs(args, records["jax"], table, notes)
    full = full_dissection_report(args, records, ratios, table, notes)
    summary = {"config": vars(args), "ms_per_image": {k: 1e3 * v for k, v in wall.items()},
               "cpu_ms_per_image": {k: 1e3 * v for k, v in cpu.items()}, "ratios": ratios,
               "counted": counted, "full_dissection": full, "parts": records}
    return summary, table, notes


def counted_costs(args, record: dict, table: list[str], notes: list[str]) -> dict:
    """Values histogrammed and host-to-device bytes, per image and pass (counted, any backend)."""
    values = args.units * TARGET * TARGET
    histogrammed = record["histogrammed"]
    table += ["", f"| pass ({record['plan']} plan) | values histogrammed per image | "
              "share |", "|---|---:|---:|"]
    table += [f"| {'pass 0' if p == 0 else f'threshold pass {p}'} | {count:,.0f} | "
              f"{count / values:.2%} |" for p, count in enumerate(histogrammed)]
    table += ["", "| pass | host-to-device bytes per image |", "|---|---:|"]
    table += [f"| {name} | {copied:,.0f} |" for name, copied in record["host_to_device"].items()]
    after = max(histogrammed[1:], default=0) / values
    notes.append(f"After pass 0, at most {after:.2%} of the upsampled values enter a histogram "
                 "in a pass (target: at most 5%).")
    return {"values_per_image": values, "histogrammed_per_image": histogrammed,
            "histogrammed_share_after_pass_0": after, "target_share_after_pass_0": 0.05,
            "host_to_device_bytes_per_image": record["host_to_device"]}


def full_dissection_report(args, records: dict, ratios: dict, table: list[str],
                           notes: list[str]) -> dict:
    """Whole dissection vs forward only (1 and 2 devices) and vs the PyTorch reference."""
    out = {}
    rows = []
    for name in ("full1", "full2", "full_segmenter"):
        if name in records:
            r = records[name]
            ratios[f"{name}_vs_forward"] = {
                "wall": r["full_vs_forward"], "target": 0.9 if "cpu" in r["device"].lower()
                else 0.8}
            what = ", segmenter in the loop" if r["segmenter_in_the_loop"] else ""
            rows.append(f"| {r['device']}{what} | {r['images'] / r['forward_seconds']:.3g} | "
                        f"{r['images'] / r['full_seconds']:.3g} | "
                        f"{r['full_vs_forward']:.3g}x |")
            out[name] = r
    if rows:
        table += ["", f"| VGG16 conv5_3, {args.full_images} images, batch {args.full_batch} | "
                  "forward only, images/s | whole dissection, images/s | dissection / forward |",
                  "|---|---:|---:|---:|", *rows]
    if "reference" in records and "full1" in records:
        ref, ours = records["reference"], records["full1"]
        theirs, mine = load_results(ref), load_results(ours)
        relative = np.abs(theirs["thresholds"] - mine["thresholds"]) / np.maximum(
            np.abs(mine["thresholds"]), 1e-12)
        out["vs_reference"] = {
            "speedup_end_to_end": ref["seconds"] / ours["full_seconds"],
            "reference_seconds": ref["seconds"], "jaxdissect_seconds": ours["full_seconds"],
            "threshold_median_rel_diff": float(np.median(relative)),
            "threshold_max_rel_diff": float(relative.max()),
            "same_best_label": float(np.mean(theirs["labels"] == mine["labels"]))}
        table.append(f"| PyTorch reference algorithm ({ref['device']}) | | "
                     f"{ref['images'] / ref['seconds']:.3g} | |")
        speedup = ref["seconds"] / ours["full_seconds"]
        notes.append(
            f"jaxdissect's whole dissection (1 device) is {speedup:.3g}x "
            f"as fast as the published algorithm in PyTorch on the same images and weights (rank "
            f"sketch thresholds, per-image label loops, the model in each of three passes); the "
            f"sketch's thresholds differ from the exact ones by {np.median(relative):.2g} "
            f"(median relative difference; largest {relative.max():.2g}), and "
            f"{out['vs_reference']['same_best_label']:.1%} of units get the same best label.")
    return out


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
    p.add_argument("--host-cache", action="store_true",
                   help="copy the batches from the host in every pass (as before the resident "
                        "cache)")
    p.add_argument("--full-images", type=int, default=16,
                   help="images of the whole-dissection parts (VGG16 at 224 in the loop)")
    p.add_argument("--full-batch", type=int, default=8, help="global batch of those parts")
    p.add_argument("--segmenter", action="store_true",
                   help="also a whole dissection with the published segmenter (UPerNet-50 at "
                        "224) in the loop instead of given label maps (slow on CPU)")
    p.add_argument("--skip", nargs="*", default=[], choices=list(PARTS))
    p.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--results", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.part:  # child process: one part
        measured = PARTS[args.part](args)
        measured["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(args.out).write_text(json.dumps(measured))
        return
    scratch = ROOT / "bench" / "out" / "bench_stats_parts"
    scratch.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]  # other work on the machine slows every part (and is recorded)
    skip = set(args.skip) | ({"full_segmenter"} if not args.segmenter else set())
    records = {name: run_part(name, args, scratch) for name in PARTS if name not in skip}
    if "jax" not in records:
        raise SystemExit("--skip jax: nothing to compare")
    if "numpy" in records:
        check_same(records["jax"], records["numpy"])
    summary, table, notes = report(args, records)
    print("\n" + "\n".join(table) + "\n\n" + "\n".join(notes))
    path = record.save("stats", summary, table="\n".join(table), notes=notes,
                       load_before=f"{load[0]:.1f}")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
