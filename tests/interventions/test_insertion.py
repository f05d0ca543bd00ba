"""Tests of jaxdissect/interventions/insertion.py: contexts, quantiles, insertion counts."""

import json

import numpy as np
import pytest
from toy_models import latent_batches, make_generator, threshold_segmenter

from jaxdissect.interventions.insertion import (
    insert_concept_units,
    insertion_json,
    location_contexts,
    unit_quantiles,
)
from jaxdissect.report.experiment_kinds import load_experiment


def test_location_contexts_take_the_most_frequent_label_of_each_block():
    labels = np.array([[[1, 1, 2, 2, 2],
                        [1, 3, 2, 3, 3],
                        [0, 0, 5, 4, 4],
                        [0, 7, 5, 5, 4]]])
    # 2x2 grid over 4x5: rows 0-1 / 2-3, columns 0-1 / 2-4.
    np.testing.assert_array_equal(location_contexts(labels, (2, 2))[0], [[1, 2], [0, 4]])
    ties = np.array([[[3, 1], [1, 3]]])
    assert location_contexts(ties, (1, 1))[0, 0, 0] == 1


def test_unit_quantiles_are_exact_order_statistics(rng):
    net = make_generator(seed=2)
    z = rng.normal(size=(9, 3)).astype(np.float32)
    batches = latent_batches(z, 4)
    values = unit_quantiles(net, "layer1", batches, q=0.05)
    _, acts = net(z, layers=["layer1"])
    flat = np.asarray(acts["layer1"]).reshape(-1, 4)
    k = int(np.ceil(0.05 * len(flat)))
    np.testing.assert_array_equal(values, np.sort(flat, axis=0)[-k])


def test_unit_quantiles_need_reiterable_batches(rng):
    net = make_generator()
    batches = iter(latent_batches(np.zeros((3, 3), np.float32), 3))
    with pytest.raises(ValueError, match="re-iterable"):
        unit_quantiles(net, "layer1", batches, q=0.5)


def test_insertion_adds_the_concept_only_where_it_was_absent(rng):
    """The toy generator paints each cell's 4x4 block with the sum of its units; inserting at a
    cell labelled 2 (no concept) makes all 16 pixels concept 1, at a cell labelled 1 nothing is
    new, and nothing changes elsewhere."""
    net = make_generator(seed=3)
    z = rng.normal(size=(6, 3)).astype(np.float32)
    result = insert_concept_units(net, "layer1", [1, 3], 2.0, latent_batches(z, 4),
                                  threshold_segmenter(), concept=1, chunk_size=5)
    _, acts = net(z, layers=["layer1"])
    concept_cells = (np.asarray(acts["layer1"]).sum(-1) > 0.5)  # (6, 4, 4)
    assert result.insertions[1] == concept_cells.sum()
    assert result.insertions[2] == (~concept_cells).sum()
    assert result.new_pixels[1] == 0
    assert result.new_pixels[2] == 16 * result.insertions[2]
    np.testing.assert_array_equal(result.per_location, 16 * (~concept_cells).sum(0))


def test_insertion_at_chosen_locations_and_json(rng, tmp_path):
    net = make_generator(seed=3)
    z = rng.normal(size=(3, 3)).astype(np.float32)
    result = insert_concept_units(net, "layer1", [0], np.array([5.0, 0, 0, 0]),
                                  latent_batches(z, 3), threshold_segmenter(), concept=1,
                                  locations=[(0, 0), (3, 2)])
    assert result.insertions.sum() == 6
    assert result.per_location.sum() == result.new_pixels.sum()
    assert np.count_nonzero(result.per_location[1:3]) == 0
    path = tmp_path / "insertion.json"
    path.write_text(json.dumps(insertion_json(result, "door", ["-", "door", "wall"], "layer1")))
    data = load_experiment(path)
    assert {c["label"] for c in data["contexts"]} <= {"door", "wall"}
    assert data["values"] == [5.0]
    # A random-unit baseline on the same samples and cells: one count per set and context.
    other = insert_concept_units(net, "layer1", [2], np.array([0, 0, 5.0, 0]),
                                 latent_batches(z, 3), threshold_segmenter(), concept=1,
                                 locations=[(0, 0), (3, 2)])
    data = insertion_json(result, "door", ["-", "door", "wall"], "layer1", random=[other, other])
    assert data["random_units"] == [[2], [2]]
    for context in data["contexts"]:
        count = int(other.new_pixels[context["number"]]) if context["number"] < len(
            other.new_pixels) else 0
        assert context["random_new_pixels"] == [count, count]
    elsewhere = insert_concept_units(net, "layer1", [2], 5.0, latent_batches(z[:2], 3),
                                     threshold_segmenter(), concept=1, locations=[(0, 0)])
    with pytest.raises(ValueError, match="same cells of the same samples"):
        insertion_json(result, "door", ["-", "door", "wall"], "layer1", random=[elsewhere])
    with pytest.raises(ValueError, match="outside"):
        insert_concept_units(net, "layer1", [0], 1.0, latent_batches(z, 3),
                             threshold_segmenter(), concept=1, locations=[(4, 0)])
