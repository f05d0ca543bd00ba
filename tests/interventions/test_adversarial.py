"""Tests of jaxdissect/interventions/adversarial.py on a small fitted classifier."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from toy_models import tiny_classifier

from jaxdissect.interventions.adversarial import (
    CarliniWagner,
    adversarial_json,
    carlini_wagner,
    peak_activations,
    unit_peak_change,
)
from jaxdissect.models.base import Net, Normalization

NORM = Normalization(size=8)
SHIFT = 0.15  # the class signal: channel `label` is brighter by SHIFT


def colour_data(rng, n):
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0.1, 0.7, size=(n, 8, 8, 3)).astype(np.float32)
    images[np.arange(n), :, :, labels] += SHIFT
    return images, labels


def normalised(images):
    return jnp.asarray((images - np.array(NORM.mean)) / np.array(NORM.std), jnp.float32)


@pytest.fixture(scope="module")
def fitted():
    """A 3-way classifier of the brightest channel, fitted in 80 Adam steps."""
    rng = np.random.default_rng(1)
    net = tiny_classifier(num_classes=3)
    optimizer = optax.adam(0.02)

    def loss(params, x, y):
        logits, _ = net.module.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(params, state, x, y):
        grads = jax.grad(loss)(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params, state = net.params, optimizer.init(net.params)
    for _ in range(80):
        images, labels = colour_data(rng, 32)
        params, state = step(params, state, normalised(images), labels)
    return Net(module=net.module, params=params)


def predict(net, images):
    return np.argmax(np.asarray(net(normalised(images))[0]), -1)


def test_attack_reaches_the_target_with_a_small_perturbation(fitted):
    images, labels = colour_data(np.random.default_rng(2), 6)
    assert np.all(predict(fitted, images) == labels)
    targets = (labels + 1) % 3
    fixed = carlini_wagner(fitted, images, targets, CarliniWagner(steps=100),
                           normalization=NORM)
    assert fixed.success.sum() >= 5
    assert np.all(predict(fitted, fixed.adversarial[fixed.success]) == targets[fixed.success])
    assert fixed.adversarial.min() >= 0 and fixed.adversarial.max() <= 1
    # Recolouring the image into the target class moves 2 channels of 64 pixels by SHIFT.
    recolour = np.sqrt(2 * 64) * SHIFT
    assert np.median(fixed.l2[fixed.success]) < 0.75 * recolour
    np.testing.assert_allclose(
        fixed.l2[fixed.success],
        np.linalg.norm((fixed.adversarial - images)[fixed.success].reshape(-1, 192), axis=1),
        rtol=1e-4)
    searched = carlini_wagner(fitted, images, targets, CarliniWagner(steps=100, search_steps=3),
                              normalization=NORM)
    both = fixed.success & searched.success
    assert searched.success.sum() >= fixed.success.sum()
    assert searched.l2[both].mean() < fixed.l2[both].mean()
    assert not np.all(searched.c == 1.0)


def test_peak_activations_and_their_change(fitted, rng):
    images = rng.uniform(0, 1, size=(5, 8, 8, 3)).astype(np.float32)
    peaks = peak_activations(fitted, "conv2", images, normalization=NORM, batch_size=3)
    _, acts = fitted(normalised(images), layers=["conv2"])
    np.testing.assert_allclose(peaks, np.asarray(acts["conv2"]).max(axis=(1, 2)), rtol=1e-6)
    change = unit_peak_change(np.zeros((3, 4)), np.array([[1, -3, 0, 2], [3, -3, 0, -2],
                                                          [9, 9, 9, 9]]),
                              counted=np.array([True, True, False]))
    np.testing.assert_allclose(change.change, [2, -3, 0, 0])
    assert list(change.ranking) == [1, 0, 2, 3] and change.num_images == 2
    with pytest.raises(ValueError, match="no image"):
        unit_peak_change(np.zeros((1, 2)), np.zeros((1, 2)), counted=np.array([False]))


def test_adversarial_json_lists_the_units_that_change_most(fitted):
    images, labels = colour_data(np.random.default_rng(3), 3)
    attack = carlini_wagner(fitted, images, (labels + 1) % 3, CarliniWagner(steps=30),
                            normalization=NORM)
    change = unit_peak_change(np.zeros((3, 6)), np.arange(18.0).reshape(3, 6))
    data = adversarial_json(attack, change, "conv2", "red", "green",
                            unit_labels=[f"u{i}" for i in range(6)], top=2)
    assert [u["unit"] for u in data["units"]] == [5, 4] and data["units"][0]["label"] == "u5"
    assert data["kind"] == "adversarial_unit_change" and data["num_images"] == 3
    # The baseline: the mean |change| of as many random units, per draw (changes 6..11 here).
    assert data["top_mean_abs_change"] == 10.5
    assert len(data["random"]) == 3 and len(data["random_units"]) == 3
    for units, mean in zip(data["random_units"], data["random"], strict=True):
        assert len(set(units)) == 2 and mean == np.mean([6.0 + u for u in units])
