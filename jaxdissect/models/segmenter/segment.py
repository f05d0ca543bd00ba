"""The one segmenter type a dissection and the experiments consume, and the published UPerNet +
colour pipeline as one.

A :class:`Segmenter` is ``fn`` (RGB images -> integer label maps), the ``vocabulary`` of its
numbers and the ``identity`` a run key records. Plug in your own by wrapping any function::

    def my_fn(images):                       # float32 (N, H, W, 3) in [-1, 1]
        return labels                        # integer (N, K, h, w), 0 = none
    seg = Segmenter(my_fn, ConceptVocabulary.from_names(["sky", "tree"]), "my-sky-tree-v1")

``identity`` is what decides the labels, as a JSON-able dict (or a name, which becomes
``{"kind": "custom", "name": NAME}``); the vocabulary's names and categories are always added.
Without it, the function's qualified name and, where Python can read it, a hash of its source
code stand in. Results are reused by identity: a function changed in a way that the identity
does not show (another threshold held in a variable, other weights loaded inside it) would
reuse the old results, so give a new name (or ``force``) when the labels change.

The open segmenters by their spec (``world``, converted folders) are built in
:mod:`jaxdissect.runs.segmenters`; precomputed label maps go through ``dissect-arrays`` or the
data's own ``seg`` (``segmenter=None``).

:func:`published_segmenter` composes the converted UPerNet and colour models: preprocessing, both
networks, logits resized (bilinear, align_corners=False) to ``H // 4 x W // 4``, and the
merge (:mod:`.merge`), in one jitted function. Only the working size 256 is used (the
reference's default), so the argmax of the logits equals that of the softmax it takes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.models.base import Net
from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.preprocess import WORKING_SIZE, color_input, upernet_input
from jaxdissect.models.segmenter.resize import resize_bilinear
from jaxdissect.models.segmenter.vocabulary import ColorLabels, UnifiedLabels, unified_vocabulary


def _code_sha256(fn: Callable) -> str | None:
    """SHA-256 of the function's source (None where Python cannot read it: a lambda typed at
    the prompt, a C function)."""
    target = getattr(fn, "__wrapped__", fn)  # through jax.jit and functools.wraps
    try:
        return hashlib.sha256(inspect.getsource(target).encode()).hexdigest()
    except (OSError, TypeError):
        return None


def vocabulary_sha256(vocabulary: ConceptVocabulary) -> str:
    """SHA-256 of the (number, name, category) rows."""
    return hashlib.sha256(json.dumps(vocabulary.rows()).encode()).hexdigest()


def default_identity(fn: Callable, name: str | None = None) -> dict:
    """``{"kind": "custom", "name": ...}``: the name given, else the function's qualified name
    and (where readable) the hash of its source."""
    if name is not None:
        return {"kind": "custom", "name": str(name)}
    qualified = f"{getattr(fn, '__module__', None) or '?'}." \
                f"{getattr(fn, '__qualname__', type(fn).__name__)}"
    return {"kind": "custom", "name": qualified, "code_sha256": _code_sha256(fn)}


@dataclass(frozen=True, eq=False)  # compared and hashed as the one object it is
class Segmenter:
    """``fn(images) -> labels``: float32 RGB (N, H, W, 3) in [-1, 1] -> integer (N, K, h, w)
    numbers of ``vocabulary`` (0 = none); ``identity``: the JSON-able dict a run key records
    (a name or None: see the module docstring). Calling it checks the labels' rank and dtype
    (shapes only, so it works under ``jax.jit``)."""

    fn: Callable[[jax.Array], jax.Array]
    vocabulary: ConceptVocabulary
    identity: dict | str | None = None

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Segmenter fn must be a function of images, got "
                            f"{type(self.fn).__name__}")
        if not isinstance(self.vocabulary, ConceptVocabulary):
            raise TypeError(f"Segmenter vocabulary must be a ConceptVocabulary, got "
                            f"{type(self.vocabulary).__name__} (ConceptVocabulary.from_names)")
        identity = self.identity
        if identity is None or isinstance(identity, str):
            identity = default_identity(self.fn, identity)
        elif not isinstance(identity, dict):
            raise TypeError(f"Segmenter identity must be a dict or a name, got "
                            f"{type(identity).__name__}")
        if identity.get("kind", "custom") == "custom":  # the built-in kinds name their labels
            identity = {"kind": "custom", **identity,
                        "vocabulary_sha256": vocabulary_sha256(self.vocabulary)}
        try:
            json.dumps(identity, sort_keys=True)
        except (TypeError, ValueError) as err:
            raise ValueError(f"Segmenter identity must be JSON-able ({err}); use strings, "
                             "numbers, lists and dicts") from None
        object.__setattr__(self, "identity", identity)

    def __call__(self, images: jax.Array) -> jax.Array:
        labels = self.fn(images)
        shape, dtype = getattr(labels, "shape", None), getattr(labels, "dtype", None)
        if shape is None or len(shape) != 4 or shape[0] != images.shape[0]:
            raise ValueError(f"the segmenter returned shape {shape} for {images.shape[0]} "
                             f"images; return (N, K, h, w) label maps (one channel: "
                             "labels[:, None])")
        if not jnp.issubdtype(dtype, jnp.integer):
            raise ValueError(f"the segmenter returned {dtype} labels; return integer concept "
                             "numbers (e.g. .astype(jnp.int32))")
        return labels


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
    identity: dict | None = None,
) -> Segmenter:
    """The merged concept segmenter for images of ``image_size`` (H, W) in [-1, 1].

    ``upernet`` / ``colornet``: converted models (``jaxdissect.load``), whose metadata carries
    their ``labels.json``. Labels: int32 (N, 5 + K, H // 4, W // 4), K the colour model's
    categories (1 for the published file, so 6 channels; 0 without ``colornet``).
    ``color_none_concept=True`` makes the colour model's "none" a concept, as the reference
    does (see :mod:`.merge`). ``identity``: what a run key records (default: the networks'
    recorded source checkpoint hashes and the options set;
    :func:`jaxdissect.runs.segmenters.load_published_segmenter` records full model identities).
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

    if identity is None:
        identity = {"kind": "published", "upernet": _source_identity(upernet),
                    "colornet": None if colornet is None else _source_identity(colornet)}
        identity.update({k: True for k, v in (("skip_last_component", skip_last_component),
                                              ("color_none_concept", color_none_concept)) if v})
    return Segmenter(fn, unified_vocabulary(labels, colors), identity)


def _source_identity(net: Net) -> dict:
    """The architecture and the recorded hash of the checkpoint a converted net came from."""
    source = (net.meta or {}).get("source")
    return {"arch": (net.meta or {}).get("arch"),
            "checkpoint_sha256": source.get("sha256") if isinstance(source, dict) else None}
