"""What a dissection needs from a segmenter, and the published UPerNet + colour pipeline as one.

A :class:`Segmenter` is ``fn`` (images -> int label maps), the ``vocabulary`` of its numbers
and the label map ``size``. Plug in your own segmenter by wrapping any function::

    def my_fn(images):                       # (N, H, W, 3) float in [-1, 1]
        return labels                        # (N, K, h, w) int, 0 = none
    seg = Segmenter(my_fn, ConceptVocabulary.from_names(["sky", "tree"]), size=(56, 56))

or precomputed label maps (``Segmenter.from_array``: its ``fn`` takes dataset indices).
:func:`published_segmenter` composes the converted UPerNet and colour models: preprocessing, both
networks, logits resized (bilinear, align_corners=False) to ``H // 4 x W // 4``, and the
merge (:mod:`.merge`), in one jitted function. Only the working size 256 is used (the
reference's default), so the argmax of the logits equals that of the softmax it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.preprocess import WORKING_SIZE, color_input, upernet_input
from jaxdissect.models.segmenter.resize import resize_bilinear
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels, unified_vocabulary


@dataclass(frozen=True)
class Segmenter:
    """``fn(images) -> (N, K, h, w)`` int labels of ``vocabulary``; ``size`` = (h, w)."""

    fn: Callable[[jax.Array], jax.Array]
    vocabulary: ConceptVocabulary
    size: tuple[int, int]

    def __call__(self, inputs) -> jax.Array:
        labels = self.fn(inputs)
        if labels.ndim != 4 or tuple(labels.shape[2:]) != tuple(self.size):
            raise ValueError(f"segmenter returned shape {labels.shape}; expected "
                             f"(N, K, {self.size[0]}, {self.size[1]})")
        return labels

    @classmethod
    def from_array(cls, labels: np.ndarray, vocabulary: ConceptVocabulary) -> Segmenter:
        """Precomputed (num_images, K, h, w) labels; ``fn`` takes dataset indices (N,)."""
        labels = np.asarray(labels)
        if labels.ndim != 4 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"precomputed labels must be integer (num_images, K, h, w), got "
                             f"{labels.dtype} {labels.shape}")
        if labels.size and labels.max() >= vocabulary.num_concepts:
            raise ValueError(f"label {labels.max()} is beyond the vocabulary's "
                             f"{vocabulary.num_concepts} concepts")
        return cls(lambda index: labels[np.asarray(index)], vocabulary, labels.shape[2:])


def _scores(module, params, x: jax.Array, size: tuple[int, int]):
    logits, _ = module.apply({"params": params}, x)
    if isinstance(logits, dict):
        return {k: resize_bilinear(v.astype(jnp.float32), size) for k, v in logits.items()}
    return resize_bilinear(logits.astype(jnp.float32), size)


def published_segmenter(
    upernet: Net,
    colornet: Net | None,
    image_size: tuple[int, int] = (256, 256),
    skip_last_component: bool = False,
    color_none_concept: bool = False,
) -> Segmenter:
    """The merged concept segmenter for images of ``image_size`` (H, W) in [-1, 1].

    ``upernet`` / ``colornet``: converted models (``jaxdissect.load``), whose metadata carries
    their ``labels.json``. Labels: int32 (N, 5 + K, H // 4, W // 4), K the colour model's
    categories (1 for the published file, so 6 channels; 0 without ``colornet``).
    ``color_none_concept=True`` makes the colour model's "none" a concept, as the reference
    does (see :mod:`.merge`).
    """
    labels = UnifiedLabels.from_json(upernet.meta["sizes"]["labels"])
    colors = ColorLabels.from_json(colornet.meta["sizes"]["labels"]) if colornet else None
    tables = MergeTables.of(labels, colors)
    size = (image_size[0] // 4, image_size[1] // 4)

    @jax.jit
    def run(upernet_params, color_params, images):
        heads = _scores(upernet.module, upernet_params, upernet_input(images, WORKING_SIZE), size)
        color = None
        if colornet is not None:
            color = _scores(colornet.module, color_params,
                            color_input(images, colors, WORKING_SIZE), size)
        return merge_labels(heads["object"], heads["material"], heads["part"], color, tables,
                            skip_last_component, color_none_concept)

    def fn(images):
        if tuple(images.shape[1:3]) != tuple(image_size):
            raise ValueError(f"this segmenter was built for {tuple(image_size)} images, got "
                             f"{tuple(images.shape[1:3])}")
        return run(upernet.params, colornet.params if colornet else None, images)

    return Segmenter(fn, unified_vocabulary(labels, colors), size)


def load_published_segmenter(
    upernet_dir,
    color_dir=None,
    image_size: tuple[int, int] = (256, 256),
    dtype=jnp.float32,
    skip_last_component: bool = False,
    color_none_concept: bool = False,
) -> Segmenter:
    """:func:`published_segmenter` from converted folders (``jaxdissect convert FOLDER DEST
    --arch upernet50`` / ``--arch colorseg``); ``dtype`` is the networks' compute dtype."""
    from jaxdissect.checkpoint import load

    nets = []
    for folder, arch in ((upernet_dir, "upernet50"), (color_dir, "colorseg")):
        net = load(folder, dtype) if folder is not None else None
        if net is not None and net.meta.get("arch") != arch:
            raise ValueError(f"{folder} holds a converted {net.meta.get('arch')!r} model; "
                             f"expected {arch!r} (convert the segmenter folder with --arch {arch})")
        nets.append(net)
    return published_segmenter(nets[0], nets[1], image_size, skip_last_component,
                               color_none_concept)
