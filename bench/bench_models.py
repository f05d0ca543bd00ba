"""Classifier forward throughput: Flax under jit against the PyTorch reference, same machine.

For each architecture, a PyTorch reference with the published keys (``tests/parity/torch_nets.py``)
gets seeded random weights, is converted with ``ports.convert`` and loaded with
``jaxdissect.load``. Both then run the forward pass at the published input size (224, AlexNet
227) on a random batch already on the device, returning the logits (and, for the Flax model, the
default dissection layer too, as a dissection run requests it). Each figure is the median of
``--runs`` timed calls after ``--warmup`` calls (compilation is not throughput), Flax and torch
calls alternating so that other load on the machine hits both alike; the outputs are
compared (relative error) so a fast wrong result cannot pass unnoticed.

Device-agnostic: jax uses its default backend (a GPU when there is one), torch uses CUDA when
available. Prints a Markdown table and writes ``bench/out/models.json``. On a CPU shared
with other work, torch's multi-threaded kernels slow down far more than XLA's (10x measured on
2 busy cores), so compare with ``--threads 1`` there.

Usage: ``python bench/bench_models.py [--quick] [--threads 1] [--archs resnet18 vgg16]
[--batch-sizes 1 8 32]``.
The default run (5 architectures, batches 1, 8, 32, 5 runs) takes tens of minutes on 2 CPU
cores; ``--quick`` (batches 1 and 8, 3 runs, 1 warm-up) a few minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "parity")]


def _cpu_threads_from_argv() -> int | None:
    """``--threads N``: pin this process to N cores (torch and XLA alike). It must act before
    jax is imported, because XLA reads its flags then; with N = 1 XLA's Eigen kernels are also
    made single-threaded."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=None)
    threads = pre.parse_known_args()[0].threads
    if threads:
        cores = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cores)
        if threads == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                       + " --xla_cpu_multi_thread_eigen=false")
    return threads


CPU_THREADS = _cpu_threads_from_argv()

import jax  # noqa: E402
import record  # noqa: E402
import torch  # noqa: E402
import torch_nets as T  # noqa: E402
from timing import median_seconds  # noqa: E402

from jaxdissect.checkpoint import load  # noqa: E402
from ports import convert  # noqa: E402

BUILDERS = {
    "alexnet": T.alexnet,
    "vgg16": T.vgg16,
    "resnet18": T.resnet18,
    "resnet50": T.resnet50,
    "resnet152": T.resnet152_torch7,
}


def torch_runner(model, x: np.ndarray, device: torch.device):
    xt = torch.as_tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)

    def call():
        with torch.no_grad():
            out = model(xt)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out

    return call


def jax_runner(net, x: np.ndarray, layer: str):
    xj = jax.device_put(x)

    def call():
        out, acts = net(xj, layers=[layer])
        return jax.block_until_ready(out)

    return call


def bench_arch(arch: str, batch_sizes, warmup: int, runs: int, device: torch.device) -> list:
    model = T.randomize(BUILDERS[arch](num_classes=365), seed=0, image_size=64)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{arch}.pth"
        torch.save(model.state_dict(), src)
        net = load(convert(src, Path(tmp) / "converted", arch=arch))
    model = model.to(device)
    side, layer = net.normalization.size, net.meta["default_layer"]
    rows = []
    for batch in batch_sizes:
        x = np.random.default_rng(batch).standard_normal((batch, side, side, 3)).astype(np.float32)
        run_torch, run_jax = torch_runner(model, x, device), jax_runner(net, x, layer)
        err = T.rel_err(np.asarray(run_jax()), run_torch().cpu().numpy())
        t_jax, t_torch = median_seconds([run_jax, run_torch], warmup, runs)
        rows.append({"arch": arch, "batch": batch, "size": side, "jax_images_per_s": batch / t_jax,
                     "torch_images_per_s": batch / t_torch, "jax_over_torch": t_torch / t_jax,
                     "output_rel_err": err})
        print(f"  {arch} batch {batch}: jax {batch / t_jax:.1f}/s, torch {batch / t_torch:.1f}/s, "
              f"rel. err {err:.1e}", flush=True)
    return rows


def markdown(rows: list) -> str:
    lines = ["| arch | input | batch | Flax (jit) img/s | torch img/s | Flax / torch | rel. err |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['arch']} | {r['size']} | {r['batch']} | {r['jax_images_per_s']:.1f} "
                     f"| {r['torch_images_per_s']:.1f} | {r['jax_over_torch']:.2f} "
                     f"| {r['output_rel_err']:.1e} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="batches 1 and 8, 3 runs, 1 warm-up")
    parser.add_argument("--threads", type=int, default=None,
                        help="run torch and XLA on N pinned CPU cores (torch with N threads); "
                        "1 gives comparable figures on a machine shared with other work")
    args = parser.parse_args()
    batch_sizes = args.batch_sizes or ([1, 8] if args.quick else [1, 8, 32])
    runs = args.runs or (3 if args.quick else 5)
    warmup = args.warmup or (1 if args.quick else 2)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    jax_device = jax.devices()[0]
    print(f"jax on {jax_device.platform} ({jax_device.device_kind}), torch on {device}, "
          f"{torch.get_num_threads()} torch threads", flush=True)
    load_before = record.load_average()
    rows = [r for arch in args.archs for r in bench_arch(arch, batch_sizes, warmup, runs, device)]
    table = markdown(rows)
    print(table)
    worst = max(r["output_rel_err"] for r in rows)
    notes = [f"Flax under jit against torch {torch.__version__} on the same inputs, "
             f"{torch.get_num_threads()} torch thread(s), medians of {runs} runs after {warmup} "
             f"warm-up; the outputs agree within {worst:.0e} (relative)."]
    path = record.save("models", {
        "jax_device": f"{jax_device.platform} {jax_device.device_kind}",
        "torch_device": str(device), "torch_threads": torch.get_num_threads(),
        "cpu_threads_option": CPU_THREADS, "torch": torch.__version__, "runs": runs,
        "warmup": warmup, "rows": rows}, table=table, notes=notes, load_before=load_before)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
