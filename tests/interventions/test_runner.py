"""Tests of jaxdissect/interventions/runner.py: padding, chunks, per-device sums, placement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import tiny_classifier

from jaxdissect.interventions.runner import (
    EditRunner,
    ablation_edits,
    edit_chunks,
    layer_width,
    pad_rows,
    shard_sums,
)


def test_pad_rows_masks_new_rows_and_narrows_64_bit():
    batch = pad_rows({"x": np.ones((5, 2)), "index": np.arange(5)}, 8)
    assert batch["x"].shape == (8, 2) and batch["x"].dtype == np.float32
    assert batch["index"].dtype == np.int32
    assert list(batch["mask"]) == [True] * 5 + [False] * 3
    with pytest.raises(ValueError, match="different numbers of rows"):
        pad_rows({"a": np.zeros(3), "b": np.zeros(4)}, 2)


def test_edit_chunks_pad_the_last_chunk_with_no_op_edits():
    sets = np.eye(5, dtype=bool)
    chunks = list(edit_chunks(ablation_edits("conv1", sets), 3))
    assert [(start, count) for start, count, _ in chunks] == [(0, 3), (3, 2)]
    last = np.asarray(chunks[1][2]["conv1"].units)
    np.testing.assert_array_equal(last, np.concatenate([np.eye(5)[3:], np.zeros((1, 5))]))


def test_shard_sums_add_up_to_the_plain_sum(devices):
    runner = EditRunner.create(tiny_classifier(), devices=8)
    x = runner.place({"v": np.arange(24, dtype=np.int32).reshape(12, 2)})["v"]  # padded to 16
    partial = jax.jit(lambda v: shard_sums(v, 8))(x)
    assert partial.shape == (8, 2) and len(partial.sharding.device_set) == 8
    np.testing.assert_array_equal(np.asarray(partial).sum(0), np.arange(24).reshape(12, 2).sum(0))


def test_runner_places_on_the_chosen_devices_and_applies_chunks():
    runner = EditRunner.create(tiny_classifier(), devices=2)
    assert runner.num_devices == 2
    placed = runner.place({"image": np.zeros((3, 8, 8, 3), np.float32)})
    assert placed["image"].shape[0] == 4 and len(placed["image"].sharding.device_set) == 2
    chunks = runner.chunks(ablation_edits("conv1", np.eye(4, dtype=bool)), 4)
    logits, _ = runner.apply_chunk(placed["image"], chunks[0][2])
    assert logits.shape == (4, 4, 5)
    assert layer_width(runner.net, "conv1", (1, 8, 8, 3)) == (8, 8, 4)
    with pytest.raises(ValueError, match="unknown layer 'fc'"):
        layer_width(runner.net, "fc", (1, 8, 8, 3))
    assert jnp.all(jnp.isfinite(logits))
