"""Segmenters by their spec: ``open_segmenter(spec, image_size=...)`` -> a
:class:`~jaxdissect.models.segmenter.segment.Segmenter`.

``spec`` is

* ``"world"``: the shipped world segmenter (:mod:`jaxdissect.world`), 4 channels (object,
  material, part, colour) at half its input size; images smaller than 64 px are first enlarged
  (nearest) to 64, as the world generator's 32 px outputs are when the generator is trained;
* a folder: a converted UPerNet (``upernet50``; with ``colornet``, a converted colour model)
  for the published merged segmenter, 6 channels at a quarter of the image size; or a world
  segmenter folder (``world_segmenter``).

The data's own segmentations (``--segmenter data``) are no segmenter: the library spells them
``segmenter=None`` (see :func:`jaxdissect.runs.model_dissection.plan_dissection`). Each
segmenter's ``identity`` names its checkpoints by content, so a copied folder reuses results.
Metadata is checked before any compute: the segmenter's heads must match the vocabulary its
labels are read with.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp

from jaxdissect.checkpoint import load, read_meta
from jaxdissect.models.segmenter.segment import Segmenter, published_segmenter
from jaxdissect.runs.models import to_uint8
from jaxdissect.runs.runkey import model_identity

WORLD_INPUT = 64
SPECS = "world, a converted UPerNet folder or a world segmenter folder"


def _square_side(image_size: int | tuple[int, int]) -> int:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or size[0] != size[1]:
        raise ValueError(f"the segmenters read square images; these are {size}")
    return int(size[0])


def world_segmenter(folder: str | Path | None, image_size: int | tuple[int, int]) -> Segmenter:
    """The world segmenter (shipped, or the folder given) for images of ``image_size``."""
    from jaxdissect.world.assets import asset_path
    from jaxdissect.world.models import WorldSegmenter  # noqa: F401 (registers the arch)
    from jaxdissect.world.segment import segment
    from jaxdissect.world.vocabulary import world_vocabulary

    side = _square_side(image_size)
    folder = asset_path("segmenter") if folder is None else Path(folder)
    net = load(folder)
    if side < WORLD_INPUT and WORLD_INPUT % side == 0:
        factor = WORLD_INPUT // side
    elif side % 8 == 0:
        factor = 1
    else:
        raise ValueError(f"the world segmenter reads images whose side is a multiple of 8 (or "
                         f"divides {WORLD_INPUT}); these are {side} px")

    def fn(rgb):
        images = to_uint8(rgb)
        if factor > 1:
            images = jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)
        return segment(net.module, net.params, images)

    identity = {"kind": "world_segmenter", "upsample": factor,
                "model": model_identity(dict(net.meta), net.params, "float32")}
    return Segmenter(jax.jit(fn), world_vocabulary(), identity)


def check_published_meta(upernet: dict, colornet: dict | None) -> None:
    """The heads of converted UPerNet / colour folders must match their labels.json."""
    from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels

    labels = UnifiedLabels.from_json(upernet["sizes"]["labels"])
    heads = {"num_objects": len(labels.objects), "num_materials": len(labels.materials),
             "num_parts": labels.num_part_channels}
    wrong = {k: (upernet["sizes"].get(k), v) for k, v in heads.items()
             if upernet["sizes"].get(k) != v}
    if colornet is not None:
        if colornet.get("arch") != "colorseg":
            raise ValueError(f"--colornet is a {colornet.get('arch')} model, not a converted "
                             "colour segmenter (colorseg)")
        colors = ColorLabels.from_json(colornet["sizes"]["labels"])
        if colornet["sizes"].get("num_classes") != len(colors.names):
            wrong["colour classes"] = (colornet["sizes"].get("num_classes"), len(colors.names))
    if wrong:
        detail = ", ".join(f"{k}: heads {a}, labels {b}" for k, (a, b) in wrong.items())
        raise ValueError(f"the segmenter's vocabulary does not match its heads ({detail}); "
                         "convert it again with its own labels.json")


def load_published_segmenter(
    upernet_dir: str | Path,
    color_dir: str | Path | None = None,
    image_size: int | tuple[int, int] = (256, 256),
    dtype=jnp.float32,
    skip_last_component: bool = False,
    color_none_concept: bool = False,
) -> Segmenter:
    """The published UPerNet (+ colour) merged segmenter
    (:func:`~jaxdissect.models.segmenter.segment.published_segmenter`) from converted folders
    (``jaxdissect convert FOLDER DEST --arch upernet50`` / ``--arch colorseg``) for images of
    ``image_size``; ``dtype`` is the networks' compute dtype; ``color_none_concept`` makes the
    colour model's "none" a concept, as the reference does."""
    metas = []
    for folder, arch in ((upernet_dir, "upernet50"), (color_dir, "colorseg")):
        meta = read_meta(folder) if folder is not None else None
        if meta is not None and meta.get("arch") != arch:
            raise ValueError(f"{folder} holds a converted {meta.get('arch')!r} model; "
                             f"expected {arch!r} (convert the segmenter folder with --arch {arch})")
        metas.append(meta)
    check_published_meta(*metas)
    upernet = load(upernet_dir, dtype)
    color = load(color_dir, dtype) if color_dir is not None else None
    name = jnp.dtype(dtype).name
    identity = {"kind": "published",
                "upernet": model_identity(dict(upernet.meta), upernet.params, name),
                "colornet": None if color is None else model_identity(
                    dict(color.meta), color.params, name)}
    # Only when set: the keys of earlier runs stay valid.
    identity.update({k: True for k, v in (("skip_last_component", skip_last_component),
                                          ("color_none_concept", color_none_concept)) if v})
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    return published_segmenter(upernet, color, size, skip_last_component, color_none_concept,
                               identity)


