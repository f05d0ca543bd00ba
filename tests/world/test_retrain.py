"""Full retraining of the world models (slow: several CPU minutes per model)."""

import numpy as np
import pytest

from jaxdissect.world.assets import load_world_model
from jaxdissect.world.train import main


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_accuracies(tmp_path):
    assert main(["all", "--out", str(tmp_path)]) == 0
    for name in ("classifier", "segmenter", "vit"):
        shipped = load_world_model(name).meta["evaluation"]
        retrained = load_world_model(name, root=tmp_path).meta["evaluation"]
        if name in ("classifier", "vit"):
            assert retrained["accuracy"] >= shipped["accuracy"] - 0.03
        else:
            for category, acc in shipped["pixel_accuracy"].items():
                assert retrained["pixel_accuracy"][category]["all"] >= acc["all"] - 0.03
    shipped = load_world_model("generator").meta["evaluation"]
    retrained = load_world_model("generator", root=tmp_path).meta["evaluation"]
    assert np.isclose(retrained["reconstruction_mse"], shipped["reconstruction_mse"], rtol=0.25)
    for name in ("house", "road"):
        assert retrained["samples"][name]["images"] >= 0.8
    assert np.isclose(retrained["segmenter_frechet"]["samples"],
                      shipped["segmenter_frechet"]["samples"], rtol=0.25)
