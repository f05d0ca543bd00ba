"""The pieces the segmenter parity rests on: precise ROI pooling matrices against direct
numerical integration (``segmenter_torch.prroi_pool_direct``), our resizes against torch's, and
the torch reference encoder's dilation."""

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from segmenter_torch import make_colornet, prroi_pool_direct  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from jaxdissect.models.segmenter.resize import adaptive_avg_pool, resize_bilinear  # noqa: E402
from jaxdissect.models.segmenter.roi_pool import (  # noqa: E402
    precise_roi_matrix,
    precise_roi_pool,
)


def test_roi_matrix_published_example():
    np.testing.assert_allclose(precise_roi_matrix(8, 1)[0], [0.0625] + [0.125] * 7, rtol=1e-7)
    assert abs(precise_roi_matrix(8, 1).sum() - 0.9375) < 1e-6


@pytest.mark.parametrize("h,w", [(4, 4), (7, 5), (8, 8), (3, 1)])
def test_roi_matrices_equal_direct_integration(h, w):
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(h * 10 + w))
    nhwc = jnp.asarray(x.permute(0, 2, 3, 1).numpy())
    for bins in (1, 2, 3, 6):
        want = prroi_pool_direct(x, bins).permute(0, 2, 3, 1).numpy()
        got = np.asarray(precise_roi_pool(nhwc, bins))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src,dst", [((7, 5), (28, 20)), ((64, 64), (56, 56)), ((8, 8), (8, 8)),
                                     ((32, 32), (64, 64)), ((3, 9), (6, 4))])
def test_bilinear_matches_torch_interpolate(src, dst):
    x = torch.randn(2, 3, *src, generator=torch.Generator().manual_seed(1))
    want = F.interpolate(x, size=dst, mode="bilinear", align_corners=False)
    got = resize_bilinear(jnp.asarray(x.permute(0, 2, 3, 1).numpy()), dst)
    np.testing.assert_allclose(np.asarray(got), want.permute(0, 2, 3, 1).numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("src,dst", [((224, 224), (256, 256)), ((32, 32), (6, 6)),
                                     ((7, 7), (3, 3)), ((10, 7), (4, 9)), ((5, 5), (1, 1))])
def test_adaptive_pool_matches_torch(src, dst):
    x = torch.randn(1, 3, *src, generator=torch.Generator().manual_seed(2))
    want = F.adaptive_avg_pool2d(x, dst)
    got = adaptive_avg_pool(jnp.asarray(x.permute(0, 2, 3, 1).numpy()), dst)
    np.testing.assert_allclose(np.asarray(got), want.permute(0, 2, 3, 1).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_dilated_encoder_has_output_stride_8():
    encoder, _ = make_colornet((8, 8, 16), (8, 8, 16, 16), 8, 8, 4)
    with torch.no_grad():
        feats = encoder(torch.zeros(1, 3, 64, 64))
    assert [tuple(f.shape[2:]) for f in feats] == [(16, 16), (8, 8), (8, 8), (8, 8)]
    assert encoder.layer4[0].conv1.dilation == (2, 2) and encoder.layer4[1].conv1.dilation == (4, 4)
