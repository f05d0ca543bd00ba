"""A numpy/scipy reference of the label merge, written after the published segmenter (part
translation tables built as it builds them, ``scipy.ndimage.label`` with a 3x3 structure for the
quad split, component by component in raster order), for the parity tests and the benchmark (a
helper module, not a test module)."""

import numpy as np
from scipy import ndimage


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
