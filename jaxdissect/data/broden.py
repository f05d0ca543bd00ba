"""The Broden data set (NetDissect 2017) read from its release folder.

A release folder (``broden1_224`` ...) holds ``index.csv`` (one row per image), ``label.csv``,
``category.csv``, ``c_<category>.csv`` and ``images/``. Each category column of ``index.csv``
lists label maps (PNG, label number = ``red + 256 * green``, 0 = none) and whole-image labels
(integers; scene and texture), ``;``-separated. Images with no entry for any requested category
are skipped, as the reference loaders do; dataset index ``i`` is the position among the kept
rows (``index_row(i)`` gives the ``index.csv`` row).

Rows: ``image`` (ih, iw, 3) uint8 at the release size (no resizing), ``seg`` (K, sh, sw) int32
global label numbers, ``has_category`` (C,) bool (the image has an entry for category c, in
the order of ``categories``; the 2017 IoU counts a category's activations on those images only).

Channels: category c owns the fixed block of channels ``channel_offset[c] ..
channel_offset[c] + depth[c] - 1``, ``depth[c]`` being the largest number of entries c has in any
kept row; an image's entries for c fill its block in ``index.csv`` order, whole-image labels
broadcast over the map, unused channels stay 0. K = sum of the depths, and
``channel_categories[k]`` names the category of channel k. (The reference packs entries into
consecutive channels image by image; the set of labels per pixel is the same.)
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from jaxdissect.data.skipped import BadRecordError
from jaxdissect.data.source import Field, RowSource

SIZE_COLUMNS = ("image", "split", "ih", "iw", "sh", "sw")


@dataclass(frozen=True)
class BrodenRow:
    """One ``index.csv`` row: image path, split, sizes and the entries of each category."""

    number: int
    image: str
    split: str
    image_size: tuple[int, int]
    seg_size: tuple[int, int]
    entries: dict[str, tuple[int | str, ...]]


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; a Broden folder holds index.csv, label.csv, "
                                "category.csv, c_<category>.csv and images/")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def parse_index(path: Path) -> tuple[list[BrodenRow], list[str]]:
    """The rows of ``index.csv`` and its category columns (in file order)."""
    rows = read_csv(path)
    columns = list(rows[0]) if rows else []
    missing = [c for c in SIZE_COLUMNS if c not in columns]
    if not rows or missing:
        raise ValueError(f"{path}: expected the columns {', '.join(SIZE_COLUMNS)} and category "
                         f"columns; missing {missing or 'every row'}")
    categories = [c for c in columns if c not in SIZE_COLUMNS]
    parsed = []
    for number, row in enumerate(rows):
        try:
            entries = {c: tuple(_entry(e) for e in (row[c] or "").split(";") if e)
                       for c in categories}
            parsed.append(BrodenRow(number, row["image"], row["split"],
                                    (int(row["ih"]), int(row["iw"])),
                                    (int(row["sh"]), int(row["sw"])), entries))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: cannot read row {number + 2}: {err}") from None
    return parsed, categories


def _entry(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text.strip()


def decode_label_map(path: Path) -> np.ndarray:
    """A Broden label PNG -> (h, w) int32 label numbers ``red + 256 * green``."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), np.int32)
    return rgb[..., 0] + 256 * rgb[..., 1]


