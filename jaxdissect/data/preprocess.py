"""Image preprocessing of the published runs, on the host, to uint8.

The reference classifiers were dissected with torchvision ``Resize((256, 256))`` then
``CenterCrop(224)`` (227 for AlexNet) on PIL images. On a PIL image torchvision's ``Resize``
calls ``PIL.Image.resize(..., BILINEAR)``, and PIL's bilinear filter widens its support when it
shrinks (so it antialiases when downscaling). :class:`ImagePreprocess` does exactly that with
PIL: RGB, squash (not aspect-preserving) to ``resize`` x ``resize``, centre crop ``crop``, with
torchvision's crop offset ``round((size - crop) / 2)`` (Python rounding: 14 for 256 -> 227).

Output stays uint8 RGB: normalisation to float happens on the device (see
``jaxdissect.models.base.Normalization``), so host-to-device transfers are 4x smaller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

FILTERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
}


@dataclass(frozen=True)
class ImagePreprocess:
    """RGB -> squash-resize to ``resize`` x ``resize`` -> centre crop ``crop`` x ``crop``.

    ``resize=None`` keeps the decoded size (then every image must be at least ``crop``);
    ``crop=None`` skips the crop. ``filter`` names the PIL resampling filter.
    """

    resize: int | None = 256
    crop: int | None = 224
    filter: str = "bilinear"

    def __post_init__(self):
        if self.filter not in FILTERS:
            raise ValueError(f"filter={self.filter!r}: choose one of {', '.join(FILTERS)}")
        for name in ("resize", "crop"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r}: give a positive pixel count or None")
        if self.resize is None and self.crop is None:
            raise ValueError("give resize= or crop= (or both): batches need one image size")
        if self.resize is not None and self.crop is not None and self.crop > self.resize:
            raise ValueError(f"crop={self.crop} is larger than resize={self.resize}")

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of every preprocessed image."""
        side = self.crop if self.crop is not None else self.resize
        return (side, side, 3)

    def settings(self) -> dict:
        """The settings as a JSON-ready dict (part of cache keys)."""
        return {"resize": self.resize, "crop": self.crop, "filter": self.filter}

    def __call__(self, image: Image.Image) -> np.ndarray:
        """A PIL image (any mode, any size) -> (H, W, 3) uint8 RGB."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if self.resize is not None and image.size != (self.resize, self.resize):
            image = image.resize((self.resize, self.resize), FILTERS[self.filter])
        if self.crop is not None:
            image = center_crop(image, self.crop)
        return np.asarray(image, dtype=np.uint8)


def center_crop(image: Image.Image, crop: int) -> Image.Image:
    """torchvision's ``CenterCrop(crop)`` for an image at least ``crop`` on each side."""
    width, height = image.size
    if width < crop or height < crop:
        raise ValueError(f"image {width}x{height} is smaller than the crop {crop}; set resize=")
    top = int(round((height - crop) / 2.0))
    left = int(round((width - crop) / 2.0))
    return image.crop((left, top, left + crop, top + crop))


def read_image(path: str) -> Image.Image:
    """Open and fully decode an image file (errors surface here, not later)."""
    with Image.open(path) as image:
        image.load()
        return image.convert("RGB")


def image_from_array(array: np.ndarray) -> Image.Image:
    """(H, W, 3) or (H, W) or (H, W, 1) uint8 -> PIL image."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 image data, got {array.dtype}")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    return Image.fromarray(array)
