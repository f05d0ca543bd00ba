"""The paper's intervention experiments from files: models, data specs and dissection folders.

Each function loads what it needs (a ``jaxdissect.load`` model folder, or a ``Net`` given; data
sources through :func:`jaxdissect.data.factory.open_source`; a dissection layer folder for the
units of a concept; a converted segmenter), runs the library function and returns the JSON-able
result in the schema of :mod:`jaxdissect.report.plots` (``adversarial`` has its own kind,
``adversarial_unit_change``). ``jaxdissect experiment NAME`` is a thin layer over these.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.checkpoint import load
from jaxdissect.data.batching import batches
from jaxdissect.data.factory import open_source
from jaxdissect.dissect.results import load_result
from jaxdissect.interventions import ablation, adversarial, generator, insertion
from jaxdissect.interventions.accuracy import model_normalization
from jaxdissect.interventions.units import concept_number, concept_units, units_by_iou
from jaxdissect.models.base import Net


def _net(model: str | Net) -> Net:
    return model if isinstance(model, Net) else load(model)


def classifier_source(spec: str, net: Net, options: dict | None = None):
    """The images of ``spec`` cropped to the model's input size (``options`` override)."""
    size = model_normalization(net).size
    merged = {"crop": size, **({"resize": size} if size > 256 else {}), **(options or {})}
    source = open_source(spec, **merged)
    if "label" not in source.fields:
        raise ValueError(f"{spec} has no class labels; classifier experiments need labelled "
                         "images (an image folder with one sub-folder per class)")
    return source


def class_names_of(source, num_classes: int) -> list[str]:
    names = list(getattr(source, "classes", []) or [])
    return names if len(names) == num_classes else [str(c) for c in range(num_classes)]


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


def _num_classes(net: Net) -> int:
    size = model_normalization(net).size
    out, _ = jax.eval_shape(lambda x: net(x), jax.ShapeDtypeStruct((1, size, size, 3),
                                                                    jnp.float32))
    return int(out.shape[-1])


def ablation_experiment(model: str | Net, layer: str, data: str, classes: Sequence[str | int], *,
                        eval_data: str | None = None, sizes=ablation.REMOVAL_SIZES,
                        keep: int = ablation.KEEP_MOST_IMPORTANT, batch_size: int = 32,
                        chunk_size: int = 32, data_options: dict | None = None,
                        devices=None) -> dict:
    """Unit importance on ``data``; removal curves of ``classes`` on ``eval_data`` (default:
    the same data). Returns the ``removal_curves`` JSON."""
    net = _net(model)
    train = classifier_source(data, net, data_options)
    test = classifier_source(eval_data, net, data_options) if eval_data else train
    names = class_names_of(test, _num_classes(net))
    if class_names_of(train, len(names)) != names:
        raise ValueError(f"{data} and {eval_data} name their classes differently")
    chosen = class_numbers(classes, names)
    importance = ablation.unit_importance(net, layer, batches(train, batch_size),
                                          chunk_size=chunk_size, devices=devices)
    curves = ablation.removal_curves(net, layer, importance.importance, batches(test, batch_size),
                                     chosen, sizes=sizes, keep=keep, chunk_size=chunk_size,
                                     devices=devices)
    result = ablation.removal_curves_json(curves, names, layer)
    result.update(importance_data=data, eval_data=eval_data or data,
                  baseline_balanced_accuracy=[float(importance.baseline[c]) for c in chosen])
    return result


def load_segmenter(segmenter: str, colornet: str | None, image_size: tuple[int, int]):
    """The published merged segmenter from converted UPerNet (and colour model) folders."""
    from jaxdissect.models.segmenter.segment import published_segmenter

    return published_segmenter(load(segmenter), load(colornet) if colornet else None,
                               image_size=image_size)


def _generator_setup(model, dissection, concept, segment, segmenter, colornet):
    """(net, layer result, concept number in the dissection, Segmenter, its number)."""
    net = _net(model)
    result = load_result(dissection)
    number = concept_number(result.vocabulary, concept)
    name = result.vocabulary.names[number]
    if segment is None:
        if segmenter is None:
            raise ValueError("give the segmenter: a converted UPerNet folder (--segmenter)")
        dim = _latent_dim(net)
        images = jax.eval_shape(lambda z: net(z)[0], jax.ShapeDtypeStruct((1, dim), jnp.float32))
        segment = load_segmenter(segmenter, colornet, tuple(images.shape[1:3]))
    seg_number = concept_number(segment.vocabulary, name)
    return net, result, number, segment, seg_number


def _latent_dim(net: Net) -> int:
    """The generator's latent size: the first entry of its ``sizes`` (ProGAN layout)."""
    try:
        return int(net.meta["sizes"]["sizes"][0])
    except (KeyError, TypeError, IndexError):
        raise ValueError("the model folder's meta.json does not give the latent size "
                         "(sizes.sizes[0]); is it a generator (jaxdissect convert of a ProGAN)?"
                         ) from None


def _latents(net: Net, samples: int, seed: int, batch_size: int):
    dim = _latent_dim(net)
    return batches(open_source(f"latents:{samples}", seed=seed, dim=dim), batch_size)


def removal_experiment(model: str | Net, dissection: str, concept: str, *, segmenter=None,
                       colornet=None, segment=None, samples: int = 1000, seed: int = 1,
                       max_units: int = 30, batch_size: int = 8, chunk_size: int = 8,
                       devices=None) -> dict:
    """Zero the 0..``max_units`` units of highest IoU with ``concept`` (layer of the
    ``dissection`` folder); returns the ``removal_curves`` JSON."""
    net, result, number, segment, seg_number = _generator_setup(
        model, dissection, concept, segment, segmenter, colornet)
    ranked = units_by_iou(result.iou, number)[:max_units]
    removed = generator.remove_concept_units(
        net, result.layer, ranked, _latents(net, samples, seed, batch_size), segment, seg_number,
        chunk_size=chunk_size, devices=devices)
    out = generator.removal_json(removed, result.vocabulary.names[number], result.layer)
    out.update(samples=samples, seed=seed)
    return out


def insertion_experiment(model: str | Net, dissection: str, concept: str, *, segmenter=None,
                         colornet=None, segment=None, samples: int = 1000, seed: int = 1,
                         units: int = 20, q: float = 0.005, quantile_samples: int = 1000,
                         context_channel: int = 0, batch_size: int = 8, chunk_size: int = 16,
                         devices=None) -> dict:
    """Insert the ``units`` units of highest IoU with ``concept`` at their ``1 - q`` quantile
    (over ``quantile_samples`` latents) at every cell; returns the ``insertion_context`` JSON."""
    net, result, number, segment, seg_number = _generator_setup(
        model, dissection, concept, segment, segmenter, colornet)
    chosen = concept_units(result.iou, number, units)
    values = insertion.unit_quantiles(net, result.layer,
                                      _latents(net, quantile_samples, seed, batch_size), q=q,
                                      devices=devices)
    inserted = insertion.insert_concept_units(
        net, result.layer, chosen, values, _latents(net, samples, seed, batch_size), segment,
        seg_number, context_channel=context_channel, chunk_size=chunk_size, devices=devices)
    out = insertion.insertion_json(inserted, result.vocabulary.names[number],
                                   segment.vocabulary.names, result.layer)
    out.update(samples=samples, seed=seed, quantile=1 - q)
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
    names = class_names_of(images_source, _num_classes(net))
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
