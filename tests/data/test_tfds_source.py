import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxdissect.data.batching import batches
from jaxdissect.data.tfds_source import TfdsImages


def reference(array, resize, crop):
    resized = np.asarray(Image.fromarray(array).resize((resize, resize), Image.BILINEAR))
    offset = int(round((resize - crop) / 2))
    return resized[offset : offset + crop, offset : offset + crop]


def test_places365_validation_under_mock_data():
    with tfds.testing.mock_data(num_examples=5):
        raw = tfds.data_source("places365_small", split="validation")
        source = TfdsImages("places365_small", "validation", crop=227)
        assert len(source) == 5 and set(source.fields) == {"image", "label"}
        assert source.identity()["name"] == "places365_small/2.1.0"
        out = list(batches(source, 3, process_index=0, process_count=1, num_workers=2))
    images = np.concatenate([b["image"] for b in out])
    labels = np.concatenate([b["label"] for b in out])
    for i in range(5):
        np.testing.assert_array_equal(images[i], reference(raw[i]["image"], 256, 227))
        assert labels[i] == raw[i]["label"]
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    np.testing.assert_array_equal(np.concatenate([b["mask"] for b in out]), [1] * 5 + [0])


def test_lsun_images_of_random_sizes_come_out_square():
    with tfds.testing.mock_data(num_examples=4):
        raw = tfds.data_source("lsun/church_outdoor", split="train")
        source = TfdsImages("lsun/church_outdoor", "train", crop=32, resize=40)
        assert set(source.fields) == {"image"}
        rows = [source.load(i) for i in range(4)]
        for i, row in enumerate(rows):
            assert row["image"].shape == (32, 32, 3)
            np.testing.assert_array_equal(row["image"], reference(raw[i]["image"], 40, 32))
        assert len({raw[i]["image"].shape for i in range(4)}) > 1


def test_unprepared_data_set_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError, match="not prepared.*tfds build places365_small") as err:
        TfdsImages("places365_small", "validation", data_dir=tmp_path)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(ValueError, match="unknown tfds data set"):
        TfdsImages("no_such_data_set_xyz", "train", data_dir=tmp_path)
