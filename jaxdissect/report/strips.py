"""Image strips that show what a unit detects: its top images with the unit's mask drawn over them.

For each unit, its top images (ranked by the peak raw activation) are scaled to a thumbnail
height, the unit's raw activation map for each image is upsampled to the thumbnail size with the
dissection's upsampling (``resample.upsample_maps``), and the pixels where it exceeds the unit's
threshold form the mask: kept as they are inside, dimmed outside, with a one-pixel outline just
outside the mask. The thumbnails are joined left to right with a small white gap into
``unit<u>.<fmt>``.

Images may have any size (the activation map is assumed to cover the whole image, as it does for a
squashed, centre-cropped classifier input or a generated image).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from jaxdissect.outputs import write_image
from jaxdissect.report.resample import upsample_maps

DIM_FACTOR = 0.35  # outside the mask a pixel keeps this share of its colour ...
DIM_GREY = 48.0  # ... and takes the rest from this grey level
OUTLINE_RGB = (255, 214, 0)
FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG"}


def strip_filename(unit: int, fmt: str = "jpg") -> str:
    """The file name of a unit's strip: ``unit<u>.<fmt>`` (the name the reference uses)."""
    return f"unit{int(unit)}.{fmt}"


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Pixels outside a boolean ``(H, W)`` mask that touch it (4-neighbourhood): bool ``(H, W)``."""
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:-1, :] |= mask[1:, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown & ~mask


def thumbnail_size(image_hw: tuple[int, int], thumb_height: int) -> tuple[int, int]:
    """``(H, W)`` of a thumbnail ``thumb_height`` high that keeps the image's aspect ratio."""
    height, width = image_hw
    return thumb_height, max(1, round(width * thumb_height / height))


def masked_thumbnail(
    image: np.ndarray,
    act_map: np.ndarray,
    threshold: float,
    thumb_height: int = 100,
    mode: str = "pnas2020",
) -> np.ndarray:
    """One thumbnail with a unit's mask drawn over it.

    Args:
      image: ``(H, W, 3)`` uint8 RGB, any size.
      act_map: ``(h, w)`` raw activation of the unit on this image (before upsampling).
      threshold: the unit's threshold; the mask is ``upsampled activation > threshold`` (strict).
      thumb_height: thumbnail height in pixels; the width keeps the aspect ratio.
      mode: upsampling definition, ``"pnas2020"`` or ``"bilinear"`` (see ``resample``).

    Returns:
      ``(thumb_height, W', 3)`` uint8.
    """
    dimmed, outline = dimmed_thumbnail(image, act_map, threshold, thumb_height, mode)
    dimmed[outline] = OUTLINE_RGB
    return dimmed


