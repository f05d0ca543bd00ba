"""Tests for jaxdissect/dissection/first_pass.py helpers (the pass itself: test_driver.py)."""

import jax
import numpy as np
import pytest

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.first_pass import check_labels, host_batch
from jaxdissect.sharding import local_rows, make_mesh, shard_batch


def test_host_batch_casts_and_checks():
    batch = host_batch({"index": np.arange(4, dtype=np.int64), "mask": [1, 1, 0, 0],
                        "image": np.zeros((4, 2))}, 0, None)
    assert batch["index"].dtype == np.int32 and batch["mask"].dtype == bool
    with pytest.raises(KeyError, match="no 'index' array"):
        host_batch({"mask": np.ones(4, bool)}, 3, None)
    with pytest.raises(ValueError, match="batch 2 has 3 rows, the first had 4"):
        host_batch({"index": np.arange(3), "mask": np.ones(3, bool)}, 2, 4)
    with pytest.raises(ValueError, match="indices must be in"):
        host_batch({"index": np.array([-1, 0]), "mask": np.ones(2, bool)}, 0, None)


def test_check_labels():
    vocab = ConceptVocabulary.numbered(5)
    check_labels(vocab, 0, 4)
    check_labels(None, 0, 10**6)
    with pytest.raises(ValueError, match="label 5 \\(batch 7\\) is beyond"):
        check_labels(vocab, 0, 5, "batch 7")
    with pytest.raises(ValueError, match="negative segmentation label -2"):
        check_labels(None, -2, 3)


def test_local_rows_of_a_sharded_batch():
    x = np.arange(16 * 3).reshape(16, 3)
    placed = shard_batch(make_mesh(8), x)
    assert isinstance(placed, jax.Array)
    np.testing.assert_array_equal(local_rows(placed), x)
