"""Tests for jaxdissect/runs/data.py: world rows, first-N rows, specs sized for a model."""

import numpy as np
import pytest
from PIL import Image

from jaxdissect.data.source import FirstRows
from jaxdissect.runs.data import open_probe_data, source_identity
from jaxdissect.world.source import WorldConfig, WorldRows, render_world


def test_world_rows_are_the_world_drawn_in_batches():
    rows = WorldRows(12, seed=3, size=32)
    arrays, valid = rows.read_batch([7, 2, 11])
    expected = render_world(WorldConfig(size=32, seed=3), [7, 2, 11])
    assert valid.all() and arrays["image"].dtype == np.uint8
    np.testing.assert_array_equal(arrays["image"], expected["image"])
    np.testing.assert_array_equal(arrays["seg"], expected["seg"])
    assert arrays["label"].dtype == np.int32 and arrays["seg"].shape == (3, 4, 16, 16)
    assert rows.fields["seg"].shape == (4, 16, 16)
    assert int(arrays["seg"].max()) < rows.vocabulary().num_concepts
    np.testing.assert_array_equal(rows.read_row(2)["image"], expected["image"][1])
    with pytest.raises(IndexError):
        rows.read_batch([12])


def test_world_identity_names_everything_that_changes_the_images():
    base = WorldRows(12).identity()
    assert base["seed"] == 1 and base["size"] == 64 and len(base["code_sha256"]) == 64
    others = [WorldRows(13).identity(), WorldRows(12, seed=2).identity(),
              WorldRows(12, size=32).identity(), WorldRows(12, classes="village").identity()]
    assert all(o != base for o in others)


def test_first_rows_keep_the_first_n_and_say_so():
    rows = FirstRows(WorldRows(12, size=32), 5)
    assert len(rows) == 5 and rows.identity()["rows"] == 5
    assert rows.identity()["of"]["num_images"] == 12
    assert len(FirstRows(WorldRows(3, size=32), 5)) == 3
    with pytest.raises(IndexError, match="beyond the limit"):
        rows.read_batch([5])
    with pytest.raises(ValueError, match="at least one row"):
        FirstRows(WorldRows(3, size=32), 0)


def test_image_folders_are_squashed_and_cropped_to_the_model_size(tmp_path):
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(tmp_path / name)
    source = open_probe_data(f"folder:{tmp_path}", image_size=32)
    assert source.fields["image"].shape == (32, 32, 3)
    assert source.identity()["preprocess"]["resize"] == 37  # round(32 * 8 / 7)
    big = open_probe_data(f"folder:{tmp_path}", image_size=227, options={"resize": 300})
    assert big.identity()["preprocess"]["resize"] == 300
    identity = source_identity(f"folder:{tmp_path}", source)
    assert identity["rows"] == 2 and identity["source"]["files_sha256"]


def test_latents_take_the_generator_size_and_specs_are_checked():
    assert open_probe_data("latents:4", latent_dim=7).fields["z"].shape == (7,)
    assert len(open_probe_data("latents:40", latent_dim=7, limit=6)) == 6
    with pytest.raises(ValueError, match="unknown scheme 'pics'.*world:N"):
        open_probe_data("pics:/x")
    with pytest.raises(ValueError, match="unknown scheme"):
        open_probe_data("world")
    with pytest.raises(ValueError, match="unknown option.*colour"):
        open_probe_data("world:4", options={"colour": 1})
