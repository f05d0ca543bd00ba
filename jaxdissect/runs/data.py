"""Data specs: one string picks the probe data, ``open_source("folder:/data/places_val")``, and
:func:`open_probe_data` sizes it for the model a dissection studies.

Grammar: ``SCHEME:ARGUMENT``, the scheme being everything before the first ``:``.

==================================  ==========================================================
``folder:PATH``                     an image folder tree (:class:`ImageFolder`); options
                                    ``crop``, ``resize``, ``filter``, ``shuffle_seed``, ``strict``
``tfds:NAME[:SPLIT]``               a prepared tensorflow-datasets set, e.g.
                                    ``tfds:places365_small:validation``,
                                    ``tfds:lsun/church_outdoor:train`` (split default
                                    ``validation``; may be a slice such as ``train[:1000]``);
                                    options ``data_dir``, ``crop``, ``resize``, ``filter``,
                                    ``strict``
``broden:PATH``                     a Broden release folder (:class:`BrodenDataset`); options
                                    ``categories`` (list or comma-separated), ``split``,
                                    ``strict``
``latents:N``                       N latent vectors z (:class:`LatentSource`); options
                                    ``seed`` (1), ``dim`` (512)
==================================  ==========================================================

``cache_dir=`` (any scheme but latents) returns the packed cache of the source
(:func:`jaxdissect.data.packed.cached`), decoding it on first use. So the same dissection points
at a tfds data set, an image folder or a Broden folder by changing one option.

The probe data's specs are those of :func:`open_source` plus ``world:N``: the first N images of
the synthetic concept world (:mod:`jaxdissect.world.source`) with their exact segmentations
(options ``seed`` (1, the world models' held-out seed), ``size`` (64), ``classes``).

Sizing: image folders and tfds sets are squashed to ``round(S * 8 / 7)`` (256 for the 224 and
227 inputs of the published models) and centre-cropped to the model's input size S, unless the
options say otherwise; latents get the generator's latent size. ``limit`` keeps the first N rows
(:class:`jaxdissect.data.source.FirstRows`), and is part of the data's identity.
"""

from __future__ import annotations

import inspect
import os

from jaxdissect.data.broden import BrodenDataset
from jaxdissect.data.folder import ImageFolder
from jaxdissect.data.latents import LatentSource
from jaxdissect.data.packed import cached
from jaxdissect.data.source import FirstRows, RowSource
from jaxdissect.data.tfds_source import TfdsImages
from jaxdissect.world.source import WorldRows

SCHEMES = {
    "folder": "folder:PATH (an image folder tree)",
    "tfds": "tfds:NAME[:SPLIT] (a prepared tensorflow-datasets set)",
    "broden": "broden:PATH (a Broden release folder)",
    "latents": "latents:N (N latent vectors)",
}


def open_source(spec: str, *, cache_dir: str | os.PathLike | None = None,
                **options) -> RowSource:
    """The data source named by ``spec`` (see the module docstring for the grammar).

    Raises ValueError for an unknown scheme or option (listing the valid ones), and the
    source's own error when the data is missing (before any compute starts).
    """
    scheme, sep, argument = str(spec).partition(":")
    if not sep or scheme not in SCHEMES:
        raise ValueError(f"data source {spec!r}: unknown scheme {scheme!r}; use one of: "
                         + "; ".join(SCHEMES.values()))
    if not argument:
        raise ValueError(f"data source {spec!r}: missing the part after '{scheme}:'; "
                         f"expected {SCHEMES[scheme]}")
    if scheme == "folder":
        source = _construct(ImageFolder, spec, argument, options)
    elif scheme == "broden":
        if isinstance(options.get("categories"), str):
            options["categories"] = [c for c in options["categories"].split(",") if c]
        source = _construct(BrodenDataset, spec, argument, options)
    elif scheme == "tfds":
        name, _, split = argument.partition(":")
        source = _construct(TfdsImages, spec, name, options, split=split or "validation")
    else:
        if cache_dir is not None:
            raise ValueError("latents are drawn on the fly; cache_dir does not apply to them")
        try:
            count = int(argument)
        except ValueError:
            raise ValueError(f"data source {spec!r}: N must be an integer") from None
        source = _construct(LatentSource, spec, count, options)
    return source if cache_dir is None else cached(source, cache_dir)


def _construct(kind, spec: str, argument, options: dict, **fixed):
    accepted = [name for name, p in inspect.signature(kind).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY
                or (p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is not p.empty)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = ", ".join(a for a in accepted if a not in fixed)
        raise ValueError(f"data source {spec!r}: unknown option(s) {unknown}; "
                         f"{kind.__name__} accepts {valid}")
    return kind(argument, **fixed, **options)


WORLD_SPEC = "world:N (N images of the synthetic concept world, exact segmentations)"


def _resize_for(crop: int) -> int:
    return max(crop, round(crop * 8 / 7)) if crop < 224 else max(256, crop)


def open_probe_data(spec: str, *, options: dict | None = None, image_size: int | None = None,
                    latent_dim: int | None = None, limit: int | None = None) -> RowSource:
    """The probe data of ``spec`` (see the module docstring); errors name the problem before
    anything is computed."""
    options = dict(options or {})
    scheme, sep, argument = str(spec).partition(":")
    if scheme == "world" and sep:
        try:
            count = int(argument)
        except ValueError:
            raise ValueError(f"data source {spec!r}: N must be an integer") from None
        unknown = sorted(set(options) - {"seed", "size", "classes", "quads"})
        if unknown:
            raise ValueError(f"data source {spec!r}: unknown option(s) {unknown}; world data "
                             "accepts seed, size, classes, quads")
        source = WorldRows(count, **options)
    elif not sep or scheme not in SCHEMES:
        raise ValueError(f"data source {spec!r}: unknown scheme {scheme!r}; use one of: "
                         + "; ".join([*SCHEMES.values(), WORLD_SPEC]))
    else:
        if scheme in ("folder", "tfds") and image_size is not None:
            options.setdefault("crop", image_size)
            options.setdefault("resize", _resize_for(int(options["crop"])))
        if scheme == "latents" and latent_dim is not None:
            options.setdefault("dim", latent_dim)
        source = open_source(spec, **options)
    return source if limit is None else FirstRows(source, limit)


def source_identity(spec: str, source: RowSource, options: dict | None = None) -> dict:
    """The data's part of a run identity: the spec, its options, the row count and what the
    source reports about its content."""
    return {"spec": str(spec), "options": dict(sorted((options or {}).items())),
            "rows": len(source), "fields": {k: f.as_dict() for k, f in source.fields.items()},
            "source": source.identity()}