def dimmed_thumbnail(image: np.ndarray, act_map: np.ndarray, threshold: float,
                     thumb_height: int = 100, mode: str = "pnas2020"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`masked_thumbnail` without the outline, and the outline: (uint8 ``(H', W', 3)``,
    bool ``(H', W')``)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    act_map = np.asarray(act_map, dtype=np.float32)
    if act_map.ndim != 2:
        raise ValueError(f"expected an (h, w) activation map, got shape {act_map.shape}")
    thumb = _resized(image, thumb_height).astype(np.float32)
    mask = upsample_maps(act_map, thumb.shape[:2], mode) > np.float32(threshold)
    out = np.where(mask[..., None], thumb, DIM_FACTOR * thumb + (1.0 - DIM_FACTOR) * DIM_GREY)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask_outline(mask)


def join_strip(thumbs: Sequence[np.ndarray], gap: int = 3) -> np.ndarray:
    """Thumbnails ``(H, W_i, 3)`` side by side with white gaps: ``(H, sum W_i + gaps, 3)``."""
    height = thumbs[0].shape[0]
    width = sum(t.shape[1] for t in thumbs) + gap * (len(thumbs) - 1)
    strip = np.full((height, width, 3), 255, dtype=np.uint8)
    left = 0
    for thumb in thumbs:
        strip[:, left : left + thumb.shape[1]] = thumb
        left += thumb.shape[1] + gap
    return strip


def render_unit_strips(
    images: np.ndarray | Sequence[Sequence[np.ndarray]],
    act_maps: np.ndarray | Sequence[Sequence[np.ndarray]],
    thresholds: np.ndarray | Sequence[float],
    out_dir: str | Path,
    *,
    units: Sequence[int] | None = None,
    count: int = 5,
    thumb_height: int = 100,
    mode: str = "pnas2020",
    fmt: str = "jpg",
    quality: int = 90,
) -> list[Path]:
    """Write one image strip per unit: its top ``count`` images with the unit's mask over them.

    Args:
      images: per unit, its top images, best first: a uint8 array ``(U, K, H, W, 3)``, or a sequence
        of ``U`` sequences of ``(H_k, W_k, 3)`` uint8 arrays (sizes may differ).
      act_maps: per unit, its raw activation maps on those images: ``(U, K, h, w)`` float, or nested
        sequences of ``(h, w)`` arrays; ``act_maps[i][k]`` belongs to ``images[i][k]``.
      thresholds: ``(U,)`` float, each unit's threshold t_u.
      out_dir: folder for the strips (created); the layer pages look in ``<layer dir>/image``.
      units: ``(U,)`` unit numbers used in the file names (default ``0 .. U-1``), so that a
        caller can render a large layer in chunks of units.
      count: at most this many images per strip (the first ``count`` of the K given).
      thumb_height: thumbnail height in pixels.
      mode: ``"pnas2020"`` (presets pnas2020, netdissect2017) or ``"bilinear"`` (netdissect_lite).
      fmt: ``"jpg"`` or ``"png"``.
      quality: JPEG quality.

    Returns:
      The written paths, one per unit, named ``unit<u>.<fmt>``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown strip format {fmt!r}; choose one of {', '.join(FORMATS)}")
    thresholds = np.asarray(thresholds, dtype=np.float32).reshape(-1)
    units = list(range(len(thresholds))) if units is None else [int(u) for u in units]
    if not len(images) == len(act_maps) == len(thresholds) == len(units):
        raise ValueError(
            f"images, act_maps, thresholds and units must have one entry per unit; got "
            f"{len(images)}, {len(act_maps)}, {len(thresholds)}, {len(units)}"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for unit, unit_images, unit_maps, threshold in zip(
        units, images, act_maps, thresholds, strict=True
    ):
        shown = min(count, len(unit_images), len(unit_maps))
        if shown == 0:
            raise ValueError(f"unit {unit} has no top images to show")
        thumbs = [
            masked_thumbnail(unit_images[k], unit_maps[k], float(threshold), thumb_height, mode)
            for k in range(shown)
        ]
        path = out_dir / strip_filename(unit, fmt)
        options = {"quality": quality} if FORMATS[fmt] == "JPEG" else {}
        picture = Image.fromarray(join_strip(thumbs))
        write_image(path, picture, FORMATS[fmt], **options)
        paths.append(path)
    return paths


GALLERY_COLUMNS = 5


def gallery_filenames(unit: int) -> tuple[str, str]:
    """The files of a unit's gallery: the masked top images (JPEG) and their outlines (PNG)."""
    return f"unit{int(unit)}_top.jpg", f"unit{int(unit)}_outline.png"


def _grid(tiles: Sequence[np.ndarray], columns: int, gap: int, fill) -> np.ndarray:
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.empty((rows * height + gap * (rows - 1), min(columns, len(tiles)) * width
                     + gap * (min(columns, len(tiles)) - 1), *tiles[0].shape[2:]),
                    tiles[0].dtype)
    grid[...] = fill
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        grid[r * (height + gap):r * (height + gap) + height,
             c * (width + gap):c * (width + gap) + width] = tile
    return grid


def render_unit_galleries(images, act_maps, thresholds, out_dir: str | Path, *,
                          units: Sequence[int] | None = None, count: int = 20,
                          thumb_height: int = 112, mode: str = "pnas2020",
                          quality: int = 88) -> list[Path]:
    """Each unit's top ``count`` images in a grid of ``GALLERY_COLUMNS`` columns, as the
    published pages show them: outside the unit's mask dimmed (``unit<u>_top.jpg``), and the
    mask's outline as a separate transparent overlay (``unit<u>_outline.png``, same size, two
    palette colours) that the unit page can switch off. Arguments as :func:`render_unit_strips`
    (images of one unit must share a size). Returns the JPEG paths.

    Cost: the masks of a unit's images are upsampled in one matrix product; images already
    ``thumb_height`` high are not resized (give small images their own height and let the page
    enlarge them)."""
    thresholds = np.asarray(thresholds, dtype=np.float32).reshape(-1)
    units = list(range(len(thresholds))) if units is None else [int(u) for u in units]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for unit, unit_images, unit_maps, threshold in zip(units, images, act_maps, thresholds,
                                                       strict=True):
        shown = min(count, len(unit_images), len(unit_maps))
        thumbs = np.stack([_resized(np.asarray(unit_images[k]), thumb_height)
                           for k in range(shown)]).astype(np.float32)
        maps = np.stack([np.asarray(unit_maps[k], np.float32) for k in range(shown)])
        masks = upsample_maps(maps, thumbs.shape[1:3], mode) > np.float32(threshold)
        dimmed = np.where(masks[..., None], thumbs,
                          DIM_FACTOR * thumbs + (1.0 - DIM_FACTOR) * DIM_GREY)
        picture = _grid(np.clip(np.rint(dimmed), 0, 255).astype(np.uint8), GALLERY_COLUMNS, 3,
                        255)
        outline = _grid(np.stack([mask_outline(m) for m in masks]), GALLERY_COLUMNS, 3, False)
        overlay = Image.fromarray(outline.astype(np.uint8), "P")
        overlay.putpalette([0, 0, 0, *OUTLINE_RGB])
        top, lines = gallery_filenames(unit)
        image = Image.fromarray(picture)
        write_image(out_dir / top, image, "JPEG", quality=quality)
        write_image(out_dir / lines, overlay, "PNG", transparency=0, compress_level=6)
        paths.append(out_dir / top)
    return paths


def _resized(image: np.ndarray, height: int) -> np.ndarray:
    size = thumbnail_size(image.shape[:2], height)
    if size == image.shape[:2]:
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]),
                                                    Image.Resampling.LANCZOS))
