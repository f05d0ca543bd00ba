"""The concept vocabulary: what the numbers in a segmentation mean.

A segmentation labels pixels with concept numbers ``0..C-1``; 0 always means "no label". A
:class:`ConceptVocabulary` gives every number a name and a category (object, part, scene,
material, texture, colour, ... ) and orders the categories the way reports group them.

Build one from

* a list of names: ``ConceptVocabulary.from_names(["sky", "tree"], categories=["object"] * 2)``
  (the names of concepts 1..C-1; concept 0 is added),
* ``(number, name, category)`` rows: ``ConceptVocabulary.from_rows(rows)`` (numbers must cover
  1..C-1 exactly once; a row for 0 is allowed and ignored),
* a CSV file with at least the columns ``number,name,category``:
  ``ConceptVocabulary.from_csv(path)``; Broden ``label.csv`` category strings such as
  ``object(123);part(4)`` resolve to the primary category, the one with the largest count
  (ties: the earlier category in :data:`CATEGORY_ORDER`),
* nothing: ``ConceptVocabulary.numbered(C)`` names the concepts ``c1..c{C-1}``, category
  ``"concept"``.

The direct constructor ``ConceptVocabulary(names, categories)`` takes full tuples of length C,
index = concept number, entry 0 being the "none" concept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NONE_NAME = "-"
NONE_CATEGORY = "none"
# The published order of categories (NetDissect's bar graphs and tables: object, part, material,
# texture, colour, then scene): how vocabularies list them and reports group them. Other
# categories follow. Broden spells colour "color"; "colour" sorts in the same slot.
CATEGORY_ORDER = ("object", "part", "material", "texture", "color", "scene")
CATEGORY_ALIASES = {"colour": "color"}

_COUNTED = re.compile(r"^\s*([^()]+?)\s*(?:\((\d+)\))?\s*$")


def primary_category(spec: str) -> str:
    """``"object(123);part(4)"`` -> ``"object"``: the listed category with the largest count.

    A plain ``"object"`` is returned as is. Ties go to the category earlier in
    :data:`CATEGORY_ORDER` (then the earlier listed).
    """
    entries = []
    for position, part in enumerate(p for p in spec.split(";") if p.strip()):
        match = _COUNTED.match(part)
        if not match:
            raise ValueError(f"category {spec!r}: cannot read {part!r}; expected e.g. 'object(12)'")
        name, count = match.group(1), int(match.group(2) or 0)
        entries.append((-count, category_rank(name), position, name))
    if not entries:
        raise ValueError(f"empty category {spec!r}")
    return min(entries)[3]


def category_rank(category: str) -> int:
    """The place of ``category`` in :data:`CATEGORY_ORDER` (past its end for other ones)."""
    name = CATEGORY_ALIASES.get(category, category)
    return CATEGORY_ORDER.index(name) if name in CATEGORY_ORDER else len(CATEGORY_ORDER)


@dataclass(frozen=True)
class ConceptVocabulary:
    """Names and categories of concepts ``0..C-1`` (``names[0]`` is the "none" concept).

    ``names``, ``categories``: tuples of length C indexed by concept number.
    """

    names: tuple[str, ...]
    categories: tuple[str, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        names, categories = tuple(self.names), tuple(self.categories)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "categories", categories)
        if len(names) != len(categories):
            raise ValueError(
                f"vocabulary: {len(names)} names but {len(categories)} categories; give one "
                "category per concept"
            )
        if len(names) < 2:
            raise ValueError("vocabulary: needs concept 0 ('none') and at least one concept")
        index = {}
        for number, name in enumerate(names[1:], start=1):
            index.setdefault(name, number)
        object.__setattr__(self, "_index", index)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def numbered(cls, num_concepts: int) -> ConceptVocabulary:
        """``c1..c{C-1}``, category ``"concept"``; ``num_concepts`` = C counts concept 0."""
        if num_concepts < 2:
            raise ValueError(f"num_concepts={num_concepts}: need at least 2 (0 = none, 1 concept)")
        names = [f"c{i}" for i in range(1, num_concepts)]
        return cls.from_names(names, ["concept"] * len(names))

    @classmethod
    def from_names(
        cls, names: Sequence[str], categories: Sequence[str] | None = None
    ) -> ConceptVocabulary:
        """Names (and categories) of concepts 1..C-1, in number order; category "concept"
        when none are given."""
        categories = ["concept"] * len(names) if categories is None else list(categories)
        return cls((NONE_NAME, *names), (NONE_CATEGORY, *categories))

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, str]]) -> ConceptVocabulary:
        """``(number, name, category)`` rows covering 1..C-1 once each, in any order.

        ``category`` may be a Broden-style ``"object(12);part(3)"`` string.
        """
        by_number: dict[int, tuple[str, str]] = {}
        for number, name, category in rows:
            number = int(number)
            if number == 0:
                continue
            if number < 0 or number in by_number:
                raise ValueError(f"vocabulary: concept number {number} is negative or repeated")
            by_number[number] = (str(name), primary_category(str(category)))
        missing = sorted(set(range(1, max(by_number, default=0) + 1)) - set(by_number))
        if missing:
            raise ValueError(
                f"vocabulary: concept numbers must run 1..C-1 without gaps; missing {missing[:10]}"
            )
        ordered = [by_number[n] for n in range(1, len(by_number) + 1)]
        return cls.from_names([n for n, _ in ordered], [c for _, c in ordered])

    @classmethod
    def from_csv(cls, path: str | Path) -> ConceptVocabulary:
        """A CSV with a header naming at least ``number``, ``name`` and ``category``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"concept file {path} not found")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"concept file {path} is not UTF-8 text (byte {err.start}: "
                             f"{err.reason}); save it as UTF-8") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        needed = {"number", "name", "category"}
        if not needed <= set(reader.fieldnames or ()):
            raise ValueError(
                f"{path}: needs the columns number,name,category; found {reader.fieldnames}"
            )
        try:
            rows = [(int(r["number"]), r["name"], r["category"]) for r in reader]
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: bad row ({err}); 'number' must be an integer") from None
        return cls.from_rows(rows)

    # -- queries ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_concepts(self) -> int:
        """C, counting concept 0."""
        return len(self.names)

    @property
    def category_names(self) -> tuple[str, ...]:
        """The categories of concepts 1..C-1, in report order."""
        seen = dict.fromkeys(self.categories[1:])
        return tuple(sorted(seen, key=lambda c: (category_rank(c), list(seen).index(c))))

    @property
    def category_of(self) -> np.ndarray:
        """int32 (C,): index into :attr:`category_names` of each concept; concept 0 gets 0
        (it is never counted)."""
        position = {c: i for i, c in enumerate(self.category_names)}
        ids = [0] + [position[c] for c in self.categories[1:]]
        return np.asarray(ids, np.int32)

    def number(self, name: str) -> int:
        """The concept number of ``name`` (the smallest, if repeated)."""
        if name not in self._index:
            raise KeyError(f"unknown concept {name!r}; see the vocabulary's names")
        return self._index[name]

    def rows(self) -> list[tuple[int, str, str]]:
        """``(number, name, category)`` for concepts 1..C-1."""
        return [(i, self.names[i], self.categories[i]) for i in range(1, len(self.names))]

    def save_csv(self, path: str | Path) -> None:
        """Write ``number,name,category`` rows (readable by :meth:`from_csv`)."""
        with Path(path).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["number", "name", "category"])
            writer.writerows(self.rows())
