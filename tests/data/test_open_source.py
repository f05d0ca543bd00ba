"""Data spec strings (:func:`jaxdissect.runs.data.open_source`) on the data sets this
folder's fixtures make."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxdissect.data import (
    BrodenDataset,
    ImageFolder,
    LatentSource,
    PackedSource,
    TfdsImages,
)
from jaxdissect.data.skipped import BadDataWarning
from jaxdissect.runs.data import open_source


def test_each_scheme(image_folder, broden_folder):
    folder = open_source(f"folder:{image_folder[0]}", crop=32, resize=40)
    assert isinstance(folder, ImageFolder) and folder.fields["image"].shape == (32, 32, 3)
    broden = open_source(f"broden:{broden_folder[0]}", categories="object,texture", split="val")
    assert isinstance(broden, BrodenDataset) and broden.categories == ["object", "texture"]
    latents = open_source("latents:10", seed=3, dim=4)
    assert isinstance(latents, LatentSource) and len(latents) == 10
    np.testing.assert_array_equal(latents.read_row(0)["z"],
                                  np.random.RandomState(3).standard_normal(4).astype(np.float32))
    with tfds.testing.mock_data(num_examples=3):
        places = open_source("tfds:places365_small")
        lsun = open_source("tfds:lsun/church_outdoor:train", crop=64, resize=64)
    assert isinstance(places, TfdsImages) and places.split == "validation"
    assert lsun.name == "lsun/church_outdoor" and lsun.split == "train"


def test_cache_dir_option(image_folder, tmp_path):
    with pytest.warns(BadDataWarning):
        packed = open_source(f"folder:{image_folder[0]}", cache_dir=tmp_path, crop=16, resize=16)
    assert isinstance(packed, PackedSource) and packed.folder.parent == tmp_path
    with pytest.raises(ValueError, match="cache_dir does not apply"):
        open_source("latents:5", cache_dir=tmp_path)


def test_bad_specs_list_the_valid_ones(tmp_path):
    with pytest.raises(ValueError, match="unknown scheme 'imagenet'.*folder:PATH.*latents:N"):
        open_source("imagenet:/data")
    with pytest.raises(ValueError, match="unknown scheme"):
        open_source("/just/a/path")
    with pytest.raises(ValueError, match="missing the part after 'folder:'"):
        open_source("folder:")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['seeed'\].*seed, dim"):
        open_source("latents:5", seeed=2)
    with pytest.raises(ValueError, match="N must be an integer"):
        open_source("latents:many")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(f"folder:{tmp_path / 'missing'}")
