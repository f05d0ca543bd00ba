"""The label merge against a numpy/scipy reference written here after the published segmenter
(part translation tables, ``scipy.ndimage.label`` with a 3x3 structure for the quad split),
on the same scores: the label maps agree exactly, with and without the reference's quirks."""

import jax
import numpy as np
import pytest
from scipy import ndimage
from test_segmenter_reference import COLOR_NAMES, TINY_COLOR_LABELS, TINY_LABELS

from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels

# tables, skip_last_component, color_none_concept are static
merge = jax.jit(merge_labels, static_argnums=(4, 5, 6))


def reference_part_tables(labels):
    """Owners (object order) and each owner's channel -> concept list, as the reference builds
    them: object names map to objects ('-' to 0), new names get the next part number."""
    objects = {n: i for i, n in enumerate(labels["object"])}
    k, m = len(labels["object"]) - 1, len(labels["material"]) - 1
    first_part, part_numbers, tables = 5 * k + m + 1, {}, []
    for owner in sorted(labels["object_part"], key=objects.__getitem__):
        numbers = []
        for part in labels["object_part"][owner]:
            if part in objects:
                numbers.append(objects[part])
            else:
                part_numbers.setdefault(part, first_part + len(part_numbers))
                numbers.append(part_numbers[part])
        tables.append((objects[owner], np.array(numbers)))
    return tables, first_part + len(part_numbers)


def reference_quads(objects, k, skip_last):
    """Channels 3 and 4 for one image (h, w), component by component in raster order."""
    top_bottom, left_right = objects.copy(), objects.copy()
    components = []
    for value in np.unique(objects[objects > 0]):
        labelled, count = ndimage.label(objects == value, structure=np.ones((3, 3)))
        for c in range(1, count + 1):
            mask = labelled == c
            components.append((np.flatnonzero(mask)[0], mask))
    components.sort(key=lambda item: item[0])
    if skip_last:
        components = components[:-1]
    for _, mask in components:
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        vmid, hmid = (rows[0] + rows[-1] + 1) // 2, (cols[0] + cols[-1] + 1) // 2
        quads = np.repeat(mask[None], 4, axis=0).astype(np.int64)
        quads[0, vmid:], quads[1, :, hmid:], quads[2, :vmid], quads[3, :, :hmid] = 0, 0, 0, 0
        top_bottom += quads[0] * k + quads[2] * 3 * k
        left_right += quads[1] * 2 * k + quads[3] * 4 * k
    top_bottom[top_bottom <= k] = 0
    left_right[left_right <= k] = 0
    return top_bottom, left_right


def reference_merge(obj, mat, part, color, labels, skip_last=False, color_none=False):
    """Scores NHWC -> (N, 6, h, w) int64, following the reference segmenter."""
    k = len(labels["object"]) - 1
    segs = np.zeros((obj.shape[0], 6, *obj.shape[1:3]), np.int64)
    segs[:, 0] = obj.argmax(-1)
    material = mat.argmax(-1)
    segs[:, 1] = np.where(material == 0, 0, material + 5 * k)
    tables, color_offset = reference_part_tables(labels)
    head = 0
    for owner, trans in tables:
        seg = trans[part[..., head: head + len(trans)].argmax(-1)]
        mask = segs[:, 0] == owner
        segs[:, 2][mask] = seg[mask]
        head += len(trans)
    for i in range(len(segs)):
        segs[i, 3], segs[i, 4] = reference_quads(segs[i, 0], k, skip_last)
    shifted = color.argmax(-1) + color_offset
    segs[:, 5] = shifted if color_none else np.where(color.argmax(-1) == 0, 0, shifted)
    return segs


def smooth_scores(rng, n, size, channels, low):
    """Scores with regions: random low-res maps upsampled by repetition, plus small noise."""
    coarse = rng.standard_normal((n, low, low, channels))
    scores = coarse.repeat(size // low, axis=1).repeat(size // low, axis=2)
    return (scores + 0.3 * rng.standard_normal(scores.shape)).astype(np.float32)


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


def torch_pipeline_scores(images, encoder, decoder, color_encoder, color_decoder, seg_size):
    """The reference preprocessing and resizes in torch: NHWC numpy scores at ``seg_size``."""
    import torch
    from torch.nn import functional as F

    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    up = torch.flip((x + 1) / 2 * 255, (1,))
    up = up - torch.tensor([102.9801, 115.9465, 122.7717])[None, :, None, None]
    fmt = TINY_COLOR_LABELS["imageformat"]
    col = ((torch.flip(x, (1,)) + 1) / 2 - torch.tensor(fmt["mean"])[None, :, None, None]) / (
        torch.tensor(fmt["stdev"])[None, :, None, None])
    up, col = F.adaptive_avg_pool2d(up, 256), F.adaptive_avg_pool2d(col, 256)
    with torch.no_grad():
        heads, _ = decoder(encoder(up))
        heads["color"] = color_decoder(color_encoder(col))
    return {k: F.interpolate(v, seg_size, mode="bilinear", align_corners=False)
            .permute(0, 2, 3, 1).numpy() for k, v in heads.items()}


def test_published_pipeline_equals_torch_reference(tmp_path):
    """Folders -> ``ports.convert`` -> ``load`` -> ``published_segmenter`` on 224 images, against
    the torch models, torch resizes and the numpy merge."""
    from test_segmenter_parity import TINY_COLOR, TINY_UPERNET
    from test_segmenter_reference import TINY_CLASSES, make_colornet, make_upernet, save_folder

    from jaxdissect.models.segmenter.segment import load_published_segmenter
    from ports import convert

    u, c = TINY_UPERNET, TINY_COLOR
    encoder, decoder = make_upernet(u["stem"], u["stage_sizes"], u["widths"], u["fpn_dim"],
                                    u["ppm_dim"], TINY_CLASSES, seed=11)
    color_encoder, color_decoder = make_colornet(c["stem"], c["widths"], c["ppm_dim"],
                                                 c["last_dim"], len(COLOR_NAMES), seed=12)
    save_folder(tmp_path / "upp", encoder, decoder, TINY_LABELS, epoch=40)
    save_folder(tmp_path / "color", color_encoder, color_decoder, TINY_COLOR_LABELS, epoch=20)
    convert(tmp_path / "upp", tmp_path / "upp_jax", arch="upernet50")
    convert(tmp_path / "color", tmp_path / "color_jax", arch="colorseg")
    segmenter = load_published_segmenter(tmp_path / "upp_jax", tmp_path / "color_jax",
                                         image_size=(224, 224), skip_last_component=True)
    assert segmenter.size == (56, 56) and segmenter.vocabulary.num_concepts == 79
    rng = np.random.default_rng(4)
    images = np.tanh(smooth_scores(rng, 3, 224, 3, 8)).astype(np.float32)
    got = np.asarray(segmenter(images))
    s = torch_pipeline_scores(images, encoder, decoder, color_encoder, color_decoder, (56, 56))
    want = reference_merge(s["object"], s["material"], s["part"], s["color"], TINY_LABELS,
                           skip_last=True)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="holds a converted 'colorseg' model"):
        load_published_segmenter(tmp_path / "color_jax")
