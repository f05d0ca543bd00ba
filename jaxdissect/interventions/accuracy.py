"""Classifier accuracy under many unit ablations at once: per-class prediction counts.

"Single-class accuracy" (PNAS 2020) is the **balanced accuracy** of the one-vs-rest decision
taken from the argmax over all classes: ``(recall + true-negative rate) / 2``. For all classes
at once it follows from four integer counts per class: ``correct[c]`` (images of class c
predicted c), ``predicted[c]`` (images predicted c), ``true[c]`` (images of class c) and the
number of images ``N``::

    recall = correct / true,    TNR = (N - true - predicted + correct) / (N - true)

:func:`count_predictions` accumulates these counts for ``S`` ablation sets (boolean unit masks,
``S x U``) in one pass over the data: every batch runs the model once per chunk of ``E`` sets
(:class:`~jaxdissect.interventions.runner.EditRunner`), split over the devices. Ties in the
argmax go to the lower class number. Counts are int32 partial sums kept on each device (exact up
to 2**31 images; no cross-device reduction per step), added as int64 on the host at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect import sharding
from jaxdissect.interventions.runner import EditRunner, ablation_edits, shard_sums
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


@partial(jax.jit, static_argnames="shards")
def _count_chunk(logits: jax.Array, labels: jax.Array, mask: jax.Array, shards: int):
    """logits (E, B, C) -> (correct, predicted) int32 (shards, E, C) per-device partial counts
    over valid rows (:func:`~jaxdissect.interventions.runner.shard_sums`)."""
    num_classes = logits.shape[-1]
    predicted = jax.nn.one_hot(jnp.argmax(logits, axis=-1), num_classes, dtype=jnp.int32)
    predicted = predicted * mask[None, :, None].astype(jnp.int32)
    truth = jax.nn.one_hot(labels, num_classes, dtype=jnp.int32)
    return (shard_sums(predicted * truth[None], shards, axis=1),
            shard_sums(predicted, shards, axis=1))


@partial(jax.jit, static_argnames=("num_classes", "shards"))
def _count_truth(labels: jax.Array, mask: jax.Array, num_classes: int, shards: int):
    """(true (shards, C), total (shards,)) int32 per-device partial counts of valid rows."""
    valid = mask.astype(jnp.int32)
    truth = jax.nn.one_hot(labels, num_classes, dtype=jnp.int32) * valid[:, None]
    return shard_sums(truth, shards), shard_sums(valid, shards)


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
    An all-False row is the unedited model. One pass over ``batches``; ``ceil(S / chunk_size)``
    compiled calls per batch.
    """
    if inputs is None:
        class_count(net)
        inputs = image_inputs(model_normalization(net))
    runner = EditRunner.create(net, devices)
    chunks = runner.chunks(ablation_edits(layer, unit_sets), chunk_size)
    prepare = jax.jit(inputs)
    sums: list | None = None
    truth = None
    for batch in batches:
        labels, mask = _host_labels(batch)
        placed = runner.place({**batch, "label": labels.astype(np.int32), "mask": mask})
        x = prepare(placed)
        for index, (_, _, chunk) in enumerate(chunks):
            logits, _ = runner.apply_chunk(x, chunk)
            if sums is None:
                sums = [None] * len(chunks)
            shards = runner.num_devices
            counted = _count_chunk(logits, placed["label"], placed["mask"], shards)
            sums[index] = _add(sums[index], counted)
            if index == 0:
                num_classes = int(logits.shape[-1])
                _check_labels(labels[mask], num_classes)
                truth = _add(truth, _count_truth(placed["label"], placed["mask"], num_classes,
                                                 shards))
    if sums is None:
        raise ValueError("count_predictions: the batches were empty")
    return _gather(sums, chunks, truth)


def _add(total, new):
    return new if total is None else jax.tree.map(jnp.add, total, new)


def _check_labels(labels: np.ndarray, num_classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}) for a {num_classes}-way "
                         f"classifier; found {labels.min()} .. {labels.max()}")


def _gather(sums, chunks, truth) -> ClassCounts:
    """Add the per-device partial counts on the host (int64) and drop the padding edits."""
    correct, predicted = [], []
    true, total = (np.asarray(a, np.int64).sum(axis=0) for a in sharding.to_host(truth))
    for (_, count, _), pair in zip(chunks, sharding.to_host(sums), strict=True):
        correct.append(np.asarray(pair[0], np.int64).sum(axis=0)[:count])
        predicted.append(np.asarray(pair[1], np.int64).sum(axis=0)[:count])
    return ClassCounts(np.concatenate(correct), np.concatenate(predicted), true, int(total))
