import numpy as np
import pytest
from PIL import Image

from jaxdissect.data.batching import batches
from jaxdissect.data.broden import BrodenDataset, decode_label_map
from jaxdissect.data.skipped import BadDataWarning


def test_rows_without_data_are_skipped_and_channels_are_blocks(broden_folder):
    root, _ = broden_folder
    broden = BrodenDataset(root)
    assert [broden.row_name(i) for i in range(len(broden))] == [
        "ade/img0.jpg", "ade/img1.jpg", "ade/img3.jpg", "ade/img4.jpg"]
    assert [broden.index_row(i) for i in range(len(broden))] == [0, 1, 3, 4]
    assert broden.depth == {"color": 1, "object": 1, "part": 2, "material": 1, "scene": 1,
                            "texture": 1}
    assert broden.channel_categories == ["color", "object", "part", "part", "material",
                                         "scene", "texture"]
    assert broden.fields["seg"].shape == (7, 8, 8) and broden.fields["image"].shape == (16, 16, 3)


def test_label_maps_whole_image_labels_and_images(broden_folder):
    root, truth = broden_folder
    broden = BrodenDataset(root)
    for index in range(3):
        name = broden.row_name(index)
        row = broden.read_row(index)
        with Image.open(root / "images" / name) as image:
            np.testing.assert_array_equal(row["image"], np.asarray(image.convert("RGB")))
        assert row["seg"].dtype == np.int32
        for category in broden.categories:
            channels = [k for k, c in enumerate(broden.channel_categories) if c == category]
            expected = truth[name].get(category, [])
            for depth, channel in enumerate(channels):
                want = expected[depth] if depth < len(expected) else 0
                np.testing.assert_array_equal(row["seg"][channel], np.broadcast_to(want, (8, 8)))
        has = [bool(truth[name].get(c)) for c in broden.categories]
        np.testing.assert_array_equal(row["has_category"], has)
    assert (broden.read_row(0)["seg"] == 300).any()  # red 44 + 256 * green 1


def test_red_plus_256_green(tmp_path):
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[..., 0] = [[1, 44], [255, 0]]
    rgb[..., 1] = [[0, 1], [3, 4]]
    Image.fromarray(rgb).save(tmp_path / "m.png")
    np.testing.assert_array_equal(decode_label_map(tmp_path / "m.png"), [[1, 300], [1023, 1024]])


def test_split_and_category_selection(broden_folder):
    root, _ = broden_folder
    val = BrodenDataset(root, split="val")
    assert [val.row_name(i) for i in range(len(val))] == ["ade/img1.jpg", "ade/img3.jpg",
                                                          "ade/img4.jpg"]
    texture = BrodenDataset(root, categories=["texture"])
    assert len(texture) == 1 and texture.fields["seg"].shape == (1, 8, 8)
    np.testing.assert_array_equal(texture.read_row(0)["seg"], np.full((1, 8, 8), 9))
    with pytest.raises(ValueError, match="unknown Broden categories.*index.csv has: color"):
        BrodenDataset(root, categories=["object", "colour"])
    with pytest.raises(ValueError, match="no image of split 'train'"):
        BrodenDataset(root, categories=["texture"], split="train")


def test_batches_mask_the_unreadable_map(broden_folder):
    root, _ = broden_folder
    broden = BrodenDataset(root)
    with pytest.warns(BadDataWarning, match="img4.jpg"):
        (batch,) = list(batches(broden, 5, process_index=0, process_count=1))
    assert batch["seg"].shape == (5, 7, 8, 8) and batch["seg"].dtype == np.int32
    assert batch["image"].dtype == np.uint8
    np.testing.assert_array_equal(batch["mask"], [True, True, True, False, False])
    np.testing.assert_array_equal(batch["index"], [0, 1, 2, 3, 0])
    assert "label map ade/wrongsize.png" in broden.report().skipped[0].reason


def test_vocabulary_and_category_members(broden_folder):
    root, _ = broden_folder
    broden = BrodenDataset(root)
    vocabulary = broden.vocabulary()
    assert vocabulary.num_concepts == 301
    assert vocabulary.names[300] == "label300" and vocabulary.categories[300] == "part"
    assert vocabulary.categories[1] == "color" and vocabulary.categories[8] == "scene"
    members = broden.category_members()
    assert 300 in members["part"] and 300 in members["object"] and 300 not in members["color"]
    np.testing.assert_array_equal(members["texture"], [9])


def test_missing_files_fail_before_any_work(broden_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BrodenDataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="not a Broden folder: no index.csv"):
        BrodenDataset(tmp_path / "empty")
    root, _ = broden_folder
    (root / "c_part.csv").unlink()
    with pytest.raises(FileNotFoundError, match="c_part.csv"):
        BrodenDataset(root)
    assert len(BrodenDataset(root, categories=["object", "texture"])) == 2
