"""Tests of jaxdissect/interventions/sweep.py: the one edit sweep, its chunks and placement."""

import jax.numpy as jnp
import numpy as np
import pytest
from toy_models import batches_of, tiny_classifier

from jaxdissect.interventions.sweep import (
    PlacedNet,
    ablation_edits,
    edit_chunks,
    layer_width,
    sweep,
)


def test_edit_chunks_pad_the_last_chunk_with_no_op_edits():
    sets = np.eye(5, dtype=bool)
    chunks = list(edit_chunks(ablation_edits("conv1", sets), 3))
    assert [(start, count) for start, count, _ in chunks] == [(0, 3), (3, 2)]
    last = np.asarray(chunks[1][2]["conv1"].units)
    np.testing.assert_array_equal(last, np.concatenate([np.eye(5)[3:], np.zeros((1, 5))]))


def test_placed_net_places_on_the_chosen_devices_and_applies_edits():
    placed_net = PlacedNet.create(tiny_classifier(), devices=2)
    assert placed_net.num_devices == 2
    placed = placed_net.place({"image": np.zeros((3, 8, 8, 3), np.float32)})
    assert placed["image"].shape[0] == 4 and len(placed["image"].sharding.device_set) == 2
    _, _, chunk = next(edit_chunks(ablation_edits("conv1", np.eye(4, dtype=bool)), 4))
    logits, _ = placed_net.net.apply_edits(placed["image"], chunk)
    assert logits.shape == (4, 4, 5) and jnp.all(jnp.isfinite(logits))
    assert layer_width(placed_net.net, "conv1", (1, 8, 8, 3)) == (8, 8, 4)
    with pytest.raises(ValueError, match="unknown layer 'fc'"):
        layer_width(placed_net.net, "fc", (1, 8, 8, 3))


def _argmax_hits(batch, outputs):
    """Per edit and sample: the one-hot predicted class."""
    return {"predicted": jnp.eye(5, dtype=jnp.int32)[jnp.argmax(outputs[0], axis=-1)]}


@pytest.mark.parametrize("devices, chunk", [(1, 7), (3, 3), (8, 2)])
def test_sweep_sums_equal_one_edit_at_a_time_on_the_host(rng, devices, chunk):
    """Sums over valid samples only (batches of 5 with 2 masked rows at the end, placed over
    devices that do not divide them), every edit in chunks whose last one is padded."""
    net = tiny_classifier(seed=2)
    images = rng.uniform(size=(13, 8, 8, 3)).astype(np.float32)
    sets = rng.uniform(size=(7, 4)) < 0.5
    edits = ablation_edits("conv1", sets)
    got = sweep(net, batches_of(images, np.zeros(13, int), 5), edits, _argmax_hits,
                inputs="image", chunk_size=chunk, devices=devices)["predicted"]
    assert got.shape == (7, 5) and got.dtype == np.int64
    for s in range(7):
        _, _, single = next(edit_chunks(ablation_edits("conv1", sets[s:s + 1]), 1))
        logits = np.asarray(net.apply_edits(jnp.asarray(images), single)[0][0])
        np.testing.assert_array_equal(got[s], np.bincount(logits.argmax(-1), minlength=5))


def test_sweep_per_sample_keeps_valid_samples_in_order_with_per_batch_arrays(rng):
    net = tiny_classifier(seed=2)
    images = rng.uniform(size=(7, 8, 8, 3)).astype(np.float32)
    seen = []

    def unedited(placed_net, batch, x):
        seen.append(int(np.asarray(batch["mask"]).sum()))
        return {"base": jnp.argmax(placed_net(x)[0], axis=-1)}

    def changed(batch, outputs):  # per edit and sample: did the argmax move?
        return (jnp.argmax(outputs[0], axis=-1) != batch["base"][None]).astype(jnp.int32)

    def each_unit(batch):  # edits made from the first placed batch's shape
        width = layer_width(net, "conv1", batch["image"].shape)[-1]
        return ablation_edits("conv1", np.eye(width, dtype=bool))

    got = sweep(net, batches_of(images, np.zeros(7, int), 4), each_unit, changed,
                inputs="image", chunk_size=3, devices=3, per_batch=unedited, per_sample=True)
    assert seen == [4, 3] and got.shape == (4, 7)
    base = np.asarray(net(jnp.asarray(images))[0]).argmax(-1)
    for unit in range(4):
        alone = np.eye(4, dtype=bool)[unit:unit + 1]
        _, _, one = next(edit_chunks(ablation_edits("conv1", alone), 1))
        moved = np.asarray(net.apply_edits(jnp.asarray(images), one)[0][0]).argmax(-1) != base
        np.testing.assert_array_equal(got[unit], moved)


def test_sweep_without_batches_says_so():
    with pytest.raises(ValueError, match="no batches"):
        sweep(tiny_classifier(), [], ablation_edits("conv1", np.eye(4, dtype=bool)),
              _argmax_hits, inputs="image", chunk_size=2)
