"""Segmenter inputs: value ranges, channel order, mean and resizing."""

import jax.numpy as jnp
import numpy as np

from jaxdissect.models.segmenter.preprocess import UPERNET_MEAN_BGR, color_input, upernet_input
from jaxdissect.models.segmenter.vocabulary import ColorLabels


def test_upernet_input_is_bgr_minus_mean():
    images = np.zeros((2, 256, 256, 3), np.float32)
    images[..., 0] = 1.0  # pure red in [-1, 1]
    images[..., 2] = -1.0
    x = np.asarray(upernet_input(jnp.asarray(images)))
    np.testing.assert_allclose(x[0, 0, 0], np.array([0.0, 127.5, 255.0]) - UPERNET_MEAN_BGR,
                               rtol=1e-6)


def test_224_images_are_enlarged_to_256(rng):
    images = rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    x = np.asarray(upernet_input(jnp.asarray(images)))
    assert x.shape == (1, 256, 256, 3)
    # output row 0 covers input row 0 only; output row 1 straddles input rows 0 and 1
    raw = (images[0] + 1) / 2 * 255
    want = raw[..., ::-1] - np.array(UPERNET_MEAN_BGR)
    np.testing.assert_allclose(x[0, 0, 0], want[0, 0], rtol=1e-5)
    np.testing.assert_allclose(x[0, 1, 0], (want[0, 0] + want[1, 0]) / 2, rtol=1e-5)


def test_color_input_follows_its_imageformat():
    colors = ColorLabels(("-", "red"), True, (0.1, 0.2, 0.3), (0.5, 0.25, 0.2))
    images = np.broadcast_to(np.array([1.0, 0.0, -1.0], np.float32), (1, 256, 256, 3))
    x = np.asarray(color_input(jnp.asarray(images), colors))
    np.testing.assert_allclose(x[0, 5, 5], (np.array([0.0, 0.5, 1.0]) - colors.mean) /
                               colors.std, rtol=1e-6)
    rgb = ColorLabels(("-", "red"), False, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    np.testing.assert_allclose(np.asarray(color_input(jnp.asarray(images), rgb))[0, 0, 0],
                               [1.0, 0.5, 0.0])
