"""The label merge against the numpy/scipy reference of the published segmenter
(``segmenter_merge_reference``) on the same scores: the label maps agree exactly, with and
without the reference's quirks; and the whole published pipeline against torch."""

import jax
import numpy as np
import pytest
from segmenter_labels import COLOR_NAMES, TINY_COLOR_LABELS, TINY_LABELS
from segmenter_merge_reference import reference_merge, smooth_scores

from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels

# tables, skip_last_component, color_none_concept are static
merge = jax.jit(merge_labels, static_argnums=(4, 5, 6))


@pytest.mark.parametrize("skip_last", [False, True])
@pytest.mark.parametrize("low", [4, 24])  # smooth regions, then per-pixel noise
def test_merge_equals_reference(skip_last, low):
    rng = np.random.default_rng(low + skip_last)
    n, size = 3, 24
    obj, mat = smooth_scores(rng, n, size, 12, low), smooth_scores(rng, n, size, 5, low)
    part, color = smooth_scores(rng, n, size, 16, low), smooth_scores(rng, n, size, 12, low)
    tables = MergeTables.of(UnifiedLabels.from_json(TINY_LABELS),
                            ColorLabels.from_json(TINY_COLOR_LABELS))
    got = np.asarray(merge(obj, mat, part, color, tables, skip_last, False))
    want = reference_merge(obj, mat, part, color, TINY_LABELS, skip_last)
    assert tables.numbering.color_offset == 5 * 11 + 4 + 1 + 7  # 7 true parts in the labels
    assert got.dtype == np.int32 and got.shape == (n, 6, size, size)
    np.testing.assert_array_equal(got, want)
    assert (got[:, 3] > 0).sum() > 0 and (got[:, 2] > 0).sum() > 0


def test_colour_none_concept_flag():
    rng = np.random.default_rng(9)
    obj, mat, part = (rng.standard_normal((2, 8, 8, c)).astype(np.float32) for c in (12, 5, 16))
    color = rng.standard_normal((2, 8, 8, len(COLOR_NAMES))).astype(np.float32)
    color[:, :4, :, 0] += 10  # colour "none" wins in the top half
    tables = MergeTables.of(UnifiedLabels.from_json(TINY_LABELS),
                            ColorLabels.from_json(TINY_COLOR_LABELS))
    for flag in (False, True):
        got = np.asarray(merge(obj, mat, part, color, tables, False, flag))
        np.testing.assert_array_equal(got, reference_merge(obj, mat, part, color, TINY_LABELS,
                                                           color_none=flag))
        assert (got[:, 5, :4] == (tables.numbering.color_offset if flag else 0)).all()


def test_published_pipeline_equals_torch_reference(tmp_path):
    """Folders -> ``ports.convert`` -> ``load`` -> ``published_segmenter`` on 224 images, against
    the torch models, torch resizes and the numpy merge."""
    pytest.importorskip("torch")
    from segmenter_torch import converted_published_pair, torch_pipeline_scores

    from jaxdissect.runs.segmenters import load_published_segmenter

    encoder, decoder, color_encoder, color_decoder = converted_published_pair(
        tmp_path, TINY_COLOR_LABELS, seed=11)
    segmenter = load_published_segmenter(tmp_path / "upp_jax", tmp_path / "color_jax",
                                         image_size=(224, 224), skip_last_component=True)
    assert segmenter.vocabulary.num_concepts == 79
    assert segmenter.identity["kind"] == "published" and segmenter.identity["skip_last_component"]
    rng = np.random.default_rng(4)
    images = np.tanh(smooth_scores(rng, 3, 224, 3, 8)).astype(np.float32)
    got = np.asarray(segmenter(images))
    s = torch_pipeline_scores(images, encoder, decoder, color_encoder, color_decoder, (56, 56))
    want = reference_merge(s["object"], s["material"], s["part"], s["color"], TINY_LABELS,
                           skip_last=True)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="holds a converted 'colorseg' model"):
        load_published_segmenter(tmp_path / "color_jax")
