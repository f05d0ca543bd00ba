"""Classifier accuracy under many unit ablations at once: per-class prediction counts.

"Single-class accuracy" (PNAS 2020) is the **balanced accuracy** of the one-vs-rest decision
taken from the argmax over all classes: ``(recall + true-negative rate) / 2``. For all classes
at once it follows from four integer counts per class: ``correct[c]`` (images of class c
predicted c), ``predicted[c]`` (images predicted c), ``true[c]`` (images of class c) and the
number of images ``N``::

    recall = correct / true,    TNR = (N - true - predicted + correct) / (N - true)

:func:`count_predictions` accumulates these counts for ``S`` ablation sets (boolean unit masks,
``S x U``) in one pass over the data: every batch runs the model once per chunk of ``E`` sets
(:func:`~jaxdissect.interventions.sweep.sweep`), split over the devices. Ties in the argmax go
to the lower class number. Counts are int32 partial sums kept on each device (exact up to 2**31
images; no cross-device reduction per step), added as int64 on the host at the end; the counts
per class of the labels are taken on the host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.interventions.sweep import ablation_edits, sweep
from jaxdissect.models.base import Net, Normalization

Inputs = Callable[[Mapping[str, jax.Array]], jax.Array]


@dataclass(frozen=True)
class ClassCounts:
    """int64 counts for S ablation sets and C classes: ``correct`` (S, C), ``predicted``
    (S, C), ``true`` (C,) and ``total`` (the number of images)."""

    correct: np.ndarray
    predicted: np.ndarray
    true: np.ndarray
    total: int

    @classmethod
    def from_predictions(cls, predictions: np.ndarray, labels: np.ndarray,
                         num_classes: int) -> ClassCounts:
        """Counts from int predictions (S, N) and labels (N,) (host reference)."""
        predictions = np.atleast_2d(predictions)
        hit = predictions == labels[None, :]
        correct = np.stack([np.bincount(labels[h], minlength=num_classes) for h in hit])
        predicted = np.stack([np.bincount(p, minlength=num_classes) for p in predictions])
        return cls(correct.astype(np.int64), predicted.astype(np.int64),
                   np.bincount(labels, minlength=num_classes).astype(np.int64), len(labels))

    def balanced_accuracy(self) -> np.ndarray:
        """float64 (S, C): (recall + TNR) / 2 of each class's one-vs-rest decision; NaN for a
        class without images (or when every image is of that class)."""
        true = self.true[None, :].astype(np.float64)
        negatives = self.total - true
        true_negative = negatives - self.predicted + self.correct
        with np.errstate(divide="ignore", invalid="ignore"):
            recall = np.where(true > 0, self.correct / true, np.nan)
            tnr = np.where(negatives > 0, true_negative / negatives, np.nan)
        return (recall + tnr) / 2

    def accuracy(self) -> np.ndarray:
        """float64 (S,): the all-class (top-1) accuracy of each set."""
        return self.correct.sum(axis=1) / max(self.total, 1)


def model_normalization(net: Net) -> Normalization:
    """The input normalisation of a classifier (:meth:`Net.image_normalization
    <jaxdissect.models.base.Net.image_normalization>`: from the architecture spec)."""
    return net.image_normalization()


def class_count(net: Net, image_shape: tuple[int, ...] | None = None) -> int:
    """The number of classes C of a classifier whose output is a (N, C) score array; any other
    output (a map, a dict, none) is refused, since class experiments read it as scores.
    ``image_shape`` (H, W, 3) defaults to the model's normalisation size."""
    if image_shape is None:
        size = model_normalization(net).size
        image_shape = (size, size, 3)
    out, _ = jax.eval_shape(lambda x: net(x), jax.ShapeDtypeStruct((1, *image_shape),
                                                                    jnp.float32))
    shape = getattr(out, "shape", None)
    if shape is None or len(shape) != 2:
        got = f"shape (N, {', '.join(map(str, shape[1:]))})" if shape is not None else (
            type(out).__name__)
        raise ValueError(f"{net.name} outputs {got}, not class scores (N, classes): classifier "
                         "experiments (ablation, adversarial) need a classifier; wrap the "
                         "method or function that returns the logits")
    return int(shape[1])


def image_inputs(normalization: Normalization) -> Inputs:
    """``batch["image"]`` uint8 (B, H, W, 3) -> normalised float32 model input."""
    return lambda batch: normalization(batch["image"])


@jax.jit
def _hits(logits: jax.Array, labels: jax.Array) -> dict[str, jax.Array]:
    """logits (E, B, C), labels (B,) -> one-hot int32 (E, B, C) ``predicted`` (the argmax
    class) and ``correct`` (the argmax class where it is the label)."""
    num_classes = logits.shape[-1]
    predicted = jax.nn.one_hot(jnp.argmax(logits, axis=-1), num_classes, dtype=jnp.int32)
    truth = jax.nn.one_hot(labels, num_classes, dtype=jnp.int32)
    return {"correct": predicted * truth[None], "predicted": predicted}


def _num_classes(net: Net, prepare: Inputs, batch: Mapping[str, np.ndarray]) -> int:
    """C of the model's (N, C) output for a host batch's inputs (shapes only)."""
    arrays = {k: np.asarray(v) for k, v in batch.items()}
    return int(jax.eval_shape(lambda b: net(prepare(b))[0], arrays).shape[-1])


def _host_labels(batch: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if "label" not in batch:
        raise ValueError(f"classifier batches need a 'label' array; got keys {sorted(batch)}")
    labels = np.asarray(batch["label"]).astype(np.int64)
    mask = np.asarray(batch.get("mask", np.ones(len(labels), bool)), bool)
    return labels, mask


def count_predictions(
    net: Net,
    layer: str,
    unit_sets: np.ndarray,
    batches: Iterable[Mapping[str, np.ndarray]],
    *,
    inputs: Inputs | None = None,
    chunk_size: int = 32,
    devices: sharding.Devices = None,
) -> ClassCounts:
    """Prediction counts with each row of ``unit_sets`` (S, U) bool ablated (zeroed) at ``layer``.

    ``batches``: dicts with ``label`` (B,) int, ``mask`` (B,) bool and whatever ``inputs`` reads
    (default: ``image`` uint8 (B, H, W, 3), normalised as :func:`model_normalization` says).
    An all-False row is the unedited model. One pass over ``batches`` (:func:`.sweep.sweep`);
    ``ceil(S / chunk_size)`` compiled calls per batch.
    """
    if inputs is None:
        class_count(net)
        inputs = image_inputs(model_normalization(net))
    truth = {"true": None, "total": 0}

    def labelled():
        """The batches with int32 labels, checked and counted on the host as they pass."""
        for batch in batches:
            labels, mask = _host_labels(batch)
            if truth["true"] is None:
                truth["classes"] = _num_classes(net, inputs, batch)
                truth["true"] = np.zeros(truth["classes"], np.int64)
            _check_labels(labels[mask], truth["classes"])
            truth["true"] += np.bincount(labels[mask], minlength=truth["classes"])
            truth["total"] += int(mask.sum())
            yield {**batch, "label": labels.astype(np.int32), "mask": mask}

    counts = sweep(net, labelled(), ablation_edits(layer, unit_sets),
                   lambda batch, outputs: _hits(outputs[0], batch["label"]),
                   inputs=jax.jit(inputs), chunk_size=chunk_size, devices=devices)
    return ClassCounts(counts["correct"], counts["predicted"], truth["true"], truth["total"])


def _check_labels(labels: np.ndarray, num_classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}) for a {num_classes}-way "
                         f"classifier; found {labels.min()} .. {labels.max()}")
