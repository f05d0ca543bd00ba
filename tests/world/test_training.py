"""Training smoke tests for jaxdissect/world/train_*.py, training.py and gan.py: a few steps on
tiny data lower the loss (teach the discriminator, for the GAN)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models.proggan import ProgressiveGenerator
from jaxdissect.world.gan import WorldDiscriminator, gan_loss
from jaxdissect.world.models import WorldSegmenter, WorldVGG
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.train_classifier import classifier_loss
from jaxdissect.world.train_generator import WorldEncoder, scene_batches, vae_loss
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
    batch = next(scene_batches(WorldConfig(size=16, seg_size=16), 5, 12))
    assert batch["image"].shape == (5, 16, 16, 3) and batch["noise"].shape == (5, 12)
    assert -1.0 <= batch["image"].min() and batch["image"].max() <= 1.0
    before, after = fit_twice(vae_loss(generator, encoder, 0.1), params, batch)
    assert after < 0.8 * before


def test_scene_batches_are_reproducible_and_start_where_asked():
    config = WorldConfig(size=16, seg_size=16)
    a, b = next(scene_batches(config, 3, 4)), next(scene_batches(config, 3, 4))
    np.testing.assert_array_equal(a["noise"], b["noise"])
    np.testing.assert_array_equal(a["image"], b["image"])
    later = scene_batches(config, 3, 4, start=3)
    expected = render_world(config, np.arange(3, 6))["image"].astype(np.float32) / 127.5 - 1.0
    np.testing.assert_array_equal(next(later)["image"], expected)


def _tiny_gan(make_params):
    generator = ProgressiveGenerator(sizes=(12, 16, 8, 8))
    discriminator = WorldDiscriminator(widths=(4, 8))
    params = {
        "generator": make_params(generator, jnp.zeros((1, 12))),
        "discriminator": make_params(discriminator, jnp.zeros((2, 16, 16, 3)), seed=1),
    }
    batch = next(scene_batches(WorldConfig(size=16, seg_size=16), 6, 12))
    return generator, discriminator, params, batch


def test_gan_steps_teach_the_discriminator_to_tell_real_from_generated(make_params):
    generator, discriminator, params, batch = _tiny_gan(make_params)
    loss = gan_loss(generator, discriminator, 0.2, 4)
    trained, _ = fit(loss, params, itertools.repeat(batch), 15, 1e-2, log=None)

    def margin(p):
        fake, _ = generator.apply({"params": p["generator"]}, batch["noise"])
        score = discriminator.apply({"params": p["discriminator"]}, batch["image"])
        return float(jnp.mean(score) - jnp.mean(
            discriminator.apply({"params": p["discriminator"]}, fake)))

    assert margin(trained) > margin(params) + 1.0, (margin(params), margin(trained))


def test_r1_penalty_is_half_the_weighted_squared_input_gradient_on_the_first_images(
        make_params):
    generator, discriminator, params, batch = _tiny_gan(make_params)
    plain = gan_loss(generator, discriminator, 0.0, 3)(params, batch)
    penalised = gan_loss(generator, discriminator, 2.0, 3)(params, batch)

    def weighted_r1(images):  # gamma / 2 * mean squared norm of D's input gradient, gamma = 2
        grad = jax.grad(lambda x: jnp.sum(discriminator.apply(
            {"params": params["discriminator"]}, x)))(images)
        return 0.5 * 2 * jnp.mean(jnp.sum(jnp.square(grad), axis=(1, 2, 3)))

    expected = weighted_r1(batch["image"][:3])
    np.testing.assert_allclose(penalised - plain, expected, rtol=1e-4)
    # the whole batch would give another value: only the first three images are used
    whole = weighted_r1(batch["image"])
    assert abs(float(whole - expected)) > 1e-3 * float(expected)


def test_gan_loss_refuses_a_negative_weight_or_no_images(make_params):
    generator, discriminator, _, _ = _tiny_gan(make_params)
    with pytest.raises(ValueError, match="r1_gamma must be >= 0 and r1_images >= 1"):
        gan_loss(generator, discriminator, -1.0, 4)
    with pytest.raises(ValueError, match="r1_images >= 1"):
        gan_loss(generator, discriminator, 1.0, 0)


def test_fit_keeps_a_moving_average_of_the_parameters():
    target = jnp.array([10.0, 20.0, 30.0])  # far: the parameters rise at every step

    def loss_fn(p, _):
        return jnp.sum(jnp.square(p["w"] - target))

    start = {"w": jnp.zeros(3)}
    final, report = fit(loss_fn, start, itertools.repeat(None), 10, 0.1, log=None, average=0.9)
    average, final = np.asarray(report.average["w"]), np.asarray(final["w"])
    assert np.all(average < final) and np.all(average > 0.3 * final), (average, final)
    _, no_average = fit(loss_fn, start, itertools.repeat(None), 2, 0.1, log=None)
    assert no_average.average is None


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
