"""Tests for jaxdissect/runs/terminal_summary.py: the one-screen summary of layer results."""

import numpy as np

from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.results import build_layer_result
from jaxdissect.runs.terminal_summary import best_detectors, category_counts, summary_text
from jaxdissect.stats.counts import CountsResult

VOCAB = ConceptVocabulary.from_names(["house", "tree", "wood"], ["object", "object", "material"])


def layer(inter_rows):
    """Units with the given intersections with concepts 1..3 (areas 100 each)."""
    inter = np.array([[0, *row] for row in inter_rows], np.int64)
    units = len(inter)
    counts = CountsResult(inter, np.full(units, 100, np.int64), np.array([0, 100, 100, 100]),
                          None, 10)
    topk = (np.zeros((units, 1), np.float32), np.zeros((units, 1), np.int64))
    return build_layer_result("conv4_2", get_config(), VOCAB, np.zeros(units, np.float32),
                              counts, topk, 10, (4, 4), (8, 8))


def test_counts_categories_and_ranks_detectors():
    result = layer([[50, 0, 0], [0, 0, 30], [60, 0, 0], [1, 0, 0]])
    assert category_counts(result) == {"object": 2, "material": 1}
    best = best_detectors(result)
    assert [(u, name) for u, name, _ in best] == [(2, "house"), (0, "house"), (1, "wood")]
    assert abs(best[0][2] - 60 / 140) < 1e-6
    text = summary_text({"conv4_2": result}, "out/index.html", ["conv4_2"])
    assert "conv4_2: 3/4 units interpretable (IoU > 0.04): 2 object, 1 material" in text
    assert "2 distinct concepts" in text and "unit 2 house (0.43)" in text
    assert text.splitlines()[-2:] == ["reused without recomputing: conv4_2 (same settings)",
                                      "report: out/index.html"]


def test_a_layer_without_detectors_says_so():
    text = summary_text({"conv4_2": layer([[0, 0, 0], [1, 0, 0]])})
    assert text == ("conv4_2: 0/2 units interpretable (IoU > 0.04): none; 0 distinct "
                    "concepts")
