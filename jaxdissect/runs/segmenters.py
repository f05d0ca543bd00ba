"""Where a dissection's concept labels come from: the data, or a segmenter run on the device.

``open_labeller(choice, model, source)`` with ``choice``

* ``"data"``: the ``seg`` arrays of the batches (Broden's label maps, the world's exact
  segmentations) and the source's vocabulary; generated images have none;
* ``"world"``: the shipped world segmenter (:mod:`jaxdissect.world`), 4 channels (object,
  material, part, colour) at half its input size; images smaller than 64 px are first enlarged
  (nearest) to 64, as the world generator's 32 px outputs are when the generator is trained;
* a folder: a converted UPerNet (``upernet50``; with ``colornet``, a converted colour model)
  for the published merged segmenter, 6 channels at a quarter of the image size; or a world
  segmenter folder (``world_segmenter``).

A :class:`Labeller`'s ``labels(batch, rgb)`` runs inside the dissection's jitted step, so the
model and the segmenter see each image once. Its metadata is checked before any compute: the
segmenter's heads must match the vocabulary its labels are read with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxdissect.checkpoint import load, read_meta
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.data.source import RowSource
from jaxdissect.runs.models import StudiedModel, to_uint8
from jaxdissect.runs.runkey import model_identity

WORLD_INPUT = 64


@dataclass(frozen=True)
class Labeller:
    """``segment`` maps float32 RGB in [-1, 1] (B, H, W, 3) to int32 (B, K, h, w) labels of
    ``vocabulary`` (None: the labels are the batch's ``seg``)."""

    kind: str
    vocabulary: ConceptVocabulary
    identity: dict
    segment: Callable[[jax.Array], jax.Array] | None = None

    def labels(self, batch: dict, rgb: jax.Array) -> jax.Array:
        return batch["seg"] if self.segment is None else self.segment(rgb)


def _data_labeller(model: StudiedModel, source: RowSource) -> Labeller:
    if model.kind == "generator":
        raise ValueError("generated images have no segmentations in the data; give a "
                         "segmenter: --segmenter world or a converted segmenter folder")
    if "seg" not in source.fields:
        raise ValueError(f"{source.description} has no segmentations; give a segmenter: "
                         "--segmenter world or a converted segmenter folder")
    vocabulary = getattr(source, "vocabulary", None)
    if vocabulary is None:
        raise ValueError(f"{source.description} does not name its concepts; give a segmenter")
    vocab = vocabulary()
    return Labeller("data", vocab, {"kind": "data", "num_concepts": vocab.num_concepts})


def world_labeller(folder: str | Path | None, image_size: int) -> Labeller:
    """The world segmenter (shipped, or the folder given) for images of ``image_size``."""
    from jaxdissect.world.assets import asset_path
    from jaxdissect.world.models import WorldSegmenter  # noqa: F401 (registers the arch)
    from jaxdissect.world.segment import segment
    from jaxdissect.world.vocabulary import world_vocabulary

    folder = asset_path("segmenter") if folder is None else Path(folder)
    net = load(folder)
    if image_size < WORLD_INPUT and WORLD_INPUT % image_size == 0:
        factor = WORLD_INPUT // image_size
    elif image_size % 8 == 0:
        factor = 1
    else:
        raise ValueError(f"the world segmenter reads images whose side is a multiple of 8 (or "
                         f"divides {WORLD_INPUT}); these are {image_size} px")

    def fn(rgb):
        images = to_uint8(rgb)
        if factor > 1:
            images = jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)
        return segment(net.module, net.params, images)

    identity = {"kind": "world_segmenter", "upsample": factor,
                "model": model_identity(dict(net.meta), net.params, "float32")}
    return Labeller("world", world_vocabulary(), identity, jax.jit(fn))


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


def published_labeller(folder: str, colornet: str | None, image_size: int,
                       color_none_concept: bool = False) -> Labeller:
    """The published UPerNet (+ colour) merged segmenter from converted folders;
    ``color_none_concept`` makes the colour model's "none" a concept, as the reference does."""
    from jaxdissect.models.segmenter.segment import published_segmenter

    check_published_meta(read_meta(folder), read_meta(colornet) if colornet else None)
    upernet, color = load(folder), load(colornet) if colornet else None
    segmenter = published_segmenter(upernet, color, image_size=(image_size, image_size),
                                    color_none_concept=color_none_concept)
    identity = {"kind": "published",
                "upernet": model_identity(dict(upernet.meta), upernet.params, "float32"),
                "colornet": None if color is None else model_identity(
                    dict(color.meta), color.params, "float32")}
    if color_none_concept:  # only when set: the keys of earlier runs stay valid
        identity["color_none_concept"] = True
    return Labeller("published", segmenter.vocabulary, identity, segmenter.fn)


def open_labeller(choice: str, model: StudiedModel, source: RowSource,
                  colornet: str | None = None, color_none_concept: bool = False) -> Labeller:
    """The labeller for ``--segmenter CHOICE`` (see the module docstring)."""
    if color_none_concept and colornet is None:
        raise ValueError("--color-none-concept goes with --colornet (a converted colour model)")
    if colornet is not None and choice in ("data", "world"):
        raise ValueError(f"--colornet goes with a converted UPerNet folder, not --segmenter "
                         f"{choice}")
    if choice == "data":
        return _data_labeller(model, source)
    size = model.image_size()
    if choice == "world":
        return world_labeller(None, size)
    if not Path(choice).is_dir():
        raise FileNotFoundError(f"segmenter folder {choice} not found; use data, world or a "
                                "converted segmenter folder")
    arch = read_meta(choice)["arch"]
    if arch == "world_segmenter":
        if colornet is not None:
            raise ValueError("--colornet goes with a converted UPerNet folder, not a world "
                             "segmenter")
        return world_labeller(choice, size)
    if arch == "upernet50":
        return published_labeller(choice, colornet, size, color_none_concept)
    raise ValueError(f"{choice} holds a {arch} model, not a segmenter; give a converted UPerNet "
                     "(upernet50) or world segmenter folder")
