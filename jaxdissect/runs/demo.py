"""``jaxdissect demo``: dissect the shipped world models, run one experiment of each kind, report.

On the synthetic concept world's shipped models (:mod:`jaxdissect.world`):

1. the world classifier dissected with the world's exact segmentations;
2. the same classifier with the shipped world segmenter (a learned segmenter, as in the paper);
3. the world generator, with the world segmenter in the loop;
4. classifier unit ablation: removal curves of a few classes;
5. generator concept-unit removal and 6. insertion by context, for the concept with the most
   units in the generator layer;

then the full report (pages, strips, plots, experiment JSON) and a few sentences of findings.

Layout: ``OUT/<key>/`` keyed by the demo's settings, the world models' hashes, the world's
drawing code and the software version (:mod:`jaxdissect.runs.runkey`), with ``OUT/latest``
pointing at it; inside, one run folder per dissection (``classifier-exact``,
``classifier-segmenter``, ``generator``), ``experiments/*.json``, ``findings.txt`` and
``index.html``. Running the demo again with the same settings reuses everything finished.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jaxdissect.dissection.layer_files import layer_folder
from jaxdissect.outputs import check_writable, write_json, write_text
from jaxdissect.report.build import build_report
from jaxdissect.runs import demo_experiments as experiments
from jaxdissect.runs.demo_settings import FULL, HELD_OUT_SEED, TRAIN_SEED, DemoSettings
from jaxdissect.runs.model_dissection import ModelDissection, dissect_model
from jaxdissect.runs.models import load_studied_model
from jaxdissect.runs.runkey import RunIdentity, open_run_folder
from jaxdissect.runs.segmenters import open_segmenter
from jaxdissect.runs.terminal_summary import best_detectors
from jaxdissect.world.source import world_code_sha256

STAGES = 6


@dataclass
class DemoResult:
    """The demo's folder, report page, dissections, experiment JSON and findings."""

    folder: Path
    report: Path
    dissections: dict[str, ModelDissection]
    experiments: dict[str, dict]
    findings: list[str]
    seconds: float


class _Stages:
    """Numbered stage headers with the time each stage took."""

    def __init__(self, log: Callable[[str], None]):
        self.log, self.number, self.started = log, 0, None

    def begin(self, text: str) -> None:
        self.end()
        self.number += 1
        self.started = time.perf_counter()
        self.log(f"[{self.number}/{STAGES}] {text}")

    def end(self) -> None:
        if self.started is not None:
            self.log(f"      done in {time.perf_counter() - self.started:.1f} s")
            self.started = None


def _experiment(path: Path, compute: Callable[[Path], tuple[dict, str]], force: bool,
                log: Callable[[str], None]) -> dict:
    """Load ``path`` when it exists (same demo key), else compute (given the folder for its
    pictures) and write it atomically."""
    if path.is_file() and not force:
        log(f"{path.name}: finished earlier with the same settings; not recomputed")
        return json.loads(path.read_text())
    result, finding = compute(path.with_suffix(""))
    result["finding"] = finding
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    return result


def _dissection_line(name: str, done: ModelDissection) -> str:
    parts = []
    for layer, result in done.results.items():
        best = ", ".join(f"unit {u} detects {label} (IoU {iou:.2f})"
                         for u, label, iou in best_detectors(result, 2))
        parts.append(f"{layer}: {int(result.labels.interpretable.sum())}/{result.num_units} "
                     f"units interpretable; {best}")
    return f"{name}: " + "; ".join(parts)


def _agreement(exact: ModelDissection, learned: ModelDissection) -> str | None:
    shared = [l for l in learned.results if l in exact.results]
    if not shared:
        return None
    a, b = exact.results[shared[0]].labels, learned.results[shared[0]].labels
    same = int((a.concept == b.concept).sum())
    return (f"{shared[0]}: the world segmenter and the exact segmentations give the same label "
            f"to {same}/{len(a.concept)} units")


def demo_identity(settings: DemoSettings, classifier, generator, segmenter) -> RunIdentity:
    return RunIdentity(
        config=settings.as_dict(),
        model={"classifier": classifier.identity(), "generator": generator.identity()},
        data={"world_code_sha256": world_code_sha256(), "probe_seed": HELD_OUT_SEED,
              "train_seed": TRAIN_SEED},
        segmenter=segmenter.identity)


