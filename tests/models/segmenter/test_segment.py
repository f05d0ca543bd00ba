"""The one Segmenter type (checks, identity, jit) and the published pipeline's plumbing."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from segmenter_params import random_params

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.colornet import ColorNet
from jaxdissect.models.segmenter.segment import Segmenter, published_segmenter
from jaxdissect.models.segmenter.upernet import UPerNet


def test_a_custom_segmenter_checks_its_labels_and_jits():
    vocab = ConceptVocabulary.from_names(["sky", "tree"])
    seg = Segmenter(lambda images: jnp.zeros((images.shape[0], 1, 4, 4), jnp.int32), vocab,
                    "zeros")
    assert seg(jnp.zeros((3, 16, 16, 3))).shape == (3, 1, 4, 4)
    assert jax.jit(seg)(jnp.zeros((2, 16, 16, 3))).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"returned shape \(3, 4, 4\) for 3 images"):
        Segmenter(lambda x: jnp.zeros((3, 4, 4), jnp.int32), vocab)(jnp.zeros((3, 16, 16, 3)))
    with pytest.raises(ValueError, match=r"returned shape \(1, 1, 4, 4\) for 3 images"):
        Segmenter(lambda x: jnp.zeros((1, 1, 4, 4), jnp.int32), vocab)(jnp.zeros((3, 8, 8, 3)))
    with pytest.raises(ValueError, match="returned float32 labels"):
        jax.jit(Segmenter(lambda x: x[:, None, :, :, 0], vocab))(jnp.zeros((1, 8, 8, 3)))
    with pytest.raises(TypeError, match="ConceptVocabulary"):
        Segmenter(seg.fn, ["sky", "tree"])
    with pytest.raises(ValueError, match="identity must be JSON-able"):
        Segmenter(seg.fn, vocab, {"threshold": np.float32(0.5)})


def bright(images):
    return (images[..., :1] > 0).astype(jnp.int32).transpose(0, 3, 1, 2)


def test_the_identity_names_the_labels():
    """A name, a dict or nothing: always JSON, always with the vocabulary; the built-in kinds
    are recorded as given (the keys of earlier runs)."""
    vocab = ConceptVocabulary.from_names(["bright"])
    named = Segmenter(bright, vocab, "bright-v1").identity
    assert named["kind"] == "custom" and named["name"] == "bright-v1"
    other_vocab = Segmenter(bright, ConceptVocabulary.from_names(["light"]), "bright-v1")
    assert other_vocab.identity["vocabulary_sha256"] != named["vocabulary_sha256"]
    given = Segmenter(bright, vocab, {"weights_sha256": "abc"}).identity
    assert given["kind"] == "custom" and given["weights_sha256"] == "abc"
    default = Segmenter(bright, vocab).identity
    assert default["name"].endswith("test_segment.bright") and len(default["code_sha256"]) == 64
    assert Segmenter(jax.jit(bright), vocab).identity["code_sha256"] == default["code_sha256"]
    built_in = {"kind": "world_segmenter", "upsample": 2}
    assert Segmenter(bright, vocab, built_in).identity == built_in
    json.dumps(default)


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
    assert labels.shape == (3, 6, 24, 32) and labels.dtype == np.int32
    assert seg.identity == {"kind": "published", "upernet": {"arch": None,
                                                             "checkpoint_sha256": None},
                            "colornet": {"arch": None, "checkpoint_sha256": None}}
    assert labels.max() < seg.vocabulary.num_concepts == 79
    with pytest.raises(ValueError, match=r"built for \(96, 128\) images"):
        seg(jnp.zeros((1, 64, 64, 3)))
