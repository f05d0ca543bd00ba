"""Probe data for a model dissection: a data spec opened, sized for the model, optionally cut.

Specs are those of :func:`jaxdissect.data.factory.open_source` (``folder:PATH``,
``tfds:NAME[:SPLIT]``, ``broden:PATH``, ``latents:N``) plus ``world:N``: the first N images of
the synthetic concept world (:mod:`jaxdissect.world.source`) with their exact segmentations
(options ``seed`` (1, the world models' held-out seed), ``size`` (64), ``classes``).

Sizing: image folders and tfds sets are squashed to ``round(S * 8 / 7)`` (256 for the 224 and
227 inputs of the published models) and centre-cropped to the model's input size S, unless the
options say otherwise; latents get the generator's latent size. ``limit`` keeps the first N rows
(:class:`jaxdissect.data.source.FirstRows`), and is part of the data's identity.
"""

from __future__ import annotations

from jaxdissect.data.factory import SCHEMES, open_source
from jaxdissect.data.source import FirstRows, RowSource
from jaxdissect.world.source import WorldRows

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
