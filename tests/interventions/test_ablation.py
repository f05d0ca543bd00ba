"""Tests of jaxdissect/interventions/ablation.py: importance, removal sets and curves, JSON."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import batches_of, readout_net, tiny_classifier

from jaxdissect.interventions.ablation import (
    rank_units,
    removal_curves,
    removal_curves_json,
    removal_sets,
    unit_importance,
)
from jaxdissect.interventions.accuracy import ClassCounts
from jaxdissect.models.edits import UnitEdit
from jaxdissect.report.experiment_kinds import load_experiment

as_is = lambda batch: batch["image"]


def test_importance_equals_single_ablations_one_by_one(rng):
    net = tiny_classifier(num_classes=4)
    images = rng.normal(size=(11, 8, 8, 3)).astype(np.float32)
    labels = rng.integers(0, 4, 11)
    result = unit_importance(net, "conv1", batches_of(images, labels, 6), inputs=as_is,
                             chunk_size=3)
    preds = []
    for u in range(-1, 4):
        units = np.zeros(4, np.float32)
        if u >= 0:
            units[u] = 1
        edit = UnitEdit(units=jnp.asarray(units), values=jnp.zeros(4))
        logits, _ = net(jnp.asarray(images), edits={"conv1": edit})
        preds.append(np.argmax(np.asarray(logits), -1))
    accuracy = ClassCounts.from_predictions(np.stack(preds), labels, 4).balanced_accuracy()
    np.testing.assert_allclose(result.baseline, accuracy[0])
    np.testing.assert_allclose(result.importance, accuracy[0] - accuracy[1:])
    assert result.importance.shape == (4, 4)


def test_removal_sets_clip_to_width_and_add_the_complement():
    ranking = np.array([3, 0, 4, 1, 2, 5, 6])
    sets = removal_sets(ranking, class_index=2, sizes=(1, 2, 20, 64), keep=3)
    assert [s.removed for s in sets] == [0, 1, 2, 7, 4]
    assert sets[-1].complement and list(sets[-1].units) == [1, 2, 5, 6]
    assert list(sets[2].units) == [3, 0]
    assert all(not s.complement for s in sets[:-1])
    assert len(removal_sets(ranking, 0, sizes=(1,), keep=7)) == 2  # keep >= width: no complement


def test_rank_units_breaks_ties_by_unit_and_puts_nan_last():
    assert list(rank_units(np.array([0.1, np.nan, 0.3, 0.1]))) == [2, 0, 3, 1]


GROUP_WEIGHTS = np.array([4.0, 3.0, 2.0, 1.0])


def readout_world(rng, per_class):
    """Class 0 is background (all units off); class c in 1..3 lights units 4(c-1) .. 4c-1
    with weights 4, 3, 2, 1 in its logit; unit 12 is unused. Removing a class's units only
    lowers its own logit on its own images, so its curve can only fall."""
    weights = np.zeros((13, 4))
    for c in (1, 2, 3):
        weights[4 * (c - 1):4 * c, c] = GROUP_WEIGHTS
    net = readout_net(weights, bias=np.array([8.0, 0, 0, 0]))
    labels = np.repeat(np.arange(4), per_class)
    features = np.zeros((len(labels), 1, 1, 13), np.float32)
    for i, c in enumerate(labels):
        if c:
            features[i, 0, 0, 4 * (c - 1):4 * c] = rng.uniform(0.5, 1.5, 4)
    return net, features, labels


def test_removal_curve_is_monotone_where_units_are_known_to_matter(rng):
    net, train_x, train_y = readout_world(rng, per_class=40)
    _, val_x, val_y = readout_world(rng, per_class=30)
    importance = unit_importance(net, "units", batches_of(train_x, train_y, 50),
                                 inputs=as_is, chunk_size=7).importance
    assert list(rank_units(importance[:, 2])[:4]) == [4, 5, 6, 7]
    assert np.all(importance[8:, 2] == 0) and np.all(importance[:4, 2] == 0)
    curves = removal_curves(net, "units", importance, batches_of(val_x, val_y, 45), [1, 2],
                            sizes=(1, 2, 3, 4, 5, 20), keep=4, inputs=as_is, chunk_size=5)
    for curve in curves:
        assert list(curve.removed) == [0, 1, 2, 3, 4, 5, 13]
        bacc = curve.balanced_accuracy
        assert np.all(np.diff(bacc) <= 0), bacc
        assert bacc[0] > 0.9 and bacc[1] < bacc[0] and bacc[4] == 0.5
        removed, kept_bacc, _ = curve.complement
        assert removed == 9 and kept_bacc == pytest.approx(bacc[0])
        assert np.all(np.diff(curve.accuracy) <= 0)


def test_removal_curves_json_is_a_report_plot(rng, tmp_path):
    net, x, y = readout_world(rng, per_class=10)
    importance = unit_importance(net, "units", batches_of(x, y, 40), inputs=as_is).importance
    curves = removal_curves(net, "units", importance, batches_of(x, y, 40), [3],
                            sizes=(1, 4), keep=2, inputs=as_is)
    data = removal_curves_json(curves, ["background", "a", "b", "c"], "units")
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps(data))
    loaded = load_experiment(path)
    assert [c["name"] for c in loaded["curves"]] == ["c", "c, keep top 2"]
    assert loaded["curves"][0]["removed"] == [0, 1, 4]
    assert loaded["curves"][0]["units"][:3] == [8, 9, 10]  # as many as the largest set
    assert len(loaded["curves"][0]["units"]) == 4
    assert loaded["curves"][1]["kept_units"] == [8, 9]


def test_class_without_images_is_an_error(rng):
    net, x, y = readout_world(rng, per_class=5)
    keep = y != 2
    with pytest.raises(ValueError, match="class 2 has no images"):
        removal_curves(net, "units", np.zeros((13, 4)), batches_of(x[keep], y[keep], 16), [2],
                       inputs=as_is)
