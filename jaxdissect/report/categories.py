"""Concept categories as the reports show them: their order and colours.

Bar graphs and tables list categories in the published order object, part, material, texture,
colour, then scene when present (:data:`jaxdissect.concepts.CATEGORY_ORDER`, the order
vocabularies list them in too); a category outside this list (a custom vocabulary) follows in
alphabetical order. Both spellings ``color`` (the reference's) and ``colour`` are recognised.
"""

from __future__ import annotations

from collections.abc import Iterable

from jaxdissect.concepts import CATEGORY_ALIASES as ALIASES
from jaxdissect.concepts import CATEGORY_ORDER, category_rank

__all__ = ["CATEGORY_ORDER", "category_colour", "category_sort_key", "ordered_categories"]
COLOURS = {
    "object": "#4e79a7",
    "part": "#59a14f",
    "material": "#b07aa1",
    "texture": "#f28e2b",
    "color": "#e15759",
    "scene": "#76b7b2",
}
OTHER_COLOUR = "#9c755f"


def category_sort_key(category: str) -> tuple[int, str]:
    """A sort key placing ``category`` in the published order
    (:data:`jaxdissect.concepts.CATEGORY_ORDER`), unknown ones after, by name."""
    return category_rank(category), category


def ordered_categories(categories: Iterable[str]) -> list[str]:
    """The distinct categories in ``categories``, in report order."""
    return sorted(set(categories), key=category_sort_key)


def category_colour(category: str) -> str:
    """The colour (CSS hex) that marks ``category`` in every chart and card."""
    return COLOURS.get(ALIASES.get(category, category), OTHER_COLOUR)
