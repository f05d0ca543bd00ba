"""Training smoke tests for jaxdissect/world/train_*.py: a few steps on tiny data lower the loss."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.data.world import WorldConfig, render_world
from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.world.models import WorldSegmenter, WorldVGG
from jaxdissect.world.train_classifier import classifier_loss
from jaxdissect.world.train_generator import WorldEncoder, vae_batches, vae_loss
from jaxdissect.world.train_segmenter import augment, head_targets, segmenter_loss
from jaxdissect.world.training import fit


def fit_twice(loss_fn, params, batch, steps=12, lr=3e-3):
    """Loss on ``batch`` at the first and the last of ``steps`` steps on that same batch."""
    _, report = fit(loss_fn, params, itertools.repeat(batch), steps, lr, log=None, log_every=1)
    assert [s for s, _ in report.losses] == list(range(1, steps + 1)) and report.seconds > 0
    return report.losses[0][1], report.losses[-1][1]


@pytest.fixture(scope="module")
def tiny():
    return render_world(WorldConfig(), np.arange(7))


def test_classifier_steps_reduce_the_loss(tiny, make_params):
    module = WorldVGG(widths=(4, 8, 8, 8), fc_width=8)
    params = make_params(module, jnp.zeros((1, 64, 64, 3)))
    batch = {"image": tiny["image"], "label": tiny["label"]}
    before, after = fit_twice(classifier_loss(module), params, batch)
    assert after < 0.8 * before


def test_segmenter_steps_reduce_the_loss(tiny, make_params):
    module = WorldSegmenter(widths=(4, 8, 8, 8))
    params = make_params(module, jnp.zeros((1, 64, 64, 3)))
    batch = {"image": tiny["image"], "seg": tiny["seg"]}
    before, after = fit_twice(segmenter_loss(module), params, batch, steps=20, lr=1e-2)
    assert after < 0.8 * before


def test_generator_steps_reduce_the_loss(make_params):
    generator = ProgressiveGenerator(sizes=(12, 16, 8, 8))
    encoder = WorldEncoder(12, widths=(4, 8, 8))
    params = {
        "generator": make_params(generator, jnp.zeros((1, 12))),
        "encoder": make_params(encoder, jnp.zeros((1, 16, 16, 3)), seed=1),
    }
    batch = next(vae_batches(WorldConfig(size=16, seg_size=16), 5, 12))
    assert batch["image"].shape == (5, 16, 16, 3) and batch["noise"].shape == (5, 12)
    assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
    before, after = fit_twice(vae_loss(generator, encoder, 0.1), params, batch)
    assert after < 0.8 * before


def test_vae_batches_are_reproducible():
    config = WorldConfig(size=16, seg_size=16)
    a, b = next(vae_batches(config, 3, 4)), next(vae_batches(config, 3, 4))
    np.testing.assert_array_equal(a["noise"], b["noise"])
    np.testing.assert_array_equal(a["image"], b["image"])


def test_head_targets_invert_the_head_tables():
    tables = head_targets()
    for table in tables.values():
        assert table[0] == 0 and len(np.unique(table[table > 0])) == table.max()


def test_augment_keeps_half_the_batch_and_coarsens_the_rest(tiny):
    out = np.asarray(augment(jnp.asarray(tiny["image"][:4])))
    np.testing.assert_array_equal(out[:2], tiny["image"][:2])
    coarse = out[2]
    np.testing.assert_array_equal(coarse[::2, ::2], tiny["image"][2, ::2, ::2])
    np.testing.assert_array_equal(coarse[1::2, 1::2], coarse[::2, ::2])
