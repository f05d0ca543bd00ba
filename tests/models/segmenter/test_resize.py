"""Resize matrices: torch's bilinear (align_corners=False) and adaptive average pooling."""

import jax.numpy as jnp
import numpy as np

from jaxdissect.models.segmenter.resize import (
    adaptive_avg_matrix,
    adaptive_avg_pool,
    bilinear_matrix,
    resize_bilinear,
)


def test_bilinear_weights_by_hand():
    # 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper neighbour clamped)
    np.testing.assert_allclose(bilinear_matrix(2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75],
                                                       [0, 1]])
    # 4 -> 2: sources 0.5 and 2.5, no anti-aliasing
    np.testing.assert_allclose(bilinear_matrix(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    np.testing.assert_array_equal(bilinear_matrix(5, 5), np.eye(5))
    for i, o in [(7, 28), (64, 56), (3, 17)]:
        np.testing.assert_allclose(bilinear_matrix(i, o).sum(1), 1.0, rtol=1e-6)


def test_adaptive_pooling_when_enlarging_is_a_box_upsampling():
    m = adaptive_avg_matrix(224, 256)
    nonzero = (m > 0).sum(1)
    assert set(nonzero) == {1, 2}  # each output copies one input pixel or averages two
    np.testing.assert_allclose(m.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(adaptive_avg_matrix(5, 2), [[1 / 3] * 3 + [0, 0],
                                                           [0, 0, 1 / 3, 1 / 3, 1 / 3]])


def test_resizes_apply_per_axis(rng):
    x = rng.standard_normal((2, 6, 4, 3)).astype(np.float32)
    y = np.asarray(resize_bilinear(jnp.asarray(x), (3, 8)))
    want = np.einsum("oh,pw,nhwc->nopc", bilinear_matrix(6, 3), bilinear_matrix(4, 8), x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    pooled = np.asarray(adaptive_avg_pool(jnp.asarray(x), (1, 1)))
    np.testing.assert_allclose(pooled[:, 0, 0], x.mean((1, 2)), rtol=1e-5, atol=1e-6)
    assert resize_bilinear(jnp.asarray(x, jnp.bfloat16), (3, 3)).dtype == jnp.bfloat16
