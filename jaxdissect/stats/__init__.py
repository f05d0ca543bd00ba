"""Streaming statistics as pytrees with pure init / update / merge / finalize.

Thresholds (exact quantiles by radix selection), IoU pixel counts and top-k images per unit.
Each update jits over a batch split across devices; counts are integers, so results are
bit-identical for any batch size and device count.
"""

from jaxdissect.stats.counts import CountsResult, CountsState, IoUCounts
from jaxdissect.stats.quantile import ExactQuantile, QuantileState
from jaxdissect.stats.topk import TopK, TopKState
from jaxdissect.stats.wide_count import WideCount

__all__ = [
    "CountsResult",
    "CountsState",
    "ExactQuantile",
    "IoUCounts",
    "QuantileState",
    "TopK",
    "TopKState",
    "WideCount",
]
