"""The label merge on a hand-made example: every channel's rule, checked pixel by pixel."""

import jax
import numpy as np

from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels


def one_hot_scores(labels, channels):
    """Scores whose argmax is ``labels`` (N, h, w): 1 at the label, small noise elsewhere."""
    noise = np.random.default_rng(0).uniform(0, 0.5, (*labels.shape, channels))
    return (noise + np.eye(channels)[labels]).astype(np.float32)


def test_every_channel_by_hand(unified_json, color_json):
    tables = MergeTables.of(UnifiedLabels.from_json(unified_json),
                            ColorLabels.from_json(color_json))
    objects = np.array([[[2, 2, 0, 3], [2, 2, 0, 3], [0, 0, 0, 9]]])  # building, person, chair
    materials = np.array([[[1, 0, 4, 4], [0, 0, 0, 0], [2, 2, 2, 2]]])
    # part-head channels: building 0-3 (-, window, door, roof), person 4-8 (-, head, arm, leg,
    # torso), car 9-12, table 13-15
    parts = np.array([[[1, 3, 7, 6], [0, 2, 15, 8], [14, 5, 5, 5]]])
    colors = np.array([[[0, 1, 11, 2], [3, 0, 0, 0], [0, 0, 0, 0]]])
    out = np.asarray(jax.jit(merge_labels, static_argnums=(4, 5, 6))(
        one_hot_scores(objects, 12), one_hot_scores(materials, 5), one_hot_scores(parts, 16),
        one_hot_scores(colors, 12), tables, False, False))[0]
    np.testing.assert_array_equal(out[0], objects[0])
    np.testing.assert_array_equal(out[1], [[56, 0, 59, 59], [0, 0, 0, 0], [57, 57, 57, 57]])
    # building pixels: window -> object 4, roof -> part 60, none -> 0, door -> object 5;
    # person pixels: arm (62), torso (64); chair owns no parts; background gets no part
    np.testing.assert_array_equal(out[2], [[4, 60, 0, 62], [0, 5, 0, 64], [0, 0, 0, 0]])
    k = 11  # building: rows 0-1, cols 0-1; person: rows 0-1 of col 3; chair: one pixel
    np.testing.assert_array_equal(out[3], [[2 + k, 2 + k, 0, 3 + k],
                                           [2 + 3 * k, 2 + 3 * k, 0, 3 + 3 * k],
                                           [0, 0, 0, 9 + 3 * k]])
    np.testing.assert_array_equal(out[4], [[2 + 2 * k, 2 + 4 * k, 0, 3 + 4 * k],
                                           [2 + 2 * k, 2 + 4 * k, 0, 3 + 4 * k],
                                           [0, 0, 0, 9 + 4 * k]])
    np.testing.assert_array_equal(out[5], [[0, 68, 78, 69], [70, 0, 0, 0], [0, 0, 0, 0]])


def test_without_colour_model_five_channels(unified_json):
    tables = MergeTables.of(UnifiedLabels.from_json(unified_json))
    z = np.zeros((2, 4, 4), np.int64)
    out = jax.jit(merge_labels, static_argnums=(4,))(
        one_hot_scores(z, 12), one_hot_scores(z, 5), one_hot_scores(z, 16), None, tables)
    assert out.shape == (2, 5, 4, 4) and not np.asarray(out).any()


def test_merge_on_a_batch_sharded_over_devices(unified_json, devices):
    """The merge (its while loop included) on a batch split over the 8 devices equals the
    unsharded merge: batch 16, 2 rows per device."""
    from jaxdissect import sharding

    tables = MergeTables.of(UnifiedLabels.from_json(unified_json))
    rng = np.random.default_rng(3)
    coarse = [rng.integers(0, c, (16, 4, 4)).repeat(3, 1).repeat(3, 2) for c in (12, 5, 16)]
    scores = [one_hot_scores(labels, c) for labels, c in zip(coarse, (12, 5, 16), strict=True)]
    merge = jax.jit(merge_labels, static_argnums=(4, 5))
    plain = np.asarray(merge(*scores, None, tables, True))
    sharded = merge(*sharding.shard_batch(sharding.make_mesh(devices), scores), None, tables, True)
    assert len(sharded.sharding.device_set) == 8
    np.testing.assert_array_equal(np.asarray(sharded), plain)
