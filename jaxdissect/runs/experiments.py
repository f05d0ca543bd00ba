"""The paper's intervention experiments from files: models, data specs and dissection folders.

Each function loads what it needs the way ``jaxdissect dissect`` does (:mod:`jaxdissect.runs`):
a model folder or ``world:NAME`` (or a ``Net`` given); a data spec (``folder:``, ``tfds:``,
``world:N`` ..., sized for the model); a segmenter (a spec for
:func:`~jaxdissect.runs.segmenters.open_segmenter`: ``world``, a converted UPerNet folder with
an optional colour model, or a world segmenter folder; or a
:class:`~jaxdissect.models.segmenter.segment.Segmenter`); and a dissection layer
folder for the units of a concept. It runs the library function and returns the JSON-able result
in the schema of :mod:`jaxdissect.report.experiment_kinds` (``adversarial`` has its own kind,
``adversarial_unit_change``). ``jaxdissect experiment NAME`` is a thin layer over these.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.data.batching import batches
from jaxdissect.dissection.results import load_result
from jaxdissect.interventions import ablation, adversarial, generator, insertion
from jaxdissect.interventions.accuracy import class_count, model_normalization
from jaxdissect.interventions.units import concept_number, concept_units, units_by_iou
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.segment import Segmenter
from jaxdissect.runs.data import open_probe_data
from jaxdissect.runs.models import load_studied_model
from jaxdissect.runs.segmenters import check_colour_options, open_segmenter


def _net(model) -> Net:
    """A ``Net`` as given, or the model folder / ``world:NAME`` spec loaded."""
    return model if isinstance(model, Net) else load_studied_model(model).net


def classifier_source(spec: str, net: Net, options: dict | None = None):
    """The images of ``spec`` sized for the model's input (as ``jaxdissect dissect`` does;
    ``options`` override)."""
    source = open_probe_data(spec, options=options, image_size=model_normalization(net).size)
    if "label" not in source.fields:
        raise ValueError(f"{spec} has no class labels; classifier experiments need labelled "
                         "images (an image folder with one sub-folder per class)")
    return source


def class_names_of(source, num_classes: int, net: Net | None = None) -> list[str]:
    """Class names from the data source (image folders), else the model's ``meta["classes"]``,
    else the numbers."""
    for names in (getattr(source, "classes", None), (net.meta or {}).get("classes") if net
                  else None):
        if names and len(names) == num_classes:
            return list(names)
    return [str(c) for c in range(num_classes)]


def class_numbers(classes: Sequence[str | int], names: Sequence[str]) -> list[int]:
    """Class names or numbers -> numbers; errors list the known names."""
    out = []
    for c in classes:
        if isinstance(c, int) or str(c).isdigit():
            number = int(c)
        elif c in names:
            number = list(names).index(c)
        else:
            raise ValueError(f"unknown class {c!r}; classes are: {', '.join(names[:40])}"
                             + (" ..." if len(names) > 40 else ""))
        if not 0 <= number < len(names):
            raise ValueError(f"class {number} is out of range for {len(names)} classes")
        out.append(number)
    return out


def _classifier_batches(data, net: Net, options: dict | None, batch_size: int):
    """(batches, source or None) for a data spec string, or batches given as they are."""
    if isinstance(data, str):
        source = classifier_source(data, net, options)
        return batches(source, batch_size), source
    return data, None


def ablation_experiment(model: str | Net, layer: str, data, classes: Sequence[str | int], *,
                        eval_data=None, sizes=ablation.REMOVAL_SIZES,
                        keep: int = ablation.KEEP_MOST_IMPORTANT, batch_size: int = 32,
                        chunk_size: int = 32, data_options: dict | None = None,
                        eval_data_options: dict | None = None, devices=None,
                        random_draws: int = 3, concept: str | None = None,
                        dissection: str | None = None, concept_draws: int = 5,
                        seed: int = 0) -> dict:
    """Unit importance on ``data``; removal curves of ``classes`` on ``eval_data`` (default:
    the same data), each with ``random_draws`` random-unit baselines. ``data`` / ``eval_data``:
    data spec strings (with ``data_options`` / ``eval_data_options``, default the former), or
    batches (dicts with ``image`` uint8, ``label``, ``mask``; re-iterable when ``eval_data`` is
    None). With ``concept`` and ``dissection`` (the layer's dissection folder), also the units
    labelled ``concept`` removed against ``concept_draws`` sets of as many random units
    (``concept_ablation``). Returns the ``removal_curves`` JSON."""
    net = _net(model)
    train, train_source = _classifier_batches(data, net, data_options, batch_size)
    eval_options = data_options if eval_data_options is None else eval_data_options
    test, test_source = (train, train_source) if eval_data is None else _classifier_batches(
        eval_data, net, eval_options, batch_size)
    names = class_names_of(test_source, class_count(net), net)
    if class_names_of(train_source, len(names), net) != names:
        raise ValueError(f"{data} and {eval_data} name their classes differently")
    chosen = class_numbers(classes, names)
    importance = ablation.unit_importance(net, layer, train, chunk_size=chunk_size,
                                          devices=devices)
    curves = ablation.removal_curves(net, layer, importance.importance, test, chosen,
                                     sizes=sizes, keep=keep, chunk_size=chunk_size,
                                     devices=devices, random_draws=random_draws, seed=seed)
    result = ablation.removal_curves_json(curves, names, layer)
    describe = lambda d: d if isinstance(d, str) else "batches given"
    result.update(importance_data=describe(data), eval_data=describe(eval_data or data),
                  baseline_balanced_accuracy=[float(importance.baseline[c]) for c in chosen],
                  unit_effects=ablation.unit_effects_json(importance, names))
    if concept is not None:
        if dissection is None:
            raise ValueError("--concept needs --dissection: the layer's dissection folder, "
                             "whose labels say which units detect the concept")
        labelled = load_result(dissection)
        if labelled.layer != layer or labelled.num_units != importance.ablated.shape[0]:
            raise ValueError(f"{dissection} dissects {labelled.layer} "
                             f"({labelled.num_units} units), not {layer}")
        number = concept_number(labelled.vocabulary, concept)
        result["concept_ablation"] = ablation.concept_ablation(
            net, layer, labelled.labels, number, test, chosen, names,
            labelled.vocabulary.names[number], draws=concept_draws, seed=seed,
            chunk_size=chunk_size, devices=devices)
    return result


def _generator_setup(model, dissection, concept, segmenter, colornet):
    """(net, layer result, concept number in the dissection, Segmenter, its number)."""
    net = _net(model)
    result = load_result(dissection)
    number = concept_number(result.vocabulary, concept)
    name = result.vocabulary.names[number]
    if segmenter is None:
        raise ValueError("give the segmenter: world, or a converted segmenter folder "
                         "(--segmenter), or a jaxdissect.Segmenter")
    if not isinstance(segmenter, Segmenter):
        dim = _latent_dim(net)
        images = jax.eval_shape(lambda z: net(z)[0], jax.ShapeDtypeStruct((1, dim), jnp.float32))
        segmenter = open_segmenter(segmenter, image_size=tuple(images.shape[1:3]),
                                   colornet=colornet)
    else:
        check_colour_options("a Segmenter given (it is used as it is)", colornet, False)
    seg_number = concept_number(segmenter.vocabulary, name)
    return net, result, number, segmenter, seg_number


def _latent_dim(net: Net) -> int:
    """The generator's latent size (its architecture's, :attr:`Net.latent_size`)."""
    if not net.is_generator:
        raise ValueError(f"{net.name} reads images; this experiment needs a generator "
                         "(jaxdissect convert of a ProGAN, or world:generator)")
    return net.latent_size


def _latents(net: Net, samples: int, seed: int, batch_size: int):
    source = open_probe_data(f"latents:{samples}", options={"seed": seed},
                             latent_dim=_latent_dim(net))
    return batches(source, batch_size)


def removal_experiment(model: str | Net, dissection: str, concept: str, *,
                       segmenter: str | Segmenter | None = None, colornet=None,
                       samples: int = 1000, seed: int = 1,
                       max_units: int = 30, batch_size: int = 8, chunk_size: int = 8,
                       devices=None, random_draws: int = 3,
                       pictures: str | Path | None = None, picture_count: int = 6) -> dict:
    """Zero the 0..``max_units`` units of highest IoU with ``concept`` (layer of the
    ``dissection`` folder), and, as the baseline, ``random_draws`` sets of as many random
    units at a few sizes (the number of units labelled ``concept``, half and all of
    ``max_units``), all in one pass; returns the ``removal_curves`` JSON. With ``pictures``
    (a folder beside the JSON), also saves generated scenes before and after the removal there
    (:mod:`jaxdissect.report.pictures`) and records them under ``pictures``."""
    net, result, number, segment, seg_number = _generator_setup(
        model, dissection, concept, segmenter, colornet)
    name = result.vocabulary.names[number]
    ranked = units_by_iou(result.iou, number)[:max_units]
    labelled = np.flatnonzero(result.labels.interpretable & (result.labels.concept == number))
    shown = len(labelled) if 0 < len(labelled) <= len(ranked) else len(ranked)
    rng = np.random.default_rng(seed)
    sizes = sorted({shown, len(ranked), max(1, len(ranked) // 2)}) if random_draws else []
    random_sets = [rng.choice(result.num_units, k, replace=False) for k in sizes
                   for _ in range(random_draws)]
    # The concept's curve and the random baseline in one pass (one set per edit).
    pixels = generator.remove_unit_sets(
        net, result.layer, [ranked[:k] for k in range(len(ranked) + 1)] + random_sets,
        _latents(net, samples, seed, batch_size), segment, seg_number, chunk_size=chunk_size,
        devices=devices)
    curve = pixels[:len(ranked) + 1]
    fraction = curve / curve[0] if curve[0] else np.full(len(curve), np.nan)
    removed = generator.RemovalResult(np.arange(len(ranked) + 1), curve, fraction, ranked)
    out = generator.removal_json(removed, name, result.layer)
    if random_draws:
        left = (pixels[len(ranked) + 1:] / curve[0] if curve[0] else
                np.full(len(random_sets), np.nan)).reshape(len(sizes), random_draws)
        out["curves"][0].update(random_removed=[0, *sizes],
                                random=[[1.0] * random_draws, *left.tolist()])
    out.update(samples=samples, seed=seed, labelled_units=[int(u) for u in labelled])
    if pictures is not None:
        from jaxdissect.interventions.pictures import removal_pictures
        from jaxdissect.report.pictures import save_removal_pictures

        same_size = next((s for s in random_sets if len(s) == shown), None)
        made = removal_pictures(net, result.layer, ranked[:shown],
                                rng.choice(result.num_units, shown, replace=False)
                                if same_size is None else same_size,
                                _latent_array(net, min(samples, 64), seed), segment, seg_number,
                                picture_count)
        folder = Path(pictures)
        out["pictures"] = save_removal_pictures(folder, folder.parent, made, name, shown)
    return out


def _latent_array(net: Net, count: int, seed: int) -> np.ndarray:
    """The first ``count`` latents of the experiments' draw (float32 (count, Z))."""
    source = open_probe_data(f"latents:{count}", options={"seed": seed},
                             latent_dim=_latent_dim(net))
    arrays, _ = source.read_batch(list(range(count)))
    return np.asarray(arrays["z"], np.float32)


