"""The segmenters' labels and the joint concept numbering of the merged label map.

``labels.json`` of the UPerNet checkpoint gives ``object`` (336 names, 0 = none), ``material``
(26, 0 = none) and ``object_part`` (owner object -> the names of its part-head channels, the
first being "none"); the colour checkpoint's gives ``labels`` (none + 11 colours, each with its
category), ``categories`` (one label channel each, optionally masked) and its input format.
:class:`UnifiedLabels` / :class:`ColorLabels` read them; :class:`ConceptNumbering` lays
out the joint numbers (1,825 for the published files, K = 335 objects, M = 25 materials, P = 112
true parts, 12 colour classes):

=============================  =========================================================
0                              none
1 .. K                         objects
K+1 .. 5K                      quad halves blocked by suffix: all ``-t``, all ``-l``, all
                               ``-b``, all ``-r`` (object o -> o + K, o + 2K, o + 3K, o + 4K)
5K+1 .. 5K+M                   materials
5K+M+1 .. 5K+M+P               true parts, in order of first appearance over the owners
5K+M+P+1 ..                    colour labels (:class:`ColorLabels`), label c ->
                               5K+M+P+1 + c (so the colour model's "none" is a concept of
                               its own: a quirk of the reference, used only when asked, see
                               ``merge``)
=============================  =========================================================

A part channel whose name is an object name (window, door, ...) maps to that object's number;
each group's first channel maps to 0. :func:`unified_vocabulary` builds the matching
:class:`~jaxdissect.concepts.ConceptVocabulary` (categories object, part, material,
color).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxdissect.concepts import ConceptVocabulary

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
class ColorCategory:
    """A category of the colour model's ``labels.json``: its label is the argmax over its own
    channels; with ``mask`` (a label name) it is kept only where that label wins its category."""

    name: str
    channels: tuple[int, ...]
    mask: str | None = None


def _label_records(value: Any) -> list[dict]:
    """``labels`` as records ``{"name", "category", "internal"}`` (plain names: category
    "color")."""
    names = _names(value, "labels")
    records = []
    for name, item in zip(names, value, strict=True):
        item = item if isinstance(item, Mapping) else {}
        records.append({"name": name, "category": str(item.get("category", "color")),
                        "internal": bool(item.get("internal", False))})
    return records


def _color_categories(data: Mapping[str, Any], records: list[dict]) -> tuple[ColorCategory, ...]:
    """The ``categories`` of the file (by default those of the labels, in order of first
    appearance), each with its channels; every label's category and mask must be known."""
    listed = data.get("categories")
    if listed is None:
        listed = [{"name": n} for n in dict.fromkeys(r["category"] for r in records)]
    names = _names(listed, "categories")
    masks = [str(c["mask"]) if isinstance(c, Mapping) and c.get("mask") is not None else None
             for c in listed]
    stray = sorted({r["category"] for r in records} - set(names))
    if stray:
        raise ValueError(f"labels.json: labels of categories {stray}, which are not among the "
                         f"categories {list(names)}")
    known = {r["name"] for r in records}
    unknown = sorted(m for m in masks if m is not None and m not in known)
    if unknown:
        raise ValueError(f"labels.json: category masks {unknown} are not label names")
    return tuple(
        ColorCategory(n, tuple(i for i, r in enumerate(records) if r["category"] == n), m)
        for n, m in zip(names, masks, strict=True))


@dataclass(frozen=True)
class ColorLabels:
    """The colour model's channels, categories and input format, from its ``labels.json``.

    ``names`` / ``label_categories`` / ``internal``: per channel. ``categories``: one label
    channel of the merged map each (empty: one category, "color", of every channel).

    Labels are numbered as the reference numbers them: 0 is "-" (no label), then each name
    that is neither "-" nor internal, in channel order, once (channels sharing a name share its
    number; internal channels and "-" give 0). With the published file (channel 0 "-", then 11
    colours) channel c is label c.
    """

    names: tuple[str, ...]
    bgr: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    label_categories: tuple[str, ...] = ()
    internal: tuple[bool, ...] = ()
    categories: tuple[ColorCategory, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColorLabels:
        """From the colour checkpoint's ``labels.json`` (``labels``, ``imageformat`` and, if
        present, ``categories`` with their optional ``mask``)."""
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
        records = _label_records(data["labels"])
        return cls(tuple(r["name"] for r in records), order == "BGR", mean, std,
                   tuple(r["category"] for r in records), tuple(r["internal"] for r in records),
                   _color_categories(data, records))

    def to_json(self) -> dict[str, Any]:
        categories = [{"name": c.name, **({"mask": c.mask} if c.mask else {})}
                      for c in self.color_categories]
        return {
            "labels": [{"name": n, "category": c, **({"internal": True} if i else {})}
                       for n, c, i in zip(self.names, self._channel_categories,
                                          self._internal, strict=True)],
            "categories": categories,
            "imageformat": {"byteorder": "BGR" if self.bgr else "RGB", "mean": list(self.mean),
                            "stdev": list(self.std)},
        }

    @property
    def _channel_categories(self) -> tuple[str, ...]:
        return self.label_categories or ("color",) * len(self.names)

    @property
    def _internal(self) -> tuple[bool, ...]:
        return self.internal or (False,) * len(self.names)

    @property
    def color_categories(self) -> tuple[ColorCategory, ...]:
        """The categories, one label channel each (default: "color", every channel)."""
        return self.categories or (ColorCategory("color", tuple(range(len(self.names)))),)

    @property
    def label_names(self) -> tuple[str, ...]:
        """Names of labels 0.. (0 is "-"), with the category of each (see the class doc)."""
        return tuple(self._labels()[0])

    @property
    def label_category_names(self) -> tuple[str, ...]:
        return tuple(self._labels()[1])

    @property
    def channel_labels(self) -> np.ndarray:
        """int32 (channels,): the label number of every channel."""
        return np.asarray(self._labels()[2], np.int32)

    def _labels(self):
        number, names, categories, per_channel = {"-": 0}, ["-"], ["color"], []
        for name, category, internal in zip(self.names, self._channel_categories,
                                            self._internal, strict=True):
            if not internal and name not in number:
                number[name] = len(names)
                names.append(name)
                categories.append(category)
            per_channel.append(number.get(name, 0))
        return names, categories, per_channel

    def mask_of(self, category: ColorCategory) -> tuple[int, int] | None:
        """(index of the category, position in its channels) of ``category``'s mask label, or
        None. A mask name shared by several channels means the last of them (as in the
        reference)."""
        if category.mask is None:
            return None
        channel = max(i for i, n in enumerate(self.names) if n == category.mask)
        for index, other in enumerate(self.color_categories):
            if channel in other.channels:
                return index, other.channels.index(channel)
        raise AssertionError("every channel is in a category")


@dataclass(frozen=True)
class ConceptNumbering:
    """Offsets of the joint concept list (see the module docstring)."""

    num_objects: int  # K, without none
    num_materials: int  # M, without none
    num_true_parts: int  # P
    num_colors: int  # colour labels, "-" (none) included

    @classmethod
    def of(cls, labels: UnifiedLabels, colors: ColorLabels | None) -> ConceptNumbering:
        return cls(len(labels.objects) - 1, len(labels.materials) - 1, len(labels.true_parts),
                   len(colors.label_names) if colors is not None else 0)

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
        names += ["color-none", *colors.label_names[1:]]
        categories += list(colors.label_category_names)
    return ConceptVocabulary.from_names(names, categories)