def check_colour_options(labels: str, colornet, color_none_concept: bool) -> None:
    """``colornet`` / ``color_none_concept`` go with a converted UPerNet only; ``labels`` names
    what was given instead (None: a UPerNet)."""
    if color_none_concept and colornet is None:
        raise ValueError("--color-none-concept goes with --colornet (a converted colour model)")
    if colornet is not None and labels is not None:
        raise ValueError(f"--colornet goes with a converted UPerNet folder, not {labels}")


def open_segmenter(spec: str | Path, *, image_size: int | tuple[int, int],
                   colornet: str | Path | None = None,
                   color_none_concept: bool = False) -> Segmenter:
    """The segmenter of ``spec`` (see the module docstring) for RGB images of ``image_size``
    (a side or (H, W)); ``colornet`` / ``color_none_concept`` go with a converted UPerNet."""
    spec = str(spec)
    check_colour_options("--segmenter world" if spec == "world" else None, colornet,
                         color_none_concept)
    if spec == "data":
        raise ValueError("'data' is not a segmenter: the data's own segmentations are "
                         "segmenter=None (--segmenter data) in a dissection; here give " + SPECS)
    if spec == "world":
        return world_segmenter(None, image_size)
    if not Path(spec).is_dir():
        raise FileNotFoundError(f"segmenter folder {spec} not found; give {SPECS}")
    if not (Path(spec) / "meta.json").is_file():
        raise ValueError(f"{spec} is not a converted segmenter folder (no meta.json); give "
                         f"{SPECS} (jaxdissect convert ... --arch upernet50)")
    arch = read_meta(spec).get("arch")
    if arch == "world_segmenter":
        check_colour_options("a world segmenter", colornet, color_none_concept)
        return world_segmenter(spec, image_size)
    if arch == "upernet50":
        return load_published_segmenter(spec, colornet, image_size,
                                        color_none_concept=color_none_concept)
    raise ValueError(f"{spec} holds a {arch} model, not a segmenter; give a converted UPerNet "
                     "(upernet50) or world segmenter folder")