def insertion_experiment(model: str | Net, dissection: str, concept: str, *,
                         segmenter: str | Segmenter | None = None, colornet=None,
                       samples: int = 1000, seed: int = 1,
                         units: int = 20, q: float = 0.005, quantile_samples: int = 1000,
                         context_channel: int = 0, batch_size: int = 8, chunk_size: int = 16,
                         devices=None, pictures: str | Path | None = None,
                         picture_contexts: int = 3, random_draws: int = 1) -> dict:
    """Insert the ``units`` units of highest IoU with ``concept`` at their ``1 - q`` quantile
    (over ``quantile_samples`` latents) at every cell; returns the ``insertion_context`` JSON.

    The baseline: ``random_draws`` sets of as many units drawn at random from the other units of
    the layer (seeded by ``seed``), each inserted the same way at its own units' quantiles, on
    the same latents and cells (so in the same contexts)."""
    net, result, number, segment, seg_number = _generator_setup(
        model, dissection, concept, segmenter, colornet)
    chosen = concept_units(result.iou, number, units)
    values = insertion.unit_quantiles(net, result.layer,
                                      _latents(net, quantile_samples, seed, batch_size), q=q,
                                      devices=devices)
    inserted = insertion.insert_concept_units(
        net, result.layer, chosen, values, _latents(net, samples, seed, batch_size), segment,
        seg_number, context_channel=context_channel, chunk_size=chunk_size, devices=devices)
    others = np.setdiff1d(np.arange(result.num_units), chosen)
    rng = np.random.default_rng(seed)
    baseline = [insertion.insert_concept_units(
        net, result.layer, np.sort(rng.choice(others, min(len(chosen), len(others)),
                                              replace=False)),
        values, _latents(net, samples, seed, batch_size), segment, seg_number,
        context_channel=context_channel, chunk_size=chunk_size, devices=devices)
        for _ in range(random_draws if len(others) else 0)]
    out = insertion.insertion_json(inserted, result.vocabulary.names[number],
                                   segment.vocabulary.names, result.layer, random=baseline)
    out.update(samples=samples, seed=seed, quantile=1 - q)
    if pictures is not None:
        from jaxdissect.interventions.pictures import insertion_pictures
        from jaxdissect.report.pictures import save_insertion_pictures

        rates = sorted(out["contexts"], key=lambda c: -c["new_pixels"] / max(c["locations"], 1))
        labels = [c["number"] for c in rates[:picture_contexts]]
        labels += [c["number"] for c in rates[picture_contexts:][-2:]]
        pairs = insertion_pictures(net, result.layer, chosen, values,
                                   _latent_array(net, min(samples, 32), seed), segment,
                                   seg_number, labels, context_channel=context_channel)
        folder = Path(pictures)
        out["pictures"] = save_insertion_pictures(folder, folder.parent, pairs,
                                                  segment.vocabulary.names, out["concept"])
    return out


