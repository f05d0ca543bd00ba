import json
import os

import numpy as np
import pytest

from jaxdissect.data.batching import batches
from jaxdissect.data.broden import BrodenDataset
from jaxdissect.data.folder import ImageFolder
from jaxdissect.data.packed import PackedSource, cache_key, cached
from jaxdissect.data.skipped import BadDataWarning, BadRecordError


def all_batches(source, batch_size=3):
    return list(batches(source, batch_size, process_index=0, process_count=1, num_workers=2))


def assert_same_batches(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_array_equal(a[key], b[key])


def test_cache_gives_the_same_batches_and_skips_decoding(image_folder, tmp_path, monkeypatch):
    root, _ = image_folder
    with pytest.warns(BadDataWarning):
        direct = all_batches(ImageFolder(root, crop=40, resize=48))
    with pytest.warns(BadDataWarning):
        packed = cached(ImageFolder(root, crop=40, resize=48), tmp_path / "cache")
    assert isinstance(packed, PackedSource)
    assert_same_batches(all_batches(packed), direct)
    assert [s.name for s in packed.report().skipped] == ["dog/broken.jpg", "dog/not_an_image.png"]

    def no_decoding(self, index):
        raise AssertionError("a packed cache must not decode again")

    monkeypatch.setattr(ImageFolder, "read_row", no_decoding)
    with pytest.warns(BadDataWarning, match="unreadable when packed"):
        again = cached(ImageFolder(root, crop=40, resize=48), tmp_path / "cache")
    assert again.folder == packed.folder
    assert_same_batches(all_batches(again), direct)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [packed.folder.name]


def test_changed_file_or_setting_means_a_new_key(image_folder, tmp_path):
    root, pixels = image_folder
    with pytest.warns(BadDataWarning):
        first = cached(ImageFolder(root, crop=40, resize=48), tmp_path / "cache")
    assert cache_key(ImageFolder(root, crop=40, resize=48, filter="bicubic")) != first.folder.name
    assert cache_key(ImageFolder(root, crop=40, resize=48, shuffle_seed=0)) != first.folder.name
    target = root / "dog" / "c.png"
    target.write_bytes((root / "cat" / "b_lossless.PNG").read_bytes())
    stat = os.stat(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.warns(BadDataWarning):
        second = cached(ImageFolder(root, crop=40, resize=48), tmp_path / "cache")
    assert second.folder != first.folder
    index = [second.row_name(i) for i in range(len(second))].index("dog/c.png")
    old = first.read_row(index)["image"]
    new = second.read_row(index)["image"]
    assert not np.array_equal(old, new)


def test_an_edited_meta_is_a_clear_error(array_source, tmp_path):
    source = array_source(np.arange(10, dtype=np.float32)[:, None])
    packed = cached(source, tmp_path)
    meta_path = packed.folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["identity"]["n"] = 99
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="built from another source"):
        cached(source, tmp_path)


def test_a_crash_mid_write_leaves_nothing_that_looks_complete(array_source, tmp_path):
    source = array_source(np.arange(20, dtype=np.float32)[:, None])
    key = cache_key(source)
    seen = []

    def crash(index):
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        if index == 13:
            raise RuntimeError("power cut")
        return {"x": source.values[index], "y": np.int32(index)}

    source.read_row = crash
    with pytest.raises(RuntimeError, match="power cut"):
        cached(source, tmp_path, batch_size=4)
    assert all(names and names[0].startswith(f".partial-{key}") for names in seen)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / f".partial-{key}-1-dead").mkdir()  # a leftover of a killed run is ignored
    del source.read_row
    packed = cached(source, tmp_path, batch_size=4)
    np.testing.assert_array_equal(packed.arrays["x"][:, 0], np.arange(20))
    with pytest.raises(FileNotFoundError, match="not a complete packed cache"):
        PackedSource(tmp_path / f".partial-{key}-1-dead")


def test_strict_cache_stops_at_a_bad_row(array_source, tmp_path):
    with pytest.warns(BadDataWarning):
        cached(array_source(np.zeros((6, 1)), bad={4}), tmp_path)
    with pytest.warns(BadDataWarning):
        strict = cached(array_source(np.zeros((6, 1)), bad={4}, strict=True), tmp_path)
    with pytest.raises(BadRecordError, match="row-4.bin"):
        all_batches(strict)


def test_broden_labels_are_stored_as_uint16(broden_folder, tmp_path):
    root, _ = broden_folder
    with pytest.warns(BadDataWarning):
        direct = all_batches(BrodenDataset(root), 2)
    with pytest.warns(BadDataWarning):
        packed = cached(BrodenDataset(root), tmp_path)
    assert packed.arrays["seg"].dtype == np.uint16
    assert_same_batches(all_batches(packed, 2), direct)
