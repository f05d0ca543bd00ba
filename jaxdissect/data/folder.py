"""Images from a folder tree: ``root/<class>/<image>``, preprocessed like the published runs.

Files with the extensions jpg, jpeg, png, bmp or webp (any case) are found recursively and sorted
by relative path; hidden files and folders (names starting with ``.``) are ignored, so a cache
folder may live inside ``root``. The class of an image is its parent folder relative to ``root``
(``"."`` for files directly in ``root``); classes are numbered in sorted order. An optional
``shuffle_seed`` permutes the sorted list once, reproducibly. Dataset index ``i`` is the
position in that (possibly shuffled) list and never changes for a given folder state.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from jaxdissect.data.preprocess import ImagePreprocess, read_image
from jaxdissect.data.skipped import BadRecordError
from jaxdissect.data.source import Field, RowSource

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def scan_images(root: Path) -> list[tuple[str, int, int]]:
    """``(relative path, size in bytes, mtime in ns)`` of every image under ``root``, sorted."""
    found = []
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in filenames:
            if filename.startswith(".") or not filename.lower().endswith(IMAGE_EXTENSIONS):
                continue
            path = os.path.join(folder, filename)
            stat = os.stat(path)
            found.append((os.path.relpath(path, root), stat.st_size, stat.st_mtime_ns))
    found.sort()
    return found


class ImageFolder(RowSource):
    """Rows ``{"image": (crop, crop, 3) uint8, "label": () int32}`` from an image folder.

    ``resize``: squash every image to ``resize`` x ``resize`` (PIL ``filter``, bilinear by
    default) before the centre crop of ``crop`` (224; 227 for AlexNet). ``size`` is accepted as
    another name for ``crop``. ``strict=True`` stops at the first unreadable image.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        crop: int | None = 224,
        resize: int | None = 256,
        *,
        size: int | None = None,
        filter: str = "bilinear",
        shuffle_seed: int | None = None,
        strict: bool = False,
    ):
        if size is not None and crop not in (None, 224, size):
            raise ValueError(f"size={size} and crop={crop} disagree; give only crop=")
        crop = size if size is not None else crop
        self.preprocess = ImagePreprocess(resize=resize, crop=crop, filter=filter)
        self.root = Path(root).expanduser().absolute()
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist (or is not a folder)")
        files = scan_images(self.root)
        if not files:
            raise ValueError(
                f"image folder {self.root} holds no images with the extensions "
                f"{', '.join(IMAGE_EXTENSIONS)} (any case)"
            )
        if shuffle_seed is not None:
            order = np.random.default_rng(shuffle_seed).permutation(len(files))
            files = [files[i] for i in order]
        self.files = files
        self.shuffle_seed = shuffle_seed
        self.strict = strict
        self.classes = sorted({_class_of(rel) for rel, _, _ in files})
        class_ids = {name: number for number, name in enumerate(self.classes)}
        self.labels = np.asarray([class_ids[_class_of(rel)] for rel, _, _ in files], np.int32)
        self.description = f"image folder {self.root}"
        self.fields = {
            "image": Field(self.preprocess.output_shape, "uint8"),
            "label": Field((), "int32"),
        }

    def __len__(self) -> int:
        return len(self.files)

    def row_name(self, index: int) -> str:
        return self.files[index][0]

    def path(self, index: int) -> Path:
        """The absolute path of the image at dataset index ``index``."""
        return self.root / self.files[index][0]

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        try:
            image = self.preprocess(read_image(str(self.path(index))))
        except Exception as err:  # noqa: BLE001 - any decoder failure means a bad file
            raise BadRecordError(self.row_name(index), f"{type(err).__name__}: {err}") from err
        return {"image": image, "label": self.labels[index]}

    def identity(self) -> dict:
        listing = "\n".join(f"{rel}\t{size}\t{mtime}" for rel, size, mtime in self.files)
        return {
            "kind": "folder",
            "root": str(self.root),
            "num_files": len(self.files),
            "files_sha256": hashlib.sha256(listing.encode()).hexdigest(),
            "shuffle_seed": self.shuffle_seed,
            "preprocess": self.preprocess.settings(),
        }


def _class_of(relative_path: str) -> str:
    parent = os.path.dirname(relative_path)
    return parent.replace(os.sep, "/") if parent else "."
