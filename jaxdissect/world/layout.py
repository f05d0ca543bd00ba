"""Scene classes of the world and what each contains, decided from per-image random numbers.

A scene class is defined by the elements it must contain (``required``), those it may contain
(``optional``, each present with probability 1/2) and its ground material. Every other element
is absent. The rules are chosen so that no content is valid for two classes (checked by
:func:`ambiguous_class_pairs`), so the class is a function of the objects and materials in the
image and a classifier must recognise them to tell classes apart: e.g. ``village`` (house and
road) and ``street`` (road and car, no house) differ by the house; ``farm`` (house, road and
fence) and ``village`` (no fence) by the fence; ``forest`` (trees, no people) and ``park`` (trees
and people) by the people. Fences and people are small, so these pairs make the classifier
learn detectors of small objects too.

Randomness: every image gets a fixed-length vector of uniforms from
``numpy.random.default_rng([seed, index])``; :class:`Draws` hands out its columns in a fixed
order, so image ``index`` depends only on ``(seed, index)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_UNIFORMS = 256

ELEMENTS = (
    "house", "road", "tree", "mountain", "lake", "sun",
    "car", "person", "fence", "boat", "cloud",
)
# Most instances of each element in one image.
MAX_INSTANCES = {"house": 3, "tree": 6, "mountain": 2, "car": 2, "person": 3, "boat": 2,
                 "cloud": 3}


@dataclass(frozen=True)
class SceneRule:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    ground: str  # material of the ground: grass, sand or snow
    counts: tuple[tuple[str, int, int], ...] = ()  # (element, fewest, most) overrides

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)


SCENE_RULES = {
    "village": SceneRule(("house", "road"), ("tree", "car", "person", "cloud", "sun"), "grass",
                         (("house", 1, 3),)),
    "forest": SceneRule(("tree",), ("mountain", "cloud", "sun"), "grass", (("tree", 3, 6),)),
    "beach": SceneRule(("lake", "sun"), ("person", "cloud"), "sand"),
    "street": SceneRule(("road", "car"), ("person", "cloud", "tree", "sun"), "grass"),
    "farm": SceneRule(("house", "road", "fence"), ("tree", "cloud", "sun", "person"), "grass"),
    "lake": SceneRule(("mountain", "lake"), ("tree", "cloud", "sun"), "grass"),
    "ski_resort": SceneRule(("mountain", "house"), ("tree", "person", "cloud", "sun"), "snow"),
    "harbour": SceneRule(("lake", "boat", "house"), ("cloud", "sun", "person"), "grass"),
    "park": SceneRule(("tree", "person"), ("fence", "cloud", "sun"), "grass",
                      (("tree", 2, 4),)),
}
SCENE_CLASSES = tuple(SCENE_RULES)
# Scenes whose water is a sea band at the horizon (ground objects stand in front of it).
SEA_CLASSES = ("beach", "harbour")
DEFAULT_COUNTS = {"house": (1, 2), "tree": (1, 3), "mountain": (1, 2), "car": (1, 2),
                  "person": (1, 3), "boat": (1, 2), "cloud": (1, 3)}


def ambiguous_class_pairs() -> list[tuple[str, str]]:
    """Pairs of classes some content could belong to both (empty for a well-posed world)."""
    pairs = []
    for i, a in enumerate(SCENE_CLASSES):
        for b in SCENE_CLASSES[i + 1:]:
            ra, rb = SCENE_RULES[a], SCENE_RULES[b]
            if ra.ground != rb.ground:
                continue
            needed = set(ra.required) | set(rb.required)
            if needed <= (ra.allowed & rb.allowed):
                pairs.append((a, b))
    return pairs


class Draws:
    """Hands out columns of an (N, NUM_UNIFORMS) uniform matrix in call order."""

    def __init__(self, uniforms: np.ndarray):
        self.u = uniforms
        self.pos = 0

    def take(self, k: int = 1) -> np.ndarray:
        """The next k columns, (N, k) float32 in [0, 1)."""
        if self.pos + k > self.u.shape[1]:
            raise ValueError(f"the world needs more than {self.u.shape[1]} uniforms per image")
        cols = self.u[:, self.pos:self.pos + k]
        self.pos += k
        return cols

    def range(self, lo, hi, k: int | None = None) -> np.ndarray:
        """Uniform in [lo, hi): (N,) when k is None, else (N, k); bounds scalar, (N,) or (N, k)."""
        cols = self.take(1 if k is None else k)
        cols = cols[:, 0] if k is None else cols
        lo = np.asarray(lo, np.float32)
        hi = np.asarray(hi, np.float32)
        if k is not None:  # per-image bounds (N,) apply to every column
            lo = lo[:, None] if lo.ndim == 1 else lo
            hi = hi[:, None] if hi.ndim == 1 else hi
        return lo + cols * (hi - lo)

    def choice(self, options: np.ndarray, k: int | None = None) -> np.ndarray:
        """Pick rows of ``options`` (P, ...) uniformly: (N, ...) or (N, k, ...)."""
        cols = self.take(1 if k is None else k)
        cols = cols[:, 0] if k is None else cols
        return np.asarray(options)[np.minimum((cols * len(options)).astype(np.int64),
                                              len(options) - 1)]


def draw_uniforms(seed: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image uniforms (N, NUM_UNIFORMS) float32 and texture keys (N,) uint32."""
    uniforms = np.empty((len(indices), NUM_UNIFORMS), np.float32)
    keys = np.empty((len(indices),), np.uint32)
    for row, index in enumerate(np.asarray(indices, np.int64)):
        if index < 0:
            raise ValueError(f"image index {index} is negative; indices start at 0")
        rng = np.random.default_rng([int(seed), int(index)])
        uniforms[row] = rng.random(NUM_UNIFORMS, dtype=np.float32)
        keys[row] = rng.integers(0, 2**32, dtype=np.uint32)
    return uniforms, keys


