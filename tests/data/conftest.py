"""Small generated data sets for the input pipeline tests: an image folder and a Broden folder."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from jaxdissect.data.skipped import BadRecordError
from jaxdissect.data.source import Field, RowSource


def random_image(rng, height, width):
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def truncated_jpeg(rng) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(random_image(rng, 64, 64)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.fixture
def image_folder(tmp_path):
    """``root/{cat,dog}/...``: 5 good images (jpg, PNG upper case, bmp, webp, png), one
    truncated JPEG, one text file named .png, plus files that must be ignored. Returns
    ``(root, pixels)``: the arrays written to the lossless files, by relative path."""
    rng = np.random.default_rng(42)
    root = tmp_path / "images"
    for folder in ("cat", "dog", ".hidden"):
        (root / folder).mkdir(parents=True)
    pixels = {
        "cat/b_lossless.PNG": random_image(rng, 200, 300),
        "dog/a.bmp": random_image(rng, 240, 320),
        "dog/c.png": random_image(rng, 256, 256),
    }
    for relative, array in pixels.items():
        Image.fromarray(array).save(root / relative, "PNG" if "png" in relative.lower() else "BMP")
    Image.fromarray(random_image(rng, 100, 120)).save(root / "cat/a.jpg", "JPEG")
    Image.fromarray(random_image(rng, 90, 70)).save(root / "dog/d.webp", "WEBP", lossless=True)
    (root / "dog/broken.jpg").write_bytes(truncated_jpeg(rng))
    (root / "dog/not_an_image.png").write_text("this is text, not a PNG\n")
    (root / "dog/notes.txt").write_text("ignored: not an image extension\n")
    Image.fromarray(random_image(rng, 32, 32)).save(root / ".hidden/x.jpg", "JPEG")
    return root, pixels


# -- Broden -------------------------------------------------------------------------------------

CATEGORIES = ["color", "object", "part", "material", "scene", "texture"]
NUM_LABELS = 300  # label 300 = red 44 + 256 * green 1: exercises the green byte


def label_png(path, labels):
    """Write (h, w) label numbers as a Broden PNG: red = n % 256, green = n // 256."""
    rgb = np.zeros((*labels.shape, 3), np.uint8)
    rgb[..., 0] = labels % 256
    rgb[..., 1] = labels // 256
    Image.fromarray(rgb).save(path)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def broden_folder(tmp_path):
    """A 5-image Broden release folder (16x16 images, 8x8 maps). Returns ``(root, truth)``:
    ``truth[image]`` maps each category to its list of (8, 8) label arrays."""
    rng = np.random.default_rng(7)
    root = tmp_path / "broden1_16"
    (root / "images" / "ade").mkdir(parents=True)
    maps = {
        "obj0": rng.choice([0, 3, 300], (8, 8)),
        "part0a": rng.choice([0, 4], (8, 8)),
        "part0b": rng.choice([0, 5, 300], (8, 8)),
        "color0": rng.choice([1, 2], (8, 8)),
        "mat3": rng.choice([0, 6], (8, 8)),
        "wrongsize": rng.choice([0, 6], (4, 4)),
    }
    for name, labels in maps.items():
        label_png(root / "images" / "ade" / f"{name}.png", labels)
    images = ["ade/img0.jpg", "ade/img1.jpg", "ade/img2.jpg", "ade/img3.jpg", "ade/img4.jpg"]
    for image in images:
        Image.fromarray(random_image(rng, 16, 16)).save(root / "images" / image, "JPEG")
    entries = [  # color, object, part, material, scene, texture
        ["ade/color0.png", "ade/obj0.png", "ade/part0a.png;ade/part0b.png", "", "8", ""],
        ["", "", "", "", "", "9"],
        ["", "", "", "", "", ""],
        ["", "", "", "ade/mat3.png", "", ""],
        ["", "", "", "ade/wrongsize.png", "", ""],
    ]
    splits = ["train", "val", "train", "val", "val"]
    write_csv(root / "index.csv", ["image", "split", "ih", "iw", "sh", "sw", *CATEGORIES],
              [[im, sp, 16, 16, 8, 8, *e] for im, sp, e in zip(images, splits, entries,
                                                               strict=True)])
    label_category = {1: "color(4)", 2: "color(4)", 3: "object(9)", 4: "part(3)",
                      5: "part(2)", 6: "material(5)", 8: "scene(1)", 9: "texture(1)",
                      300: "object(5);part(9)"}
    labels = [(n, f"label{n}", label_category.get(n, "object(1)"), 1, 0.5, "")
              for n in range(1, NUM_LABELS + 1)]
    write_csv(root / "label.csv", ["number", "name", "category", "frequency", "coverage",
                                   "syns"], labels)
    write_csv(root / "category.csv", ["name", "first", "last", "count", "frequency"],
              [[c, 1, NUM_LABELS, 1, 1] for c in CATEGORIES])
    for category in CATEGORIES:
        members = [n for n, _, spec, *_ in labels if category in spec]
        write_csv(root / f"c_{category}.csv", ["code", "number", "name", "frequency",
                                               "coverage"],
                  [[code, n, f"label{n}", 1, 0.5] for code, n in enumerate(members, start=1)])
    truth = {
        "ade/img0.jpg": {"color": [maps["color0"]], "object": [maps["obj0"]],
                         "part": [maps["part0a"], maps["part0b"]], "scene": [8]},
        "ade/img1.jpg": {"texture": [9]},
        "ade/img3.jpg": {"material": [maps["mat3"]]},
    }
    return root, truth


# -- an in-memory source ------------------------------------------------------------------------


class ArraySource(RowSource):
    """Stand-in for a decoding source: row i is ``{"x": values[i], "y": i}``; rows in ``bad``
    raise BadRecordError; every read is recorded in ``reads``."""

    def __init__(self, values, bad=(), strict=False):
        self.values, self.bad, self.strict = np.asarray(values), set(bad), strict
        self.fields = {"x": Field(self.values.shape[1:], str(self.values.dtype)),
                       "y": Field((), "int32")}
        self.description = "array source"
        self.reads = []

    def __len__(self):
        return len(self.values)

    def row_name(self, index):
        return f"row-{index}.bin"

    def read_row(self, index):
        self.reads.append(index)
        if index in self.bad:
            raise BadRecordError(self.row_name(index), "corrupt on purpose")
        return {"x": self.values[index], "y": np.int32(index)}

    def identity(self):
        return {"kind": "array", "sum": float(self.values.sum()), "n": len(self.values)}


@pytest.fixture
def array_source():
    return ArraySource
