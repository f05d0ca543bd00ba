"""Before/after pictures of GAN interventions: saved as image rows, shown under the plots.

An experiment that changes a generator's units saves what it did to a few generated scenes
(:mod:`jaxdissect.interventions.pictures` makes them) into a folder beside its JSON, and records
them in the JSON under ``pictures`` (file names relative to the JSON's folder)::

    "pictures": {"kind": "removal", "rows": [
        {"name": "original", "title": "generated", "file": "x/original.png", "pixels": [..]},
        {"name": "concept", "title": "6 cloud units removed", "file": ..., "pixels": [..]},
        {"name": "random", "title": "6 random units removed", "file": ..., "pixels": [..]}]}

    "pictures": {"kind": "insertion", "contexts": [
        {"label": "sky", "before": "x/sky_before.png", "after": "x/sky_after.png",
         "new_pixels": [..]}]}

Each file is one row of pictures side by side (white gaps), scaled to a readable height; in
insertion rows the edited cell is outlined in both pictures. :func:`pictures_html` draws them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from jaxdissect.outputs import write_image
from jaxdissect.report.strips import join_strip
from jaxdissect.report.svg import escape

ROW_HEIGHT = 112
CELL_RGB = (255, 214, 0)


def display_size(image_hw: tuple[int, int], height: int = ROW_HEIGHT) -> tuple[int, int]:
    """(H, W) shown: small images enlarged by a whole factor to at least ``height``, large
    ones reduced to ``height``."""
    h, w = image_hw
    if h < height:
        factor = math.ceil(height / h)
        return h * factor, w * factor
    return height, max(1, round(w * height / h))


def scaled(image: np.ndarray, height: int = ROW_HEIGHT) -> np.ndarray:
    size = display_size(image.shape[:2], height)
    if size == image.shape[:2]:
        return image
    small = size[0] > image.shape[0]
    method = Image.Resampling.NEAREST if small else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), method))


def mark_cell(image: np.ndarray, cell: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) with the feature-map cell ``cell`` of an ``grid`` map
    outlined (2 pixels, inside the cell's span)."""
    out = image.copy()
    height, width = image.shape[:2]
    r0, r1 = cell[0] * height // grid[0], max((cell[0] + 1) * height // grid[0], 1)
    c0, c1 = cell[1] * width // grid[1], max((cell[1] + 1) * width // grid[1], 1)
    t = max(1, min(2, (r1 - r0) // 4))
    for rows, cols in (((r0, r0 + t), (c0, c1)), ((r1 - t, r1), (c0, c1)),
                       ((r0, r1), (c0, c0 + t)), ((r0, r1), (c1 - t, c1))):
        out[rows[0]:rows[1], cols[0]:cols[1]] = CELL_RGB
    return out


def _save_row(images: Sequence[np.ndarray], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(join_strip([scaled(np.asarray(im)) for im in images], gap=4))
    write_image(path, picture, "PNG", optimize=True)


def save_removal_pictures(folder: Path, relative_to: Path, made: dict, concept: str,
                          count: int) -> dict:
    """Write the rows of :func:`~jaxdissect.interventions.pictures.removal_pictures` into
    ``folder``; returns the ``pictures`` entry (paths relative to ``relative_to``)."""
    titles = {"original": "generated", "concept": f"{count} {concept} units removed",
              "random": f"{count} random units removed"}
    rows = []
    for name, images in made["images"].items():
        path = folder / f"{name}.png"
        _save_row(list(images), path)
        rows.append({"name": name, "title": titles.get(name, name),
                     "file": path.relative_to(relative_to).as_posix(),
                     "pixels": list(made["pixels"][name])})
    return {"kind": "removal", "concept": concept, "samples": made["samples"], "rows": rows}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "none"


def save_insertion_pictures(folder: Path, relative_to: Path, pairs: list[dict],
                            label_names: Sequence[str], concept: str) -> dict:
    """Write the pairs of :func:`~jaxdissect.interventions.pictures.insertion_pictures`, one
    row of ``before`` and one of ``after`` per context label, the cell outlined; returns the
    ``pictures`` entry."""
    contexts = []
    for label in dict.fromkeys(p["label"] for p in pairs):
        group = [p for p in pairs if p["label"] == label]
        name = label_names[label] if label < len(label_names) else str(label)
        entry = {"label": name, "new_pixels": [p["new_pixels"] for p in group],
                 "samples": [p["sample"] for p in group],
                 "cells": [list(p["cell"]) for p in group]}
        for side in ("before", "after"):
            path = folder / f"{_slug(name)}_{side}.png"
            _save_row([mark_cell(scaled(p[side]), p["cell"], p["grid"]) for p in group], path)
            entry[side] = path.relative_to(relative_to).as_posix()
        contexts.append(entry)
    return {"kind": "insertion", "concept": concept, "contexts": contexts}


def pictures_html(pictures: dict | None, prefix: str = "") -> str:
    """The rows of a ``pictures`` entry as HTML (``prefix``: the JSON's folder, relative to the
    page, ending in ``/``); empty without pictures."""
    if not pictures:
        return ""
    rows = []
    if pictures.get("kind") == "removal":
        concept = pictures.get("concept", "concept")
        for row in pictures.get("rows", []):
            pixels = row.get("pixels") or []
            note = (f"{concept} pixels: {sum(pixels):,}" if pixels else "")
            rows.append(_row(row["title"], prefix + row["file"], note))
        lead = (f"The generated scenes that show {escape(concept)} most, and the same latents "
                "with units removed.")
    else:
        concept = pictures.get("concept", "concept")
        for context in pictures.get("contexts", []):
            new = context.get("new_pixels") or []
            rows.append(_row(f"at {context['label']}: before", prefix + context["before"], ""))
            rows.append(_row("after inserting", prefix + context["after"],
                             f"new {concept} pixels: " + ", ".join(str(n) for n in new)))
        lead = (f"{escape(concept)} units inserted at one cell (outlined), in places the scene "
                "shows as each context.")
    return (f"<div class=\"pictures\"><p class=\"note\">{lead}</p>{''.join(rows)}</div>")


def _row(title: str, src: str, note: str) -> str:
    return (f"<div class=\"picture-row\"><span class=\"picture-title\">{escape(title)}</span>"
            f"<img src=\"{escape(src)}\" alt=\"{escape(title)}\">"
            f"<span class=\"picture-note\">{escape(note)}</span></div>")
