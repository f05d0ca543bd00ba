"""Tests of jaxdissect/interventions/generator.py: concept removal on a toy generator."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import latent_batches, make_generator, threshold_segmenter

from jaxdissect.interventions.generator import removal_json, remove_concept_units
from jaxdissect.report.experiment_kinds import load_experiment


def expected_pixels(net, z, removed_units, threshold=0.5):
    """Concept 1 is where the cell's sum of units (left after removal) exceeds the threshold;
    every cell is a 4x4 pixel block."""
    _, acts = net(jnp.asarray(z), layers=["layer1"])
    acts = np.asarray(acts["layer1"]).copy()
    acts[..., list(removed_units)] = 0
    return int((acts.sum(-1) > threshold).sum()) * 16


def test_removal_counts_match_the_construction(rng):
    net = make_generator()
    z = rng.normal(size=(7, 3)).astype(np.float32)
    ranked = [2, 0, 3, 1]
    result = remove_concept_units(net, "layer1", ranked, latent_batches(z, 5),
                                  threshold_segmenter(), concept=1, chunk_size=2)
    expected = [expected_pixels(net, z, ranked[:k]) for k in range(5)]
    assert list(result.removed) == [0, 1, 2, 3, 4]
    assert list(result.pixels) == expected
    assert expected[0] > 0 and expected[-1] == 0
    np.testing.assert_allclose(result.fraction, np.array(expected) / expected[0])
    assert np.all(np.diff(result.fraction) <= 0)  # non-negative units: removal only lowers sums


def test_removal_json_is_a_report_plot(rng, tmp_path):
    net = make_generator(seed=1)
    z = rng.normal(size=(4, 3)).astype(np.float32)
    result = remove_concept_units(net, "layer1", [1, 0], latent_batches(z, 4),
                                  threshold_segmenter(), concept=1, removed=[0, 2])
    path = tmp_path / "removal.json"
    path.write_text(json.dumps(removal_json(result, "tree", "layer1")))
    data = load_experiment(path)
    assert data["curves"][0]["removed"] == [0, 2]
    assert data["curves"][0]["accuracy"][0] == 1.0
    assert data["units"] == [1, 0]


def test_removal_needs_the_unedited_count(rng):
    net = make_generator()
    with pytest.raises(ValueError, match="must include 0"):
        remove_concept_units(net, "layer1", [0, 1], latent_batches(np.zeros((2, 3)), 2),
                             threshold_segmenter(), concept=1, removed=[1, 2])
