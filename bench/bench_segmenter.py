"""Concept segmenter throughput: the Flax pipeline under jit against the PyTorch reference.

Both published segmenters are built at full size in torch with the published keys
(``tests/parity/segmenter_torch.py``) and seeded random weights, written as the
published folders, converted with ``ports.convert`` and loaded with ``jaxdissect.load``.

- **Flax**: ``published_segmenter`` on 256x256 images in [-1, 1]: preprocessing, UPerNet, colour
  model, bilinear resizes and the label merge (connected components on the device), one jitted
  call returning the (N, 6, 64, 64) label map.
- **torch**: the same networks and resizes in torch (precise ROI pooling as the same separable
  matrices: the reference's CUDA-only kernel has no CPU version), then the label merge on the
  host in numpy/scipy (``scipy.ndimage.label`` per object class, as the reference's per-batch
  host round trip does with skimage).
- **merge alone**: the jitted Flax merge on the segmenter's own scores against the numpy/scipy
  merge; the connected components alone, and the propagation rounds they needed.

Each figure is the median of ``--runs`` timed calls after ``--warmup`` calls, Flax and torch
alternating. The label maps are compared (fraction of equal labels) so a fast wrong result
cannot pass unnoticed. Prints a Markdown table and writes ``bench/out/segmenter.json``.

Usage: ``python bench/bench_segmenter.py [--quick] [--batch-sizes 1 8 32]``. ``--quick``:
batches 1 and 4, 2 runs, 1 warm-up (several minutes on 2 CPU cores); the default, batches 1, 8
and 32 with 3 runs, takes much longer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "parity")]

import jax  # noqa: E402
import record  # noqa: E402
import torch  # noqa: E402
from segmenter_labels import COLOR_NAMES, TINY_COLOR_LABELS, published_labels  # noqa: E402
from segmenter_merge_reference import reference_merge  # noqa: E402
from segmenter_torch import (  # noqa: E402
    make_colornet,
    make_upernet,
    save_folder,
    torch_pipeline_scores,
)
from timing import median_seconds  # noqa: E402

from jaxdissect.checkpoint import load  # noqa: E402
from jaxdissect.models.segmenter.components import connected_components  # noqa: E402
from jaxdissect.models.segmenter.merge import MergeTables, merge_labels  # noqa: E402
from jaxdissect.models.segmenter.roi_pool import precise_roi_matrix  # noqa: E402
from jaxdissect.models.segmenter.segment import published_segmenter  # noqa: E402
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels  # noqa: E402
from ports import convert  # noqa: E402


def torch_matrix_pool(x, bins):
    """Precise ROI pooling as the separable matrices, in torch (the bench's stand-in for the
    reference's CUDA kernel)."""
    rows = torch.from_numpy(np.array(precise_roi_matrix(x.shape[2], bins)))
    cols = torch.from_numpy(np.array(precise_roi_matrix(x.shape[3], bins)))
    return torch.einsum("ah,bw,nchw->ncab", rows, cols, x)


def build_models(tmp: Path):
    """Full-size torch models, their converted Flax pipeline, labels and colour format."""
    labels = published_labels()
    encoder, decoder = make_upernet((64, 64, 128), (3, 4, 6, 3), (64, 128, 256, 512), 512, 512,
                                    {"object": 336, "part": 427, "material": 26, "scene": 365})
    decoder.pool = torch_matrix_pool
    cenc, cdec = make_colornet((64, 64, 128), (64, 128, 256, 512), 512, 512, len(COLOR_NAMES))
    save_folder(tmp / "upp", encoder, decoder, labels, epoch=40)
    save_folder(tmp / "color", cenc, cdec, TINY_COLOR_LABELS, epoch=20)
    nets = [load(convert(tmp / name, tmp / f"{name}_jax", arch=arch))
            for name, arch in (("upp", "upernet50"), ("color", "colorseg"))]
    return (encoder, decoder, cenc, cdec), nets, labels


def torch_scores(models, images: np.ndarray) -> dict:
    """The reference preprocessing, networks and resizes in torch: NHWC scores at 64x64."""
    return torch_pipeline_scores(images, *models, (64, 64))


def bench_batch(batch, models, segmenter, tables, labels, warmup, runs) -> dict:
    rng = np.random.default_rng(batch)
    coarse = rng.uniform(-1, 1, (batch, 8, 8, 3))
    images = np.tanh(2 * coarse.repeat(32, 1).repeat(32, 2)).astype(np.float32)
    images_jax = jax.device_put(images)
    scores = torch_scores(models, images)
    merge = jax.jit(merge_labels, static_argnums=(4, 5, 6))
    s_jax = [jax.device_put(scores[k]) for k in ("object", "material", "part", "color")]

    def run_jax():
        return jax.block_until_ready(segmenter(images_jax))

    def run_torch():
        s = torch_scores(models, images)
        return reference_merge(s["object"], s["material"], s["part"], s["color"], labels)

    def run_merge_jax():
        return jax.block_until_ready(merge(*s_jax, tables, False, False))

    def run_merge_numpy():
        return reference_merge(scores["object"], scores["material"], scores["part"],
                               scores["color"], labels)

    agree = float(np.mean(np.asarray(run_jax()) == run_torch()))
    merge_equal = bool(np.array_equal(np.asarray(run_merge_jax()), run_merge_numpy()))
    objects = jax.device_put(np.argmax(scores["object"], -1))
    components = jax.jit(connected_components, static_argnums=1)
    _, rounds = components(objects, True)

    def run_components():
        return jax.block_until_ready(components(objects, False))

    t_jax, t_torch = median_seconds([run_jax, run_torch], warmup, runs)
    t_mj, t_mn, t_cc = median_seconds([run_merge_jax, run_merge_numpy, run_components], warmup,
                                      max(runs, 3))
    row = {"batch": batch, "jax_images_per_s": batch / t_jax, "torch_images_per_s": batch / t_torch,
           "jax_over_torch": t_torch / t_jax, "label_agreement": agree,
           "jax_merge_ms": 1e3 * t_mj, "numpy_merge_ms": 1e3 * t_mn,
           "merge_share_of_jax_pipeline": t_mj / t_jax, "merge_equal": merge_equal,
           "components_ms": 1e3 * t_cc, "components_rounds": int(rounds)}
    print(f"  batch {batch}: jax {row['jax_images_per_s']:.2f}/s, torch "
          f"{row['torch_images_per_s']:.2f}/s, merge {row['jax_merge_ms']:.1f} ms (numpy "
          f"{row['numpy_merge_ms']:.1f} ms), agreement {agree:.5f}", flush=True)
    return row


def markdown(rows: list) -> str:
    lines = ["| batch | Flax pipeline img/s | torch + numpy merge img/s | Flax / torch | "
             "Flax merge ms | of which components ms | numpy/scipy merge ms | merge share | "
             "CC rounds | labels equal |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['batch']} | {r['jax_images_per_s']:.2f} | {r['torch_images_per_s']:.2f} | "
            f"{r['jax_over_torch']:.2f} | {r['jax_merge_ms']:.1f} | {r['components_ms']:.1f} | "
            f"{r['numpy_merge_ms']:.1f} | "
            f"{100 * r['merge_share_of_jax_pipeline']:.1f}% | {r['components_rounds']} | "
            f"{100 * r['label_agreement']:.3f}% |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="batches 1 and 4, 2 runs, 1 warm-up")
    args = parser.parse_args()
    batch_sizes = args.batch_sizes or ([1, 4] if args.quick else [1, 8, 32])
    runs = args.runs or (2 if args.quick else 3)
    warmup = args.warmup or 1
    device = jax.devices()[0]
    print(f"jax on {device.platform} ({device.device_kind}), torch on cpu, "
          f"{torch.get_num_threads()} torch threads", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        models, (upernet, colornet), labels = build_models(Path(tmp))
    segmenter = published_segmenter(upernet, colornet, image_size=(256, 256))
    tables = MergeTables.of(UnifiedLabels.from_json(labels),
                            ColorLabels.from_json(TINY_COLOR_LABELS))
    load_before = record.load_average()
    rows = [bench_batch(b, models, segmenter, tables, labels, warmup, runs) for b in batch_sizes]
    table = markdown(rows)
    print(table)
    last = rows[-1]
    notes = [f"Full-size UPerNet-R50 and colour model at 256x256 against torch "
             f"{torch.__version__} with a numpy/scipy label merge; at batch {last['batch']} the "
             f"label merge (connected components on the device) is "
             f"{100 * last['merge_share_of_jax_pipeline']:.1f}% of the Flax pipeline's time, and "
             f"the labels agree on {100 * min(r['label_agreement'] for r in rows):.3f}% of pixels."]
    path = record.save("segmenter", {
        "jax_device": f"{device.platform} {device.device_kind}", "torch_device": "cpu",
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "image_size": 256, "runs": runs, "warmup": warmup, "rows": rows},
        table=table, notes=notes, load_before=load_before)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
