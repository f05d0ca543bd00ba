"""Single-unit ablations per second: many ablations per compiled call vs one call per ablation.

The unit-importance experiment evaluates the model once per ablated unit. The baseline runs one
compiled call per ablation (the same jitted function, the unit mask as an argument: what a loop
over units costs). The batched path stacks E ablations and runs ``Net.apply_edits`` (vmap over
the edit axis): the layers before the edited one run once per call, only the tail is repeated.

Model: the zoo's VGG16 at a small input (32x32, ``pool5_size=1``: every conv at full width, a
1x1 pool5, fc6/fc7 of 4096, 365 classes), random weights, ablating single units of ``conv5_3``
(``--arch world``: the synthetic world's VGG at 64x64, layer ``conv4_2``). Each figure is the
median of ``--repeats`` timed passes after a warm-up pass (``--units`` ablations per batched
pass, ``--baseline-units`` per baseline pass); the batched logits of the baseline's units are
checked against the one-at-a-time logits.

Prints a Markdown table and writes ``bench/out/ablation.json`` (see ``bench/record.py``).
Usage: ``python bench/bench_ablation.py [--arch vgg16] [--batch 8] [--units 64]
[--baseline-units 16] [--chunks 8 32 64] [--repeats 3]``. A few minutes on 2 busy CPU cores.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402

from jaxdissect.interventions.sweep import ablation_edits, edit_chunks  # noqa: E402
from jaxdissect.models.base import Net  # noqa: E402
from jaxdissect.models.edits import UnitEdit  # noqa: E402


def build(arch: str) -> tuple[Net, str, int]:
    """(net with random weights, layer, input side)."""
    if arch == "vgg16":
        from jaxdissect.models.vgg import VGG16

        module, layer, side = VGG16(num_classes=365, pool5_size=1), "conv5_3", 32
    else:
        from jaxdissect.world.models import WorldVGG

        module, layer, side = WorldVGG(), "conv4_2", 64
    params = jax.jit(module.init)(jax.random.PRNGKey(0), jnp.zeros((1, side, side, 3)))["params"]
    return Net(module=module, params=params), layer, side


def one_call_per_ablation(net: Net, x: jax.Array, layer: str, units: np.ndarray, width: int):
    edits = []
    for u in units:
        mask = np.zeros(width, np.float32)
        mask[u] = 1
        edits.append({layer: UnitEdit(units=jnp.asarray(mask), values=jnp.zeros(width))})

    def run():
        outs = [net(x, edits=e)[0] for e in edits]
        jax.block_until_ready(outs)
        return outs

    return run


def batched(net: Net, x: jax.Array, layer: str, units: np.ndarray, width: int, chunk: int):
    sets = np.zeros((len(units), width), bool)
    sets[np.arange(len(units)), units] = True
    chunks = [c for _, _, c in edit_chunks(ablation_edits(layer, sets), chunk)]

    def run():
        outs = [net.apply_edits(x, c)[0] for c in chunks]
        jax.block_until_ready(outs)
        return outs

    return run


def median_rate(run, count: int, repeats: int) -> tuple[float, list[float], list]:
    """Median ablations/s over ``repeats`` timed passes after one warm-up pass; also the
    outputs of the last pass."""
    run()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        outs = run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), rates, outs


def check(baseline_outs, batched_outs, chunk: int) -> float:
    """Largest relative difference between the two paths' logits (first chunk)."""
    ref = np.stack([np.asarray(o) for o in baseline_outs[:chunk]])  # the baseline's units
    got = np.asarray(batched_outs[0])[:len(ref)]
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))


def markdown(result: dict) -> str:
    lines = [f"Single-unit ablations of `{result['layer']}` ({result['arch']}, "
             f"{result['input']}x{result['input']}, batch {result['batch']}, "
             f"{result['units']} units) on {result['device']}", "",
             "| method | ablations/s | vs one call per ablation | max rel. diff |",
             "|---|---|---|---|",
             f"| one compiled call per ablation | {result['baseline_rate']:.2f} | 1.00 | - |"]
    for row in result["batched"]:
        lines.append(f"| apply_edits, E = {row['chunk']} | {row['rate']:.2f} | "
                     f"{row['ratio']:.2f} | {row['max_rel_diff']:.1e} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("vgg16", "world"), default="vgg16")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--units", type=int, default=64, help="ablations per batched pass")
    parser.add_argument("--baseline-units", type=int, default=16,
                        help="ablations per baseline pass (its rate does not depend on it)")
    parser.add_argument("--chunks", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    net, layer, side = build(args.arch)
    width = net.layer_shapes((1, side, side, 3))[layer][-1]
    units = np.arange(min(args.units, width))
    x = jax.device_put(np.random.default_rng(0).standard_normal((args.batch, side, side, 3))
                       .astype(np.float32))
    device = jax.devices()[0]
    print(f"{args.arch} {layer} ({width} units), batch {args.batch}, on {device.platform} "
          f"({device.device_kind})", flush=True)
    base_units = units[:args.baseline_units]
    base_run = one_call_per_ablation(net, x, layer, base_units, width)
    base_rate, base_rates, reference = median_rate(base_run, len(base_units), args.repeats)
    print(f"  one call per ablation: {base_rate:.2f} ablations/s", flush=True)
    rows = []
    for chunk in args.chunks:
        run = batched(net, x, layer, units, width, chunk)
        rate, rates, outs = median_rate(run, len(units), args.repeats)
        rows.append({"chunk": chunk, "rate": rate, "rates": rates, "ratio": rate / base_rate,
                     "max_rel_diff": check(reference, outs, chunk)})
        print(f"  apply_edits E={chunk}: {rate:.2f} ablations/s ({rate / base_rate:.2f}x)",
              flush=True)
    result = {"arch": args.arch, "layer": layer, "input": side, "batch": args.batch,
              "units": len(units), "baseline_units": len(base_units), "repeats": args.repeats,
              "device": (device.platform if device.device_kind == device.platform
                         else f"{device.platform} ({device.device_kind})"),
              "machine": platform.processor() or platform.machine(), "jax": jax.__version__,
              "baseline_rate": base_rate, "baseline_rates": base_rates, "batched": rows}
    worst = max(r["max_rel_diff"] for r in rows)
    if worst > 1e-3:
        raise SystemExit(f"batched ablations disagree with one-at-a-time ones (rel. {worst:.1e})")
    table = markdown(result)
    print(table)
    best = max(rows, key=lambda r: r["ratio"])
    notes = [f"`apply_edits` with {best['chunk']} edits per call runs {best['ratio']:.1f}x as many "
             "ablations per second as one compiled call per ablation; the outputs agree within "
             f"{worst:.0e} (relative)."]
    path = record.save("ablation", result, table=table, notes=notes, out=args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
