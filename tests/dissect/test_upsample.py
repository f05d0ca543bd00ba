"""Tests for jaxdissect/dissect/upsample.py."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxdissect.dissect.upsample import interpolation_matrix, upsample, upsample_numpy


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
    np.testing.assert_allclose(np.asarray(out), upsample_numpy(maps, (8, 10)), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="choose one of pnas2020, bilinear"):
        upsample(jnp.asarray(maps), (8, 10), "nearest")
    with pytest.raises(ValueError, match="expects \\(N, h, w, U\\)"):
        upsample(jnp.zeros((4, 5, 2)), (8, 10))
