"""Images from tensorflow-datasets, read without TensorFlow.

``places365_small`` (validation split: the classifier probe set of the published runs) and
``lsun/<scene>`` (real images to compare with generated ones) are read through
``tfds.data_source`` (random access over ArrayRecord files, no TensorFlow), then preprocessed
exactly like image folders (squash to ``resize``, centre crop ``crop``, uint8).

The data set must already be prepared in ``data_dir`` in the ArrayRecord format; this module
never downloads (``download=False``) and says which ``tfds build`` command prepares it.
"""

from __future__ import annotations

import os

import numpy as np

from jaxdissect.data.preprocess import ImagePreprocess, image_from_array
from jaxdissect.data.skipped import BadRecordError
from jaxdissect.data.source import Field, RowSource


def open_data_source(name: str, split: str, data_dir: str | None):
    """``tfds.data_source(name, split=split, data_dir=data_dir)`` without downloading.

    Raises FileNotFoundError naming the ``tfds build`` command when the data set is not
    prepared as ArrayRecord in ``data_dir``, ValueError for an unknown data set name.
    """
    import tensorflow_datasets as tfds

    try:
        return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"unknown tfds data set {name!r}; e.g. places365_small or lsun/church_outdoor"
        ) from None
    except Exception as err:  # noqa: BLE001 - tfds reports a missing data set in many ways
        raise FileNotFoundError(_explain_unreadable(name, split, data_dir, err)) from err


def _explain_unreadable(name: str, split: str, data_dir: str | None, err: Exception) -> str:
    import tensorflow_datasets as tfds

    where = data_dir or "the default tfds data_dir ($TFDS_DATA_DIR or ~/tensorflow_datasets)"
    command = (f"tfds build {name}{f' --data_dir={data_dir}' if data_dir else ''} "
               "--file_format=array_record")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        prepared, file_format = builder.is_prepared(), builder.info.file_format
    except Exception:  # noqa: BLE001 - fall back to tfds's own message
        prepared, file_format = None, None
    if prepared is False:
        return (f"tfds data set {name} is not prepared in {where}; prepare it (this step needs "
                f"tensorflow) with: {command}")
    if prepared and "array_record" not in str(file_format).lower():
        return (f"tfds data set {name} is prepared in {where} as {file_format}, which has no "
                f"random access; prepare it again with: {command}")
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (f"cannot read split {split!r} of tfds data set {name} in {where}: {message} "
            f"(a missing data set is prepared with: {command})")


class TfdsImages(RowSource):
    """Rows ``{"image": (crop, crop, 3) uint8[, "label": () int32]}`` of a tfds split.

    ``label`` is present when the data set has a ``label`` feature (places365_small does,
    LSUN does not). Preprocessing options as for :class:`ImageFolder`.
    """

    def __init__(
        self,
        name: str,
        split: str = "validation",
        *,
        data_dir: str | os.PathLike | None = None,
        crop: int | None = 224,
        resize: int | None = 256,
        filter: str = "bilinear",
        strict: bool = False,
    ):
        self.name, self.split = name, split
        self.data_dir = None if data_dir is None else os.path.abspath(os.fspath(data_dir))
        self.preprocess = ImagePreprocess(resize=resize, crop=crop, filter=filter)
        self.data = open_data_source(name, split, self.data_dir)
        if len(self.data) == 0:
            raise ValueError(f"tfds data set {name} split {split!r} is empty")
        info = self.data.dataset_info
        features = list(info.features.keys())
        if "image" not in features:
            raise ValueError(f"tfds data set {name} has no 'image' feature (features: {features})")
        self.full_name = info.full_name
        self.has_label = "label" in features
        self.strict = strict
        self.description = f"tfds {self.full_name} {split}"
        self.fields = {"image": Field(self.preprocess.output_shape, "uint8")}
        if self.has_label:
            self.fields["label"] = Field((), "int32")

    def __len__(self) -> int:
        return len(self.data)

    def row_name(self, index: int) -> str:
        return f"{self.full_name}/{self.split}[{index}]"

    def read_row(self, index: int) -> dict[str, np.ndarray]:
        try:
            record = self.data[index]
            row = {"image": self.preprocess(image_from_array(np.asarray(record["image"])))}
        except Exception as err:  # noqa: BLE001 - any decoder failure means a bad record
            raise BadRecordError(self.row_name(index), f"{type(err).__name__}: {err}") from err
        if self.has_label:
            row["label"] = np.int32(record["label"])
        return row

    def identity(self) -> dict:
        return {
            "kind": "tfds",
            "name": self.full_name,
            "split": self.split,
            "data_dir": str(self.data.dataset_info.data_dir),
            "num_rows": len(self),
            "preprocess": self.preprocess.settings(),
        }