def _class_images(source, label: int, count: int, batch_size: int) -> np.ndarray:
    """Up to ``count`` images of class ``label`` as float32 in [0, 1] (read directly when the
    source knows its labels without decoding, as image folders do)."""
    found = []
    known = getattr(source, "labels", None)
    if known is not None:
        arrays, valid = source.read_batch(np.flatnonzero(np.asarray(known) == label)[:count])
        found = list(arrays["image"][valid])
    for batch in batches(source, batch_size) if known is None else ():
        keep = batch["mask"] & (batch["label"] == label)
        found.extend(batch["image"][keep])
        if len(found) >= count:
            break
    if not found:
        raise ValueError(f"no images of class {label} in the data")
    return np.stack(found[:count]).astype(np.float32) / 255.0


def adversarial_experiment(model: str | Net, layer: str, data: str, source: str | int,
                           target: str | int, *, images: int = 100,
                           settings: adversarial.CarliniWagner | None = None,
                           dissection: str | None = None, batch_size: int = 32,
                           data_options: dict | None = None, devices=None) -> dict:
    """Attack up to ``images`` images of class ``source`` towards ``target``; the units of
    ``layer`` whose peak activation changes most (labelled from ``dissection`` if given)."""
    net = _net(model)
    images_source = classifier_source(data, net, data_options)
    names = class_names_of(images_source, class_count(net), net)
    src, dst = class_numbers([source, target], names)
    originals = _class_images(images_source, src, images, batch_size)
    attack = adversarial.carlini_wagner(net, originals, np.full(len(originals), dst),
                                        settings or adversarial.CarliniWagner(), devices=devices)
    peaks = [adversarial.peak_activations(net, layer, x, batch_size=batch_size, devices=devices)
             for x in (originals, attack.adversarial)]
    change = adversarial.unit_peak_change(*peaks, counted=attack.success)
    labels = None
    if dissection:
        result = load_result(dissection)
        labels = [result.vocabulary.names[int(c)] for c in result.labels.concept]
    return adversarial.adversarial_json(attack, change, layer, names[src], names[dst], labels)


def image_experiment(function, model: str | Net, data, *, batch_size: int = 32,
                     data_options: dict | None = None, **options) -> dict:
    """The front end of any experiment that needs only the model and images: ``model`` opened
    and ``data`` (a data spec, its images sized for the model as ``jaxdissect dissect`` does,
    with ``data_options``; or batches given) batched, then ``function(net, batches,
    **options)``, which returns the result JSON. A new experiment of this shape needs no front
    end of its own: its sub-command calls this with its library function."""
    net = _net(model)
    if isinstance(data, str):
        source = open_probe_data(data, options=data_options,
                                 image_size=model_normalization(net).size)
        data = batches(source, batch_size)
    return function(net, data, **options)
