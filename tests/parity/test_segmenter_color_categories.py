"""The colour model's ``labels.json`` categories against a torch reference of the published
semantic segmenter's rule: one independent softmax and argmax per category, labels numbered
"-" = 0 then each new non-internal name in channel order, and a category's label kept only
where its ``mask`` label wins. On a two-category colour folder built here (a masked category,
a name shared across categories, an internal channel), through conversion and
``load_published_segmenter`` as a user goes."""

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from segmenter_labels import TINY_COLOR_LABELS, TINY_LABELS  # noqa: E402
from segmenter_merge_reference import reference_merge, smooth_scores  # noqa: E402
from segmenter_torch import converted_published_pair, torch_pipeline_scores  # noqa: E402

from jaxdissect.models.segmenter.merge import MergeTables, merge_labels  # noqa: E402
from jaxdissect.models.segmenter.vocabulary import (  # noqa: E402
    ColorLabels,
    UnifiedLabels,
    unified_vocabulary,
)

TWO_CATEGORIES = {
    "labels": [
        {"name": "-", "category": "color"},
        {"name": "black", "category": "color"},
        {"name": "red", "category": "color"},
        {"name": "white", "category": "color"},
        {"name": "-", "category": "shade"},
        {"name": "light", "category": "shade"},
        {"name": "red", "category": "shade"},  # the same name, so the same label, as a colour
        {"name": "sheen", "category": "shade", "internal": True},  # no label of its own
        {"name": "dark", "category": "shade"},
    ],
    "categories": [{"name": "color"}, {"name": "shade", "mask": "white"}],
    "imageformat": TINY_COLOR_LABELS["imageformat"],
}


def torch_reference(logits, labels_json):
    """NHWC colour logits at the label size -> (N, categories, h, w) labels, 0 = none,
    following the published semantic segmenter's rules (written here in torch)."""
    names = {"-": 0}
    for label in labels_json["labels"]:
        if not label.get("internal") and label["name"] not in names:
            names[label["name"]] = len(names)
    channels = {c["name"]: [i for i, label in enumerate(labels_json["labels"])
                            if label["category"] == c["name"]]
                for c in labels_json["categories"]}
    where = {labels_json["labels"][i]["name"]: (cat, k)
             for cat, members in channels.items() for k, i in enumerate(members)}
    x = torch.from_numpy(logits).permute(0, 3, 1, 2)
    pred = torch.softmax(x, dim=1)  # the decoder's own softmax over every channel
    winners = {cat: torch.softmax(pred[:, members], dim=1).argmax(dim=1)
               for cat, members in channels.items()}
    out = []
    for category in labels_json["categories"]:
        members = channels[category["name"]]
        table = torch.tensor([names.get(labels_json["labels"][i]["name"], 0) for i in members])
        seg = table[winners[category["name"]]]
        if category.get("mask"):
            cat, k = where[category["mask"]]
            seg = seg * (winners[cat] == k).long()
        out.append(seg)
    return torch.stack(out, dim=1).numpy()


def test_labels_and_vocabulary_of_two_categories():
    colors = ColorLabels.from_json(TWO_CATEGORIES)
    assert [c.name for c in colors.color_categories] == ["color", "shade"]
    assert colors.color_categories[1].channels == (4, 5, 6, 7, 8)
    assert colors.label_names == ("-", "black", "red", "white", "light", "dark")
    np.testing.assert_array_equal(colors.channel_labels, [0, 1, 2, 3, 0, 4, 2, 0, 5])
    assert colors.mask_of(colors.color_categories[1]) == (0, 3)
    assert ColorLabels.from_json(colors.to_json()) == colors
    vocab = unified_vocabulary(UnifiedLabels.from_json(TINY_LABELS), colors)
    assert vocab.names[-6:] == ("color-none", "black", "red", "white", "light", "dark")
    assert vocab.categories[-2:] == ("shade", "shade") and vocab.categories[-6] == "color"
    with pytest.raises(ValueError, match=r"category masks \['gold'\] are not label names"):
        ColorLabels.from_json({**TWO_CATEGORIES, "categories": [
            {"name": "color"}, {"name": "shade", "mask": "gold"}]})
    with pytest.raises(ValueError, match=r"labels of categories \['shade'\], which are not"):
        ColorLabels.from_json({**TWO_CATEGORIES, "categories": [{"name": "color"}]})


@pytest.mark.parametrize("color_none", [False, True])
def test_merge_of_two_categories_equals_the_reference(color_none):
    rng = np.random.default_rng(3)
    color = smooth_scores(rng, 2, 16, 9, 4)
    obj, mat, part = (smooth_scores(rng, 2, 16, c, 4) for c in (12, 5, 16))
    tables = MergeTables.of(UnifiedLabels.from_json(TINY_LABELS),
                            ColorLabels.from_json(TWO_CATEGORIES))
    got = np.asarray(jax.jit(merge_labels, static_argnums=(4, 5, 6))(
        obj, mat, part, color, tables, False, color_none))
    assert got.shape == (2, 7, 16, 16)
    want = torch_reference(color, TWO_CATEGORIES)
    offset = tables.numbering.color_offset
    np.testing.assert_array_equal(got[:, 5:], want + offset if color_none else
                                  np.where(want == 0, 0, want + offset))
    assert (want[:, 1] == 0).any() and (want[:, 1] > 0).any()  # the mask cuts, but not all


@pytest.mark.slow  # ~80 s on a loaded 2-core machine; the merge test above holds the rule
def test_published_pipeline_with_two_colour_categories_equals_torch(tmp_path):
    """Folders -> ``convert`` -> ``load_published_segmenter``, against torch models, torch
    resizes and the torch rule above (channels 0-4 against the numpy merge reference)."""
    from jaxdissect.runs.segmenters import load_published_segmenter

    encoder, decoder, color_encoder, color_decoder = converted_published_pair(
        tmp_path, TWO_CATEGORIES, seed=21)
    segmenter = load_published_segmenter(tmp_path / "upp_jax", tmp_path / "color_jax",
                                         image_size=(224, 224))
    rng = np.random.default_rng(6)
    images = np.tanh(smooth_scores(rng, 2, 224, 3, 8)).astype(np.float32)
    got = np.asarray(segmenter(images))
    assert got.shape == (2, 7, 56, 56)
    s = torch_pipeline_scores(images, encoder, decoder, color_encoder, color_decoder, (56, 56))
    np.testing.assert_array_equal(got[:, :5], reference_merge(
        s["object"], s["material"], s["part"], s["color"], TINY_LABELS)[:, :5])
    want = torch_reference(s["color"], TWO_CATEGORIES)
    offset = segmenter.vocabulary.num_concepts - 6
    np.testing.assert_array_equal(got[:, 5:], np.where(want == 0, 0, want + offset))
    assert len(np.unique(want[:, 0])) > 1  # several colours won somewhere
    as_reference = load_published_segmenter(tmp_path / "upp_jax", tmp_path / "color_jax",
                                            image_size=(224, 224), color_none_concept=True)
    assert as_reference.vocabulary.names[offset] == "color-none"
    np.testing.assert_array_equal(np.asarray(as_reference(images))[:, 5:], want + offset)
