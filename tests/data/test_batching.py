import threading
import time

import numpy as np
import pytest

from jaxdissect.data.batching import batches
from jaxdissect.data.skipped import BadDataWarning, BadRecordError


def collect(iterable):
    return [dict(b) for b in iterable]


def test_padding_and_mask(array_source, rng):
    values = rng.normal(size=(12, 2)).astype(np.float32)
    stream = batches(array_source(values), 5, process_index=0, process_count=1)
    assert len(stream) == 3 and stream.local_batch_size == 5
    out = collect(stream)
    assert [b["x"].shape for b in out] == [(5, 2)] * 3
    last = out[-1]
    np.testing.assert_array_equal(last["index"], [10, 11, 0, 0, 0])
    np.testing.assert_array_equal(last["mask"], [True, True, False, False, False])
    np.testing.assert_array_equal(last["x"][2:], 0)
    assert last["index"].dtype == np.int64 and last["mask"].dtype == bool
    np.testing.assert_array_equal(np.concatenate([b["x"] for b in out])[:12], values)


@pytest.mark.parametrize("workers,prefetch", [(0, 0), (1, 1), (3, 2), (5, 4)])
def test_order_does_not_depend_on_workers(array_source, rng, workers, prefetch):
    values = rng.normal(size=(23, 4, 3)).astype(np.float32)
    bad = {5, 17}
    with pytest.warns(BadDataWarning):
        reference = collect(batches(array_source(values, bad), 7, process_index=0,
                                    process_count=1, num_workers=0, prefetch=0))
    with pytest.warns(BadDataWarning):
        out = collect(batches(array_source(values, bad), 7, process_index=0, process_count=1,
                              num_workers=workers, prefetch=prefetch))
    assert len(out) == len(reference) == 4
    for mine, ref in zip(out, reference, strict=True):
        assert mine.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(mine[key], ref[key])


def test_bad_rows_keep_their_index(array_source):
    values = np.arange(9, dtype=np.int32)[:, None]
    with pytest.warns(BadDataWarning, match="row-4.bin"):
        (first, second) = collect(batches(array_source(values, {4}), 5, process_index=0,
                                          process_count=1))
    np.testing.assert_array_equal(first["index"], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(first["mask"], [True, True, True, True, False])
    np.testing.assert_array_equal(second["mask"], [True, True, True, True, False])


@pytest.mark.parametrize("processes", [2, 3])
def test_hosts_concatenate_to_the_single_host_batch(array_source, rng, processes):
    values = rng.normal(size=(20, 3)).astype(np.float32)
    single = collect(batches(array_source(values), 6, process_index=0, process_count=1))
    per_host = [collect(batches(array_source(values), 6, process_index=p,
                                process_count=processes, num_workers=2))
                for p in range(processes)]
    for number, whole in enumerate(single):
        for key in whole:
            joined = np.concatenate([host[number][key] for host in per_host])
            np.testing.assert_array_equal(joined, whole[key])
    assert per_host[1][0]["index"].tolist() == list(range(6 // processes, 2 * 6 // processes))


def test_each_host_reads_only_its_rows(array_source):
    source = array_source(np.zeros((12, 1)))
    collect(batches(source, 6, process_index=1, process_count=2, num_workers=0))
    assert sorted(source.reads) == [3, 4, 5, 9, 10, 11]


def test_errors(array_source):
    source = array_source(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="multiple of 2"):
        batches(source, 5, process_index=0, process_count=2)
    with pytest.raises(ValueError, match="process_index=2"):
        batches(source, 4, process_index=2, process_count=2)
    with pytest.raises(ValueError, match="positive"):
        batches(source, 0, process_index=0, process_count=1)
    strict = array_source(np.zeros((9, 1)), bad={6}, strict=True)
    with pytest.raises(BadRecordError, match="row-6.bin"):
        collect(batches(strict, 3, process_index=0, process_count=1, num_workers=2))


def test_stopping_early_ends_the_threads(array_source):
    before = threading.active_count()
    stream = batches(array_source(np.zeros((100, 1))), 3, process_index=0, process_count=1,
                     num_workers=2, prefetch=3)
    for number, _ in enumerate(stream):
        if number == 2:
            break
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
    assert len(collect(stream)) == 34  # re-iterable: a new pass starts from the beginning


def test_defaults_come_from_jax(array_source):
    stream = batches(array_source(np.zeros((5, 1))), 3)
    assert (stream.process_index, stream.process_count) == (0, 1)


def test_prefetch_decodes_ahead_while_the_consumer_works(array_source):
    eager = array_source(np.zeros((30, 1)))
    stream = iter(batches(eager, 3, process_index=0, process_count=1, num_workers=1,
                          prefetch=2))
    next(stream)
    deadline = time.time() + 5
    while max(eager.reads) < 8 and time.time() < deadline:  # batches 2 and 3 are read ahead
        time.sleep(0.01)
    assert max(eager.reads) >= 8
    stream.close()
    lazy = array_source(np.zeros((30, 1)))
    stream = iter(batches(lazy, 3, process_index=0, process_count=1, num_workers=1,
                          prefetch=0))
    next(stream)
    time.sleep(0.1)
    assert max(lazy.reads) == 2
    stream.close()