def run_demo(out: str | Path, settings: DemoSettings = FULL, *, devices=None,
             progress: bool = True, force: bool = False,
             log: Callable[[str], None] = print) -> DemoResult:
    """Run the demo into ``out`` (see the module docstring); ``force`` recomputes everything."""
    start = time.perf_counter()
    check_writable(out)
    classifier = load_studied_model("world:classifier")
    generator = load_studied_model("world:generator")
    segment = open_segmenter("world", image_size=generator.image_size())
    run = open_run_folder(out, demo_identity(settings, classifier, generator, segment))
    stages = _Stages(log)
    common = dict(batch_size=settings.batch_size, devices=devices, progress=progress,
                  force=force, keyed=False, report=False, log=log)
    done = {}
    stages.begin(f"world classifier, exact segmentations: {', '.join(settings.classifier_layers)}"
                 f" on {settings.images} images")
    done["classifier-exact"] = dissect_model(
        classifier, f"world:{settings.images}", run.path / "classifier-exact",
        layers=settings.classifier_layers, segmenter=None, **common)
    stages.begin(f"world classifier, world segmenter: {', '.join(settings.segmenter_layers)}")
    done["classifier-segmenter"] = dissect_model(
        classifier, f"world:{settings.images}", run.path / "classifier-segmenter",
        layers=settings.segmenter_layers, segmenter="world", **common)
    stages.begin(f"world generator, world segmenter in the loop: "
                 f"{', '.join(settings.generator_layers)} on {settings.samples} latents")
    done["generator"] = dissect_model(
        generator, f"latents:{settings.samples}", run.path / "generator",
        layers=settings.generator_layers, segmenter=segment, **common)
    found = _run_experiments(run.path, settings, classifier, generator, segment, done, stages,
                             force, devices)
    stages.end()
    report = build_report(run.path)
    findings = _findings(done, found)
    write_text(run.path / "findings.txt", "\n".join(findings) + "\n")
    run.record(list(done), seconds=round(time.perf_counter() - start, 1))
    run.mark_latest()
    return DemoResult(run.path, report, done, found, findings, time.perf_counter() - start)


def _run_experiments(folder, settings, classifier, generator, segment, done, stages, force,
                     devices) -> dict[str, dict]:
    gen = done["generator"]
    layer = settings.generator_layers[0]
    result, layer_dir = gen.results[layer], layer_folder(gen.folder, layer)
    found = {}
    exact = done["classifier-exact"].results
    labels = exact[settings.ablation_layer].labels if settings.ablation_layer in exact else None
    stages.begin(f"classifier unit ablation at {settings.ablation_layer}")
    found["classifier_ablation"] = _experiment(
        folder / "experiments" / "classifier_ablation.json",
        lambda _: experiments.classifier_ablation(classifier, settings, labels, devices), force,
        stages.log)
    stages.begin(f"generator concept-unit removal at {layer}")
    found["generator_removal"] = _experiment(
        folder / "experiments" / "generator_removal.json",
        lambda pictures: experiments.generator_removal(generator, layer_dir, result, segment,
                                                       settings, devices, pictures), force,
        stages.log)
    stages.begin(f"generator concept-unit insertion at {layer}")
    found["generator_insertion"] = _experiment(
        folder / "experiments" / "generator_insertion.json",
        lambda pictures: experiments.generator_insertion(generator, layer_dir, result,
                                                         segment, settings, devices, pictures),
        force, stages.log)
    return found


def _findings(done: dict[str, ModelDissection], found: dict[str, dict]) -> list[str]:
    names = {"classifier-exact": "classifier, exact segmentations",
             "classifier-segmenter": "classifier, world segmenter",
             "generator": "generator, world segmenter"}
    lines = [_dissection_line(names[k], d) for k, d in done.items()]
    agreement = _agreement(done["classifier-exact"], done["classifier-segmenter"])
    if agreement:
        lines.append(agreement)
    lines += [f["finding"] for f in found.values() if f.get("finding")]
    return lines
