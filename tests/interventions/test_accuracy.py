"""Tests of jaxdissect/interventions/accuracy.py: counts, balanced accuracy, batched ablations."""

import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import batches_of, tiny_classifier

from jaxdissect.interventions.accuracy import ClassCounts, count_predictions
from jaxdissect.models.edits import UnitEdit


def numpy_balanced_accuracy(pred, labels, num_classes):
    out = []
    for c in range(num_classes):
        positive, said = labels == c, pred == c
        recall = (positive & said).sum() / positive.sum()
        tnr = (~positive & ~said).sum() / (~positive).sum()
        out.append((recall + tnr) / 2)
    return np.array(out)


def test_balanced_accuracy_matches_numpy(rng):
    labels = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 4, 200))
    counts = ClassCounts.from_predictions(pred[None], labels, 4)
    np.testing.assert_allclose(counts.balanced_accuracy()[0],
                               numpy_balanced_accuracy(pred, labels, 4))
    assert counts.accuracy()[0] == pytest.approx((pred == labels).mean())
    assert counts.correct.dtype == np.int64


def test_balanced_accuracy_of_missing_class_is_nan():
    counts = ClassCounts.from_predictions(np.array([[0, 1, 1]]), np.array([0, 1, 1]), 3)
    accuracy = counts.balanced_accuracy()[0]
    assert accuracy[0] == 1.0 and accuracy[1] == 1.0 and np.isnan(accuracy[2])


def test_batched_ablations_equal_one_at_a_time(rng, devices):
    net = tiny_classifier(num_classes=5)
    images = rng.normal(size=(13, 8, 8, 3)).astype(np.float32)
    labels = rng.integers(0, 5, 13)
    sets = rng.random((7, 6)) < 0.4
    sets[0] = False
    counts = count_predictions(net, "conv2", sets, batches_of(images, labels, 5),
                               inputs=lambda b: b["image"], chunk_size=3)
    preds = []
    for row in sets:
        edit = UnitEdit(units=jnp.asarray(row, jnp.float32), values=jnp.zeros(6))
        logits, _ = net(jnp.asarray(images), edits={"conv2": edit})
        preds.append(np.argmax(np.asarray(logits), -1))
    expected = ClassCounts.from_predictions(np.stack(preds), labels, 5)
    np.testing.assert_array_equal(counts.correct, expected.correct)
    np.testing.assert_array_equal(counts.predicted, expected.predicted)
    np.testing.assert_array_equal(counts.true, expected.true)
    assert counts.total == 13
    assert len({p.tobytes() for p in preds}) > 1, "the ablations should change some predictions"


def test_labels_out_of_range_are_an_error(rng):
    net = tiny_classifier(num_classes=5)
    batch = {"image": rng.normal(size=(3, 8, 8, 3)).astype(np.float32),
             "label": np.array([0, 7, 1]), "mask": np.ones(3, bool)}
    with pytest.raises(ValueError, match=r"labels must be in \[0, 5\)"):
        count_predictions(net, "conv2", np.zeros((1, 6), bool), [batch],
                          inputs=lambda b: b["image"])
