"""Compact per-image label slots: presence, ranks, chunks and the slot of every pixel."""

import jax.numpy as jnp
import numpy as np

from jaxdissect.stats.label_slots import (
    chunk_slots,
    drop_repeats_across_channels,
    label_ranks,
    labels_present,
)


def test_repeats_across_channels_become_zero():
    labels = jnp.asarray([[[3, 0, 5], [3, 4, 5], [7, 4, 3]]])  # (B=1, K=3, P=3)
    np.testing.assert_array_equal(drop_repeats_across_channels(labels),
                                  [[[3, 0, 5], [0, 4, 0], [7, 0, 3]]])


def test_slots_number_the_labels_present_in_chunks(rng):
    num_concepts, slots = 20, 3
    labels = jnp.asarray(rng.integers(0, num_concepts, size=(4, 2, 30)))
    labels = labels.at[2].set(0)  # an image without labels
    present = labels_present(labels, num_concepts)
    rank, chunks = label_ranks(present, slots)
    expected_present = [np.isin(np.arange(num_concepts), np.asarray(img)) for img in labels]
    expected_present = np.array(expected_present) & (np.arange(num_concepts) > 0)
    np.testing.assert_array_equal(present, expected_present)
    assert int(chunks) == -(-expected_present.sum(1).max() // slots)
    seen = [set() for _ in range(4)]
    for chunk in range(int(chunks)):
        slot, label_of_slot = chunk_slots(labels, present, rank, chunk, slots)
        slot, label_of_slot = np.asarray(slot), np.asarray(label_of_slot)
        for b in range(4):
            in_chunk = slot[b] < slots
            # every pixel's slot names its own label; the other pixels point at `slots`
            np.testing.assert_array_equal(label_of_slot[b][slot[b][in_chunk]],
                                          np.asarray(labels[b])[in_chunk])
            seen[b] |= set(label_of_slot[b][label_of_slot[b] > 0].tolist())
    for b in range(4):
        assert seen[b] == set(np.flatnonzero(expected_present[b]).tolist())
