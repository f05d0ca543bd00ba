"""Concept categories as the reports show them: their order and colours.

Bar graphs and tables list categories in the published order object, part, material, texture,
colour, then scene when present; a category outside this list (a custom vocabulary) follows in
alphabetical order. Both spellings ``color`` (the reference's) and ``colour`` are recognised.
"""

from __future__ import annotations

from collections.abc import Iterable

CATEGORY_ORDER = ("object", "part", "material", "texture", "color", "scene")
ALIASES = {"colour": "color"}
COLOURS = {
    "object": "#4e79a7",
    "part": "#59a14f",
    "material": "#b07aa1",
    "texture": "#f28e2b",
    "color": "#e15759",
    "scene": "#76b7b2",
}
OTHER_COLOUR = "#9c755f"


def category_rank(category: str) -> tuple[int, str]:
    """A sort key placing ``category`` in the published order, unknown ones after, by name."""
    name = ALIASES.get(category, category)
    rank = CATEGORY_ORDER.index(name) if name in CATEGORY_ORDER else len(CATEGORY_ORDER)
    return rank, category


def ordered_categories(categories: Iterable[str]) -> list[str]:
    """The distinct categories in ``categories``, in report order."""
    return sorted(set(categories), key=category_rank)


def category_colour(category: str) -> str:
    """The colour (CSS hex) that marks ``category`` in every chart and card."""
    return COLOURS.get(ALIASES.get(category, category), OTHER_COLOUR)
