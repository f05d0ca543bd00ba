"""End to end: the same dissection pointed at a Broden-format folder by changing ``--data``.

World scenes and their exact segmentations are written in Broden's published on-disk format
(``index.csv``, ``label.csv``, ``c_<category>.csv``, label PNGs as red + 256 * green), then the
shipped world classifier is dissected from that folder under the ``netdissect2017`` preset.
The result must equal the dissection of the same images straight from the world source, where
the label maps need no file round trip.
"""

import csv

import numpy as np
import pytest
from PIL import Image

from jaxdissect.runs.model_dissection import dissect_model
from jaxdissect.world.source import WorldConfig, render_world
from jaxdissect.world.vocabulary import world_concepts

CATEGORIES = ["object", "part", "material", "colour"]
NUM_IMAGES = 24


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def label_png(path, labels):
    rgb = np.zeros((*labels.shape, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = labels % 256, labels // 256
    Image.fromarray(rgb).save(path)


def write_broden(root, batch):
    """Broden folder of the world ``batch`` (images 64x64, maps 32x32); channel k of the world's
    segmentation is written as the map of the category its labels belong to."""
    (root / "images").mkdir(parents=True)
    concepts = world_concepts(False)
    category = {number: cat for number, _, cat in concepts}
    rows = []
    for i, (image, seg) in enumerate(zip(batch["image"], batch["seg"], strict=True)):
        name = f"img{i}.png"  # lossless, so both routes see the same pixels
        Image.fromarray(image).save(root / "images" / name)
        maps = {c: [] for c in CATEGORIES}
        for k, channel in enumerate(seg):
            present = [category[n] for n in np.unique(channel) if n]
            if present:
                map_name = f"img{i}_{k}.png"
                label_png(root / "images" / map_name, channel.astype(np.int64))
                maps[present[0]].append(map_name)
        rows.append([name, "val", 64, 64, 32, 32, *(";".join(maps[c]) for c in CATEGORIES)])
    write_csv(root / "index.csv", ["image", "split", "ih", "iw", "sh", "sw", *CATEGORIES], rows)
    write_csv(root / "label.csv", ["number", "name", "category", "frequency", "coverage", "syns"],
              [(n, name, f"{cat}(1)", 1, 0.5, "") for n, name, cat in concepts])
    write_csv(root / "category.csv", ["name", "first", "last", "count", "frequency"],
              [[c, 1, len(concepts), 1, 1] for c in CATEGORIES])
    for c in CATEGORIES:
        members = [(n, name) for n, name, cat in concepts if cat == c]
        write_csv(root / f"c_{c}.csv", ["code", "number", "name", "frequency", "coverage"],
                  [[code, n, name, 1, 0.5] for code, (n, name) in enumerate(members, start=1)])


@pytest.fixture(scope="module")
def broden_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("broden") / "broden1_64"
    write_broden(root, render_world(WorldConfig(seed=11), np.arange(NUM_IMAGES)))
    return root


def test_broden_folder_gives_the_world_sources_dissection(broden_root, tmp_path):
    common = dict(layers=["conv4_2"], preset="netdissect2017", batch_size=8, devices=2,
                  progress=False, report=False)
    from_broden = dissect_model("world:classifier", f"broden:{broden_root}", tmp_path / "b",
                                **common).results["conv4_2"]
    from_world = dissect_model("world:classifier", f"world:{NUM_IMAGES}", tmp_path / "w",
                               data_options={"seed": 11}, **common).results["conv4_2"]
    np.testing.assert_array_equal(from_broden.thresholds, from_world.thresholds)
    np.testing.assert_array_equal(from_broden.counts.inter, from_world.counts.inter)
    np.testing.assert_array_equal(from_broden.iou, from_world.iou)
    assert from_broden.labels.interpretable.any()
