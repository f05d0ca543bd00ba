"""Timing shared by the benchmarks: medians of alternating calls after warm-up."""

from __future__ import annotations

import statistics
import time


def median_seconds(calls, warmup: int, runs: int) -> list[float]:
    """Median wall time of each call over ``runs`` rounds after ``warmup`` untimed rounds.

    The calls alternate within a round, so a machine shared with other work slows them alike.
    """
    for _ in range(warmup):
        for call in calls:
            call()
    times = [[] for _ in calls]
    for _ in range(runs):
        for call, record in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            record.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]
