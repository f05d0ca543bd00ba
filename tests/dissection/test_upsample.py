"""Tests for jaxdissect/dissection/upsample.py."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxdissect.dissection.upsample import (
    BLOCK_VALUES,
    block_rows,
    interpolation_matrix,
    upsample,
    upsample_rows,
)
from jaxdissect.report.resample import upsample_maps
from jaxdissect.sharding import make_mesh, shard_batch


def pnas_sample(image: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Direct per-pixel centre-aligned bilinear sampling with zeros outside, in float64."""
    in_h, in_w = image.shape

    def coordinate(t, n_in, n_out):
        scale = n_out / n_in
        return (t - (0.5 * scale - 0.5)) / scale

    def pixel(i, j):
        return image[i, j] if 0 <= i < in_h and 0 <= j < in_w else 0.0

    out = np.zeros((out_h, out_w))
    for y in range(out_h):
        for x in range(out_w):
            sy, sx = coordinate(y, in_h, out_h), coordinate(x, in_w, out_w)
            y0, x0 = math.floor(sy), math.floor(sx)
            fy, fx = sy - y0, sx - x0
            out[y, x] = (
                (1 - fy) * (1 - fx) * pixel(y0, x0)
                + (1 - fy) * fx * pixel(y0, x0 + 1)
                + fy * (1 - fx) * pixel(y0 + 1, x0)
                + fy * fx * pixel(y0 + 1, x0 + 1)
            )
    return out


def test_edge_rings_of_14_to_56():
    maps = jnp.ones((1, 14, 14, 1), jnp.float32)
    out = np.asarray(upsample(maps, (56, 56)))[0, :, :, 0]
    assert out[0, 28] == pytest.approx(0.625)
    assert out[1, 28] == pytest.approx(0.875)
    assert out[2, 28] == pytest.approx(1.0)
    assert out[55, 28] == pytest.approx(0.625)
    assert out[54, 28] == pytest.approx(0.875)
    assert out[0, 0] == pytest.approx(0.625**2)
    np.testing.assert_allclose(out[2:54, 2:54], 1.0, rtol=1e-7)


@pytest.mark.parametrize("shape_in,shape_out", [((14, 14), (56, 56)), ((5, 7), (13, 9)),
                                                ((9, 6), (4, 3)), ((1, 3), (4, 4))])
def test_pnas_mode_matches_the_per_pixel_formula(shape_in, shape_out, rng):
    maps = rng.normal(size=(2, *shape_in, 3)).astype(np.float32)
    out = np.asarray(upsample(jnp.asarray(maps), shape_out, "pnas2020"))
    for n in range(2):
        for u in range(3):
            expected = pnas_sample(maps[n, :, :, u].astype(np.float64), *shape_out)
            np.testing.assert_allclose(out[n, :, :, u], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape_in,shape_out", [((14, 14), (56, 56)), ((3, 5), (11, 17)),
                                                ((7, 7), (7, 7))])
def test_bilinear_upsampling_matches_jax_image_resize(shape_in, shape_out, rng):
    maps = rng.normal(size=(2, *shape_in, 4)).astype(np.float32)
    ours = np.asarray(upsample(jnp.asarray(maps), shape_out, "bilinear"))
    ref = np.asarray(jax.image.resize(maps, (2, *shape_out, 4), "bilinear"))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape_in,shape_out", [((32, 32), (8, 8)), ((21, 17), (10, 6)),
                                                ((9, 12), (20, 5))])
def test_bilinear_downsampling_is_antialiased_like_pil(shape_in, shape_out, rng):
    maps = rng.normal(size=(1, *shape_in, 2)).astype(np.float32)
    ours = np.asarray(upsample(jnp.asarray(maps), shape_out, "bilinear"))
    for u in range(2):
        image = Image.fromarray(maps[0, :, :, u], mode="F")
        pil = np.asarray(image.resize(shape_out[::-1], Image.Resampling.BILINEAR))
        np.testing.assert_allclose(ours[0, :, :, u], pil, rtol=1e-4, atol=1e-5)
    ref = np.asarray(jax.image.resize(maps, (1, *shape_out, 2), "bilinear", antialias=True))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_matrices_are_float32_and_rows_sum_to_one_inside():
    m = interpolation_matrix(14, 56, "pnas2020")
    assert m.dtype == np.float32 and m.shape == (56, 14)
    np.testing.assert_allclose(m[2:-2].sum(axis=1), 1.0, rtol=1e-6)
    b = interpolation_matrix(10, 3, "bilinear")
    np.testing.assert_allclose(b.sum(axis=1), 1.0, rtol=1e-6)


def test_dtypes_host_version_and_errors(rng):
    maps = rng.normal(size=(3, 4, 5, 2)).astype(np.float16)
    out = upsample(jnp.asarray(maps), (8, 10))
    assert out.dtype == jnp.float32 and out.shape == (3, 8, 10, 2)
    host = upsample_maps(maps, (8, 10), channels_last=True)  # the report's, for strips
    np.testing.assert_allclose(np.asarray(out), host, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="choose one of pnas2020, bilinear"):
        upsample(jnp.asarray(maps), (8, 10), "nearest")
    with pytest.raises(ValueError, match="expects \\(N, h, w, U\\)"):
        upsample(jnp.zeros((4, 5, 2)), (8, 10))


