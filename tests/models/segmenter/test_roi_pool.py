"""Whole-map precise ROI pooling matrices, against a fine numerical integration in numpy."""

import jax.numpy as jnp
import numpy as np

from jaxdissect.models.segmenter.roi_pool import precise_roi_matrix, precise_roi_pool


def interpolant(samples, u):
    """The 1-D linear interpolant of ``samples`` at ``u`` (zero beyond the last sample)."""
    padded = np.append(samples, 0.0)
    i = np.floor(u).astype(int)
    return (1 - (u - i)) * padded[i] + (u - i) * padded[np.minimum(i + 1, len(samples))]


def test_published_example_and_lost_mass():
    np.testing.assert_allclose(precise_roi_matrix(8, 1), [[0.0625] + [0.125] * 7])
    m = precise_roi_matrix(7, 6)
    assert m.shape == (6, 7) and m.sum(1)[-1] < 1.0 and abs(m.sum(1)[2] - 1.0) < 1e-6


def test_matrix_equals_fine_midpoint_integration(rng):
    for size, bins in [(8, 3), (5, 6), (13, 2)]:
        samples = rng.standard_normal(size)
        edges = np.linspace(0, size, bins + 1)
        want = []
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            u = a + (np.arange(20000) + 0.5) * (b - a) / 20000
            want.append(interpolant(samples, u).mean())
        np.testing.assert_allclose(precise_roi_matrix(size, bins) @ samples, want, atol=1e-5)


def test_pooling_is_separable(rng):
    x = rng.standard_normal((2, 5, 7, 3)).astype(np.float32)
    got = np.asarray(precise_roi_pool(jnp.asarray(x), 3))
    want = np.einsum("ah,bw,nhwc->nabc", precise_roi_matrix(5, 3), precise_roi_matrix(7, 3), x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