class BrodenDataset(RowSource):
    """Images and multi-label segmentations of a Broden release folder (see module doc).

    ``categories``: the categories to load (default: every category column of index.csv);
    ``split``: ``None`` (all), ``"train"`` or ``"val"``; ``strict``: stop at an unreadable file.
    """

    def __init__(self, root: str | os.PathLike, categories=None, split: str | None = None, *,
                 strict: bool = False):
        self.root = Path(root).expanduser().absolute()
        if not self.root.is_dir():
            raise FileNotFoundError(f"Broden folder {self.root} does not exist")
        if not (self.root / "index.csv").is_file():
            raise FileNotFoundError(f"{self.root} is not a Broden folder: no index.csv (expected "
                                    "index.csv, label.csv, category.csv and images/)")
        all_rows, available = parse_index(self.root / "index.csv")
        self.categories = list(available if categories is None else categories)
        unknown = [c for c in self.categories if c not in available]
        if unknown or not self.categories:
            raise ValueError(f"unknown Broden categories {unknown}; index.csv has: "
                             f"{', '.join(available)}")
        if split not in (None, "train", "val"):
            raise ValueError(f"split={split!r}: choose None (all), 'train' or 'val'")
        self.split, self.strict = split, strict
        self.category_info = self._check_tables()
        self.rows = [r for r in all_rows if (split is None or r.split == split)
                     and any(r.entries[c] for c in self.categories)]
        if not self.rows:
            raise ValueError(f"{self.root}: no image of split {split!r} has data for the "
                             f"categories {self.categories}")
        self.image_size, self.seg_size = _common_sizes(self.rows)
        self.depth = {c: max(len(r.entries[c]) for r in self.rows) for c in self.categories}
        self.channel_offset = {c: sum(self.depth[d] for d in self.categories[:i])
                               for i, c in enumerate(self.categories)}
        self.channel_categories = [c for c in self.categories for _ in range(self.depth[c])]
        self.description = f"Broden {self.root.name} ({split or 'all'} split)"
        self.fields = {
            "image": Field((*self.image_size, 3), "uint8"),
            "seg": Field((len(self.channel_categories), *self.seg_size), "int32", "uint16"),
            "has_category": Field((len(self.categories),), "bool"),
        }
        self._identity = None

    def _check_tables(self) -> dict[str, dict[str, str]]:
        """category.csv rows by name; fails early when a table the run needs is missing."""
        info = {r["name"]: r for r in read_csv(self.root / "category.csv")}
        for category in self.categories:
            if category not in info:
                raise ValueError(f"category {category!r} is a column of index.csv but not a row "
                                 f"of {self.root / 'category.csv'}")
            if not (self.root / f"c_{category}.csv").is_file():
                raise FileNotFoundError(f"{self.root / f'c_{category}.csv'} is missing")
        if not (self.root / "label.csv").is_file():
            raise FileNotFoundError(f"{self.root / 'label.csv'} is missing")
        return info

    def __len__(self) -> int:
        return len(self.rows)

    def row_name(self, index: int) -> str:
        return self.rows[index].image

    def index_row(self, index: int) -> int:
        """The ``index.csv`` row number (0-based, header excluded) of dataset index ``index``."""
        return self.rows[index].number

    def path(self, index: int) -> Path:
        return self.root / "images" / self.rows[index].image

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        row = self.rows[index]
        try:
            with Image.open(self.path(index)) as image:
                pixels = np.asarray(image.convert("RGB"), np.uint8)
            if pixels.shape[:2] != self.image_size:
                raise ValueError(f"image is {pixels.shape[:2]}, index.csv says {self.image_size}")
            seg = self._segmentation(row)
        except Exception as err:  # noqa: BLE001 - any decoder failure means a bad row
            raise BadRecordError(row.image, f"{type(err).__name__}: {err}") from err
        has = np.asarray([bool(row.entries[c]) for c in self.categories], bool)
        return {"image": pixels, "seg": seg, "has_category": has}

    def _segmentation(self, row: BrodenRow) -> np.ndarray:
        seg = np.zeros((len(self.channel_categories), *self.seg_size), np.int32)
        for category in self.categories:
            for depth, entry in enumerate(row.entries[category]):
                channel = self.channel_offset[category] + depth
                if isinstance(entry, int):
                    seg[channel] = entry
                    continue
                labels = decode_label_map(self.root / "images" / entry)
                if labels.shape != self.seg_size:
                    raise ValueError(f"label map {entry} is {labels.shape}, expected "
                                     f"{self.seg_size}")
                seg[channel] = labels
        return seg

    def identity(self) -> dict:
        if self._identity is None:
            listing = hashlib.sha256()
            for name in ("index.csv", "label.csv"):
                listing.update((self.root / name).read_bytes())
            for row in self.rows:
                files = [row.image] + [e for c in self.categories for e in row.entries[c]
                                       if isinstance(e, str)]
                for file in files:
                    listing.update(_stat_line(self.root / "images", file).encode())
            self._identity = {"kind": "broden", "root": str(self.root), "split": self.split,
                              "categories": self.categories, "files_sha256": listing.hexdigest()}
        return self._identity

    # -- the label vocabulary -----------------------------------------------------------------

    def label_rows(self) -> list[tuple[int, str, str]]:
        """``(number, name, category string)`` of label.csv, e.g. ``(7, "wood",
        "material(12);object(3)")``; label 0 (none) excluded."""
        rows = read_csv(self.root / "label.csv")
        return [(int(r["number"]), r["name"], r["category"]) for r in rows if int(r["number"])]

    def vocabulary(self):
        """The labels as a ``jaxdissect.concepts.ConceptVocabulary`` (number, name,
        primary category = the largest count in label.csv's ``object(123);part(4)``)."""
        from jaxdissect.concepts import ConceptVocabulary

        return ConceptVocabulary.from_rows(self.label_rows())

    def category_members(self) -> dict[str, np.ndarray]:
        """For each requested category, the global label numbers listed in its
        ``c_<category>.csv`` (int32, sorted): the labels a category's IoU ranks."""
        members = {}
        for category in self.categories:
            rows = read_csv(self.root / f"c_{category}.csv")
            numbers = sorted({int(r["number"]) for r in rows} - {0})
            members[category] = np.asarray(numbers, np.int32)
        return members


def _stat_line(folder: Path, file: str) -> str:
    """``file size mtime`` (a missing file hashes as such; reading it is a bad row)."""
    try:
        stat = os.stat(folder / file)
    except OSError:
        return f"{file}\tmissing\n"
    return f"{file}\t{stat.st_size}\t{stat.st_mtime_ns}\n"


def _common_sizes(rows: list[BrodenRow]) -> tuple[tuple[int, int], tuple[int, int]]:
    first = rows[0]
    for row in rows:
        if (row.image_size, row.seg_size) != (first.image_size, first.seg_size):
            raise ValueError(f"index.csv mixes sizes: {row.image} is {row.image_size} with maps "
                             f"{row.seg_size}, {first.image} is {first.image_size} with maps "
                             f"{first.seg_size}; batches need one size (use one release folder)")
    return first.image_size, first.seg_size
