import numpy as np
import pytest
from PIL import Image

from jaxdissect.data.batching import batches
from jaxdissect.data.folder import ImageFolder
from jaxdissect.data.skipped import BadDataWarning, BadRecordError

GOOD = ["cat/a.jpg", "cat/b_lossless.PNG", "dog/a.bmp", "dog/c.png", "dog/d.webp"]
BAD = ["dog/broken.jpg", "dog/not_an_image.png"]


def reference(array, resize=64, crop=56):
    """PIL bilinear squash, then the centre crop as a numpy slice (offset (64 - 56) / 2 = 4)."""
    resized = np.asarray(Image.fromarray(array).resize((resize, resize), Image.BILINEAR))
    offset = (resize - crop) // 2
    return resized[offset : offset + crop, offset : offset + crop]


def test_scan_sorts_classes_and_files(image_folder):
    root, _ = image_folder
    folder = ImageFolder(root, crop=56, resize=64)
    names = [folder.row_name(i) for i in range(len(folder))]
    assert names == sorted(GOOD + BAD)  # hidden folder and .txt ignored, extensions any case
    assert folder.classes == ["cat", "dog"]
    np.testing.assert_array_equal(folder.labels, [0, 0, 1, 1, 1, 1, 1])
    assert folder.fields["image"].shape == (56, 56, 3)


def test_rows_match_an_independent_reference(image_folder):
    root, pixels = image_folder
    folder = ImageFolder(root, crop=56, resize=64)
    for index in range(len(folder)):
        name = folder.row_name(index)
        if name in pixels:
            row = folder.read_row(index)
            np.testing.assert_array_equal(row["image"], reference(pixels[name]))
            assert row["label"] == (0 if name.startswith("cat") else 1)


def test_bad_files_are_masked_named_and_summarised(image_folder):
    root, _ = image_folder
    folder = ImageFolder(root, crop=56, resize=64)
    with pytest.warns(BadDataWarning) as caught:
        out = list(batches(folder, 3, process_index=0, process_count=1, num_workers=2))
    assert {name for name in BAD if any(name in str(w.message) for w in caught)} == set(BAD)
    index = np.concatenate([b["index"] for b in out])
    mask = np.concatenate([b["mask"] for b in out])
    bad_rows = [i for i in range(len(folder)) if folder.row_name(i) in BAD]
    assert [int(i) for i in index[:7]] == list(range(7))
    assert [i for i in range(7) if not mask[i]] == bad_rows
    assert not mask[7:].any()
    summary = folder.report()
    assert [s.name for s in summary.skipped] == sorted(BAD)
    assert "truncated" in summary.skipped[0].reason
    assert summary.skipped[1].reason.startswith("UnidentifiedImageError")


def test_strict_stops_at_the_first_bad_file(image_folder):
    root, _ = image_folder
    folder = ImageFolder(root, crop=56, resize=64, strict=True)
    with pytest.raises(BadRecordError, match="dog/broken.jpg"):
        list(batches(folder, 3, process_index=0, process_count=1))


def test_shuffle_is_a_seeded_permutation(image_folder):
    root, _ = image_folder
    plain = ImageFolder(root, crop=56, resize=64)
    one = ImageFolder(root, crop=56, resize=64, shuffle_seed=3)
    two = ImageFolder(root, crop=56, resize=64, shuffle_seed=3)
    assert one.files == two.files and sorted(one.files) == plain.files
    assert one.files != plain.files
    assert [one.classes[k] for k in one.labels] == [f[0].split("/")[0] for f in one.files]


def test_size_is_another_name_for_crop(image_folder):
    root, _ = image_folder
    assert ImageFolder(root, size=48, resize=64).fields["image"].shape == (48, 48, 3)
    with pytest.raises(ValueError, match="disagree"):
        ImageFolder(root, crop=40, size=48, resize=64)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ImageFolder(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images")
    with pytest.raises(ValueError, match="no images with the extensions"):
        ImageFolder(tmp_path / "empty")


def test_identity_tracks_files_and_settings(image_folder):
    root, _ = image_folder
    first = ImageFolder(root, crop=56, resize=64).identity()
    assert ImageFolder(root, crop=56, resize=64).identity() == first
    assert ImageFolder(root, crop=48, resize=64).identity() != first
    (root / "cat" / "new.png").write_bytes((root / "dog" / "c.png").read_bytes())
    assert ImageFolder(root, crop=56, resize=64).identity() != first
