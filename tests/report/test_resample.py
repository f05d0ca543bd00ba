"""Tests for jaxdissect/report/resample.py: the two upsampling definitions, checked by hand."""

import numpy as np
import pytest

from jaxdissect.report.resample import interpolation_matrix, upsample_maps


def test_zeropad_matrix_2_to_4_by_hand():
    # scale 2, offset 0.5: outputs sample source -0.25, 0.25, 0.75, 1.25; outside pixels are 0.
    expected = np.array([[0.75, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 0.75]], np.float32)
    np.testing.assert_allclose(interpolation_matrix(2, 4, "pnas2020"), expected)


def test_zeropad_14_to_56_edge_rings():
    # The published figures: the outermost ring keeps 62.5% of the edge value, the next 87.5%.
    up = upsample_maps(np.ones((14, 14), np.float32), (56, 56))
    np.testing.assert_allclose(up[28, :3], [0.625, 0.875, 1.0])
    np.testing.assert_allclose(up[0, 0], 0.625**2)


def test_bilinear_clamps_edges_and_keeps_constants():
    np.testing.assert_allclose(interpolation_matrix(2, 4, "bilinear")[0], [1.0, 0.0])
    up = upsample_maps(np.full((3, 5), 2.5, np.float32), (7, 11), "bilinear")
    np.testing.assert_allclose(up, 2.5, rtol=1e-6)


def test_upsample_batches_leading_axes_and_non_square():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 2, 4, 6)).astype(np.float32)
    up = upsample_maps(maps, (9, 13))
    assert up.shape == (3, 2, 9, 13) and up.dtype == np.float32
    rows, cols = interpolation_matrix(4, 9), interpolation_matrix(6, 13)
    np.testing.assert_allclose(up[1, 0], rows @ maps[1, 0] @ cols.T, rtol=1e-5, atol=1e-6)


def test_bilinear_downsampling_is_antialiased():
    # 4 -> 2: output 0 is centred at source coordinate 1.0 (pixel centres at .5, 1.5, 2.5, 3.5);
    # a triangle of half-width 2 gives weights .75, .75, .25, 0, renormalised by 1.75.
    np.testing.assert_allclose(interpolation_matrix(4, 2, "bilinear"),
                               np.array([[3, 3, 1, 0], [0, 1, 3, 3]]) / 7, rtol=1e-6)


@pytest.mark.parametrize("mode", ["pnas2020", "bilinear"])
@pytest.mark.parametrize("sizes", [(14, 56), (7, 100), (13, 100), (112, 100), (4, 2)])
def test_same_matrices_as_the_dissection_upsampler(mode, sizes):
    from jaxdissect.dissection import upsample as dissect_upsample

    np.testing.assert_allclose(
        interpolation_matrix(*sizes, mode), dissect_upsample.interpolation_matrix(*sizes, mode),
        atol=1e-7,
    )


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="pnas2020, bilinear"):
        interpolation_matrix(2, 4, "nearest")