@dataclass
class SceneContent:
    """What each image contains: class (N,) int, and per element (N,) instance counts."""

    label: np.ndarray
    counts: dict[str, np.ndarray]

    def has(self, element: str) -> np.ndarray:
        return self.counts[element] > 0

    def active(self, element: str) -> np.ndarray:
        """(N, MAX_INSTANCES[element]) bool: which instance slots are drawn."""
        m = MAX_INSTANCES.get(element, 1)
        return np.arange(m)[None, :] < self.counts[element][:, None]

    def class_is(self, names: tuple[str, ...]) -> np.ndarray:
        ids = [SCENE_CLASSES.index(n) for n in names]
        return np.isin(self.label, ids)


def decide_content(draws: Draws, classes: tuple[str, ...] = SCENE_CLASSES) -> SceneContent:
    """Class and element counts of every image, from the first columns of ``draws``."""
    for name in classes:
        if name not in SCENE_RULES:
            raise ValueError(
                f"unknown scene class {name!r}; classes are {', '.join(SCENE_CLASSES)}")
    chosen = np.array([SCENE_CLASSES.index(c) for c in classes])
    label = draws.choice(chosen)
    coin = draws.take(len(ELEMENTS))
    amount = draws.take(len(ELEMENTS))
    counts = {}
    for e, element in enumerate(ELEMENTS):
        lo = np.empty(label.shape, np.int64)
        hi = np.empty(label.shape, np.int64)
        present = np.zeros(label.shape, bool)
        for c, name in enumerate(SCENE_CLASSES):
            rule = SCENE_RULES[name]
            overrides = {k: (a, b) for k, a, b in rule.counts}
            fewest, most = overrides.get(element, DEFAULT_COUNTS.get(element, (1, 1)))
            is_c = label == c
            lo[is_c], hi[is_c] = fewest, most
            if element in rule.required:
                present[is_c] = True
            elif element in rule.optional:
                present[is_c] = coin[is_c, e] < 0.5
        n = lo + np.minimum((amount[:, e] * (hi - lo + 1)).astype(np.int64), hi - lo)
        counts[element] = np.where(present, n, 0)
    return SceneContent(label=label.astype(np.int64), counts=counts)
