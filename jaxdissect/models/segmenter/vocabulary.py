"""The segmenters' labels and the joint concept numbering of the merged label map.

``labels.json`` of the UPerNet checkpoint gives ``object`` (336 names, 0 = none), ``material``
(26, 0 = none) and ``object_part`` (owner object -> the names of its part-head channels, the
first being "none"); the colour checkpoint's gives ``labels`` (none + 11 colours) and its input
format. :class:`UnifiedLabels` / :class:`ColorLabels` read them; :class:`ConceptNumbering` lays
out the joint numbers (1,825 for the published files, K = 335 objects, M = 25 materials, P = 112
true parts, 12 colour classes):

=============================  =========================================================
0                              none
1 .. K                         objects
K+1 .. 5K                      quad halves blocked by suffix: all ``-t``, all ``-l``, all
                               ``-b``, all ``-r`` (object o -> o + K, o + 2K, o + 3K, o + 4K)
5K+1 .. 5K+M                   materials
5K+M+1 .. 5K+M+P               true parts, in order of first appearance over the owners
5K+M+P+1 ..                    colour classes, channel c -> 5K+M+P+1 + c (so the colour
                               model's "none" is a concept of its own: a quirk of the
                               reference, used only when asked, see ``merge``)
=============================  =========================================================

A part channel whose name is an object name (window, door, ...) maps to that object's number;
each group's first channel maps to 0. :func:`unified_vocabulary` builds the matching
:class:`~jaxdissect.dissection.concepts.ConceptVocabulary` (categories object, part, material,
color).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxdissect.dissection.concepts import ConceptVocabulary

QUAD_SUFFIXES = ("t", "l", "b", "r")  # the order of the blocks, not of the label channels


def _names(value: Any, what: str) -> tuple[str, ...]:
    """A list of names, or of ``{"name": ...}`` records, as a tuple of strings."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError(f"labels.json: {what} must be a non-empty list of names")
    return tuple(str(v["name"] if isinstance(v, Mapping) else v) for v in value)


@dataclass(frozen=True)
class PartGroup:
    """The channels ``start .. start + len(names) - 1`` of the part head, owned by ``owner``."""

    owner: int
    start: int
    names: tuple[str, ...]


@dataclass(frozen=True)
class UnifiedLabels:
    """Names behind the UPerNet heads (each list includes "none" at 0)."""

    objects: tuple[str, ...]
    materials: tuple[str, ...]
    part_groups: tuple[PartGroup, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnifiedLabels:
        """From the contents of the checkpoint's ``labels.json``."""
        missing = [k for k in ("object", "material", "object_part") if k not in data]
        if missing:
            raise ValueError(f"labels.json lacks {missing}; is it the UPerNet segmenter's file?")
        objects = _names(data["object"], "object")
        number = {name: i for i, name in enumerate(objects)}
        owners = dict(data["object_part"])
        unknown = sorted(o for o in owners if o not in number)
        if unknown:
            raise ValueError(f"labels.json: object_part owners {unknown} are not objects")
        groups, start = [], 0
        for owner in sorted(owners, key=number.__getitem__):
            names = _names(owners[owner], f"object_part[{owner!r}]")
            groups.append(PartGroup(number[owner], start, names))
            start += len(names)
        return cls(objects, _names(data["material"], "material"), tuple(groups))

    def to_json(self) -> dict[str, Any]:
        """The JSON-able form kept in a converted model's metadata (read by ``from_json``)."""
        return {
            "object": list(self.objects),
            "material": list(self.materials),
            "object_part": {self.objects[g.owner]: list(g.names) for g in self.part_groups},
        }

    @property
    def num_part_channels(self) -> int:
        return sum(len(g.names) for g in self.part_groups)

    @property
    def true_parts(self) -> tuple[str, ...]:
        """Part names that are not object names, in order of first appearance."""
        objects = set(self.objects)
        seen = dict.fromkeys(n for g in self.part_groups for n in g.names[1:] if n not in objects)
        return tuple(seen)


@dataclass(frozen=True)
class ColorLabels:
    """Names of the colour model's channels (0 = its "none") and its input format."""

    names: tuple[str, ...]
    bgr: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColorLabels:
        """From the colour checkpoint's ``labels.json`` (``labels``, ``imageformat``)."""
        missing = [k for k in ("labels", "imageformat") if k not in data]
        if missing:
            raise ValueError(f"labels.json lacks {missing}; is it the colour segmenter's file?")
        fmt = data["imageformat"]
        try:
            mean = tuple(float(v) for v in fmt["mean"])
            std = tuple(float(v) for v in fmt.get("stdev", fmt.get("std")))
            order = str(fmt.get("byteorder", "RGB")).upper()
        except (KeyError, TypeError) as err:
            raise ValueError("labels.json: imageformat needs mean, stdev (3 each) and "
                             f"byteorder ({err})") from None
        if len(mean) != 3 or len(std) != 3 or order not in ("RGB", "BGR"):
            raise ValueError(f"labels.json: bad imageformat {fmt}; need 3 means, 3 stdevs, "
                             "byteorder RGB or BGR")
        return cls(_names(data["labels"], "labels"), order == "BGR", mean, std)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.names),
            "imageformat": {"byteorder": "BGR" if self.bgr else "RGB", "mean": list(self.mean),
                            "stdev": list(self.std)},
        }


@dataclass(frozen=True)
class ConceptNumbering:
    """Offsets of the joint concept list (see the module docstring)."""

    num_objects: int  # K, without none
    num_materials: int  # M, without none
    num_true_parts: int  # P
    num_colors: int  # colour channels, none included

    @classmethod
    def of(cls, labels: UnifiedLabels, colors: ColorLabels | None) -> ConceptNumbering:
        return cls(len(labels.objects) - 1, len(labels.materials) - 1, len(labels.true_parts),
                   len(colors.names) if colors is not None else 0)

    @property
    def material_offset(self) -> int:
        return 5 * self.num_objects

    @property
    def first_part(self) -> int:
        return 5 * self.num_objects + self.num_materials + 1

    @property
    def color_offset(self) -> int:
        return self.first_part + self.num_true_parts

    @property
    def num_concepts(self) -> int:
        return self.color_offset + self.num_colors


def part_concepts(labels: UnifiedLabels) -> np.ndarray:
    """int32 (num part channels,): the concept number of every part-head channel."""
    numbering = ConceptNumbering.of(labels, None)
    objects = {name: i for i, name in enumerate(labels.objects)}
    parts = {name: numbering.first_part + i for i, name in enumerate(labels.true_parts)}
    table = []
    for group in labels.part_groups:
        table.append(0)
        table += [objects.get(n, parts.get(n)) for n in group.names[1:]]
    return np.asarray(table, np.int32)


def unified_vocabulary(labels: UnifiedLabels, colors: ColorLabels | None) -> ConceptVocabulary:
    """The joint vocabulary: 1,825 concepts for the published pair of segmenters."""
    objects = list(labels.objects[1:])
    names = list(objects)
    for suffix in QUAD_SUFFIXES:
        names += [f"{o}-{suffix}" for o in objects]
    names += list(labels.materials[1:]) + list(labels.true_parts)
    categories = ["object"] * len(objects) + ["part"] * (4 * len(objects))
    categories += ["material"] * (len(labels.materials) - 1) + ["part"] * len(labels.true_parts)
    if colors is not None:
        first = colors.names[0] if colors.names[0] not in ("", "-") else "color-none"
        names += [first, *colors.names[1:]]
        categories += ["color"] * len(colors.names)
    return ConceptVocabulary.from_names(names, categories)
