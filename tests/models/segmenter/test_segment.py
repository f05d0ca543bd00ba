"""The Segmenter protocol, precomputed label maps, and the published pipeline's plumbing."""

import jax.numpy as jnp
import numpy as np
import pytest
from segmenter_params import random_params

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.colornet import ColorNet
from jaxdissect.models.segmenter.segment import Segmenter, published_segmenter
from jaxdissect.models.segmenter.upernet import UPerNet


def test_custom_function_and_precomputed_labels():
    vocab = ConceptVocabulary.from_names(["sky", "tree"])
    seg = Segmenter(lambda images: jnp.zeros((images.shape[0], 1, 4, 4), jnp.int32), vocab, (4, 4))
    assert seg(jnp.zeros((3, 16, 16, 3))).shape == (3, 1, 4, 4)
    with pytest.raises(ValueError, match=r"expected \(N, K, 5, 5\)"):
        Segmenter(seg.fn, vocab, (5, 5))(jnp.zeros((3, 16, 16, 3)))
    stored = np.arange(5 * 2 * 3 * 3).reshape(5, 2, 3, 3) % 3
    pre = Segmenter.from_array(stored, vocab)
    np.testing.assert_array_equal(pre(np.array([4, 1])), stored[[4, 1]])
    with pytest.raises(ValueError, match="beyond the vocabulary"):
        Segmenter.from_array(stored + 1, vocab)


def test_published_pipeline_shapes(unified_json, color_json):
    """Random small networks: the plumbing (sizes, channel count, vocabulary)."""
    upernet = UPerNet(num_objects=12, num_parts=16, num_materials=5, fpn_dim=4, ppm_dim=4,
                      stem_widths=(4, 4, 4), stage_sizes=(1, 1, 1, 1), stage_widths=(2, 2, 2, 2))
    colornet = ColorNet(num_classes=12, ppm_dim=4, last_dim=4, stem_widths=(4, 4, 4),
                        stage_sizes=(1, 1, 1, 1), stage_widths=(2, 2, 2, 2))
    nets = [Net(m, random_params(m, (1, 256, 256, 3), seed=i), {"sizes": {"labels": labels}})
            for i, (m, labels) in enumerate([(upernet, unified_json), (colornet, color_json)])]
    seg = published_segmenter(*nets, image_size=(96, 128))
    images = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (3, 96, 128, 3)), jnp.float32)
    labels = np.asarray(seg(images))
    assert labels.shape == (3, 6, 24, 32) and labels.dtype == np.int32 and seg.size == (24, 32)
    assert labels.max() < seg.vocabulary.num_concepts == 79
    with pytest.raises(ValueError, match=r"built for \(96, 128\) images"):
        seg(jnp.zeros((1, 64, 64, 3)))