def einsum_upsample(maps, out_size, mode):
    """The former formulation (two einsums, which XLA lays out with transposes): the reference."""
    rows = jnp.asarray(interpolation_matrix(maps.shape[1], out_size[0], mode))
    cols = jnp.asarray(interpolation_matrix(maps.shape[2], out_size[1], mode))
    highest = jax.lax.Precision.HIGHEST
    x = jnp.einsum("Hh,nhwu->nHwu", rows, maps.astype(jnp.float32), precision=highest)
    return jnp.einsum("Ww,nHwu->nHWu", cols, x, precision=highest)


def ulps_apart(a, b):
    return np.abs(a - b) / np.spacing(np.maximum(np.abs(a), np.abs(b)))


@pytest.mark.parametrize("mode", ["pnas2020", "bilinear"])
@pytest.mark.parametrize("batch,shape_in,shape_out,units", [
    (3, (14, 14), (56, 56), 37), (2, (14, 14), (56, 56), 96), (2, (28, 28), (112, 112), 5),
    (5, (5, 7), (13, 9), 3), (3, (9, 6), (4, 3), 2), (2, (1, 3), (4, 4), 1),
    (1, (7, 7), (7, 7), 4), (3, (32, 32), (8, 8), 6), (3, (14, 14), (56, 56), 512)])
def test_within_a_few_ulps_of_the_einsum_formulation(mode, batch, shape_in, shape_out, units,
                                                     rng):
    """The two dot layouts (and the row blocks) may get kernels that round the two taps
    differently: a few ulps at most."""
    maps = jnp.asarray(rng.gamma(1.0, size=(batch, *shape_in, units)).astype(np.float32))
    ours = np.asarray(upsample(maps, shape_out, mode))
    reference = np.asarray(jax.jit(einsum_upsample, static_argnums=(1, 2))(maps, shape_out, mode))
    assert ulps_apart(ours, reference).max() <= 4


@pytest.mark.parametrize("shape_in,shape_out,units", [((3, 3), (11, 11), 5), ((2, 2), (4, 4), 1),
                                                      ((14, 14), (56, 56), 37)])
def test_bits_do_not_depend_on_the_batch(shape_in, shape_out, units, rng):
    maps = jnp.asarray(rng.gamma(1.0, size=(7, *shape_in, units)).astype(np.float32))
    resample = jax.jit(upsample, static_argnums=(1,))
    whole = np.asarray(resample(maps, shape_out))
    for start, size in ((0, 1), (1, 2), (3, 3)):
        np.testing.assert_array_equal(np.asarray(resample(maps[start:start + size], shape_out)),
                                      whole[start:start + size])


@pytest.mark.parametrize("mode", ["pnas2020", "bilinear"])
def test_sharded_batch_keeps_its_sharding_and_values(mode, devices, rng):
    mesh = make_mesh(devices)
    host = rng.gamma(1.0, size=(8, 14, 14, 24)).astype(np.float16)
    maps = shard_batch(mesh, host)
    ours = jax.jit(lambda x: upsample(x, (56, 56), mode))(maps)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(upsample(jnp.asarray(host),
                                                                        (56, 56), mode)))
    assert ours.sharding.is_equivalent_to(maps.sharding, 4)


@pytest.mark.parametrize("shape_in,shape_out,units", [
    ((14, 14), (56, 56), 512), ((7, 9), (30, 20), 1000), ((3, 3), (7, 5), 2)])
def test_blocks_of_rows_in_a_loop_are_the_same_bits(shape_in, shape_out, units, rng):
    """The engine upsamples one block of rows at a time inside a loop (a traced first row);
    the thresholds are exact only if every pass sees the bits ``upsample`` gives."""
    maps = jnp.asarray(rng.gamma(1.0, size=(2, *shape_in, units)).astype(np.float32))
    rows = block_rows(shape_out, units)
    assert shape_out[0] % rows == 0 and (rows * shape_out[1] * units <= BLOCK_VALUES or rows == 1)
    blocks = shape_out[0] // rows

    def looped(maps):
        out = jnp.zeros((2, *shape_out, units), jnp.float32)

        def step(i, out):
            block = upsample_rows(maps, shape_out, i * rows, rows)
            return jax.lax.dynamic_update_slice_in_dim(out, block, i * rows, 1)

        return jax.lax.fori_loop(0, blocks, step, out)

    np.testing.assert_array_equal(np.asarray(jax.jit(looped)(maps)),
                                  np.asarray(jax.jit(upsample, static_argnums=1)(maps, shape_out)))


def test_block_rows_and_bad_blocks():
    assert block_rows((56, 56), 512) == 14  # 14 * 56 * 512 = 401,408 values <= 2**19
    assert block_rows((56, 56), 8) == 56
    assert block_rows((7, 10**6), 1) == 1  # nothing fits: one row at a time
    with pytest.raises(ValueError, match="num_rows=0"):
        upsample_rows(jnp.zeros((1, 2, 2, 1)), (4, 4), 0, 0)
