from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from jaxdissect.data.skipped import BadDataWarning, BadRecordError, DataSummary


def test_load_masks_bad_rows_and_names_them(array_source):
    source = array_source(np.arange(12, dtype=np.float32).reshape(6, 2), bad={2, 4})
    with pytest.warns(BadDataWarning, match="row-2.bin"):
        assert source.load(2) is None
    np.testing.assert_array_equal(source.load(1)["x"], [2.0, 3.0])
    with pytest.warns(BadDataWarning, match="row-4.bin"):
        arrays, valid = source.read_batch([3, 4, 5])
    np.testing.assert_array_equal(valid, [True, False, True])
    np.testing.assert_array_equal(arrays["x"][1], [0.0, 0.0])
    np.testing.assert_array_equal(arrays["y"], [3, 0, 5])
    summary = source.report()
    assert [(s.index, s.name) for s in summary.skipped] == [(2, "row-2.bin"), (4, "row-4.bin")]
    assert summary.as_dict()["num_skipped"] == 2 and "corrupt on purpose" in str(summary)


def test_a_bad_row_is_recorded_once(array_source, recwarn):
    source = array_source(np.zeros((3, 1)), bad={1})
    for _ in range(3):
        source.load(1)
    assert source.summary.num_skipped == 1
    assert len([w for w in recwarn if issubclass(w.category, BadDataWarning)]) == 1


def test_strict_stops_with_the_name(array_source):
    source = array_source(np.zeros((3, 1)), bad={1}, strict=True)
    with pytest.raises(BadRecordError, match="row-1.bin"):
        source.read_batch([0, 1, 2])


def test_parallel_read_equals_serial(array_source, rng):
    source = array_source(rng.normal(size=(40, 3, 2)).astype(np.float32), bad={7, 30})
    with pytest.warns(BadDataWarning):
        serial, valid = source.read_batch(range(40))
    with ThreadPoolExecutor(3) as pool:
        parallel, valid_parallel = source.read_batch(range(40), pool)
    np.testing.assert_array_equal(valid, valid_parallel)
    for name in serial:
        np.testing.assert_array_equal(serial[name], parallel[name])


def test_wrong_shape_is_a_bad_row(array_source):
    source = array_source(np.zeros((3, 2)))
    source.read_row = lambda i: {"x": np.zeros(5), "y": np.int32(i)}
    with pytest.warns(BadDataWarning, match=r"x has shape \(5,\), expected \(2,\)"):
        assert source.load(0) is None
    with pytest.raises(IndexError):
        source.load(3)


def test_summary_is_plain_data():
    summary = DataSummary("demo", 10)
    summary.record(3, "a.jpg", "truncated", warn=False)
    assert summary.as_dict() == {"source": "demo", "num_rows": 10, "num_skipped": 1,
                                 "skipped": [{"index": 3, "name": "a.jpg",
                                              "reason": "truncated"}]}
