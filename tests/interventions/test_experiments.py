"""Tests of jaxdissect/runs/experiments.py: the experiments from files."""

import json

import numpy as np
import pytest
from experiment_fixtures import (
    bright_segmenter,
    classifier,
    dissection_folder,
    generator,
    image_folder,
)

from jaxdissect.data.batching import batches
from jaxdissect.data.folder import ImageFolder
from jaxdissect.interventions import ablation
from jaxdissect.interventions.adversarial import CarliniWagner
from jaxdissect.report.experiment_kinds import load_experiment
from jaxdissect.runs import experiments

SMALL = {"resize": 8}


def test_ablation_experiment_equals_the_library_calls(tmp_path):
    train = image_folder(tmp_path / "train", per_class=4, seed=0)
    val = image_folder(tmp_path / "val", per_class=3, seed=1)
    net = classifier()
    result = experiments.ablation_experiment(
        net, "conv2", f"folder:{train}", ["red", "0"], eval_data=f"folder:{val}",
        sizes=(1, 3), keep=2, batch_size=5, chunk_size=4, data_options=SMALL)
    source = lambda root: ImageFolder(root, crop=8, resize=8)
    importance = ablation.unit_importance(net, "conv2", batches(source(train), 7))
    curves = ablation.removal_curves(net, "conv2", importance.importance,
                                     batches(source(val), 7), [2, 0], sizes=(1, 3), keep=2)
    expected = ablation.removal_curves_json(curves, ["blue", "green", "red"], "conv2")
    assert [c["name"] for c in result["curves"]] == ["red", "red, keep top 2", "blue",
                                                     "blue, keep top 2"]
    for got, want in zip(result["curves"], expected["curves"], strict=True):
        assert got["removed"] == want["removed"]
        np.testing.assert_allclose(got["accuracy"], want["accuracy"])
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps(result))
    load_experiment(path)


def test_ablation_experiment_rejects_unknown_classes(tmp_path):
    data = image_folder(tmp_path / "d", per_class=1, seed=0)
    with pytest.raises(ValueError, match="unknown class 'purple'; classes are: blue, green, red"):
        experiments.ablation_experiment(classifier(), "conv2", f"folder:{data}", ["purple"],
                                        data_options=SMALL)


def test_image_experiment_opens_the_model_and_images_for_any_function(tmp_path):
    folder = image_folder(tmp_path / "d", per_class=2, seed=0)
    seen = []

    def count_rows(net, data, *, layer):
        for batch in data:
            seen.append((batch["image"].shape, int(batch["mask"].sum())))
        return {"kind": "rows", "layer": layer, "net": net.meta["normalization"]["size"]}

    result = experiments.image_experiment(count_rows, classifier(), f"folder:{folder}",
                                          batch_size=4, data_options=SMALL, layer="conv2")
    assert result == {"kind": "rows", "layer": "conv2", "net": 8}
    assert seen == [((4, 8, 8, 3), 4), ((4, 8, 8, 3), 2)]  # 6 images, the last batch padded


def test_removal_and_insertion_experiments_on_a_toy_generator(tmp_path):
    folder = dissection_folder(tmp_path / "layer1")
    net = generator()
    removal = experiments.removal_experiment(net, str(folder), "bright",
                                             segmenter=bright_segmenter(), samples=5,
                                             max_units=3, batch_size=3)
    assert removal["units"] == [1, 3, 0] and removal["curves"][0]["removed"] == [0, 1, 2, 3]
    fractions = removal["curves"][0]["accuracy"]
    assert fractions[0] == 1.0 and np.all(np.diff(fractions) <= 0)
    insertion = experiments.insertion_experiment(net, str(folder), "bright",
                                                 segmenter=bright_segmenter(), samples=4, units=2,
                                                 q=0.1, quantile_samples=6, batch_size=3)
    assert insertion["units"] == [1, 3]
    by_label = {c["label"]: c for c in insertion["contexts"]}
    assert sum(c["locations"] for c in by_label.values()) == 4 * 16
    assert by_label.get("bright", {"new_pixels": 0})["new_pixels"] == 0
    # The baseline: as many of the other units, on the same samples and cells.
    assert [sorted(units) for units in insertion["random_units"]] == [[0, 2]]
    assert all(len(c["random_new_pixels"]) == 1 for c in insertion["contexts"])
    for data in (removal, insertion):
        path = tmp_path / f"{data['kind']}.json"
        path.write_text(json.dumps(data))
        load_experiment(path)


def test_generator_experiments_name_unknown_concepts(tmp_path):
    folder = dissection_folder(tmp_path / "layer1")
    with pytest.raises(ValueError, match="close names: bright"):
        experiments.removal_experiment(generator(), str(folder), "brite",
                                       segmenter=bright_segmenter(), samples=2)


def test_adversarial_experiment_reports_unit_changes(tmp_path):
    data = image_folder(tmp_path / "d", per_class=3, seed=2)
    result = experiments.adversarial_experiment(
        classifier(), "conv2", f"folder:{data}", "red", "blue", images=2,
        settings=CarliniWagner(steps=20, c=10.0), batch_size=4, data_options=SMALL)
    assert result["source"] == "red" and result["target"] == "blue"
    assert result["num_images"] == 2 and len(result["units"]) == 6
    changes = [abs(u["change"]) for u in result["units"]]
    assert changes == sorted(changes, reverse=True)
