"""The PyTorch reference algorithm of bench/full_dissection.py: its rank sketch is a sketch of
the right quantile (rank error well under 1% at the benchmark's resolution)."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from full_dissection import RankSketch  # noqa: E402


def test_rank_sketch_finds_the_quantile():
    rng = np.random.default_rng(0)
    values = np.maximum(rng.standard_normal((200_000, 3)), 0).astype(np.float32)
    values[:, 2] *= 7
    sketch = RankSketch(3, resolution=1024)
    for chunk in np.array_split(values, 37):  # uneven batches, several compactions
        sketch.add(torch.as_tensor(chunk))
    assert sum(level.shape[1] for level in sketch.levels) < 8 * 1024  # a sketch, not a copy
    found = sketch.quantile(0.99).numpy()
    rank = (values < found).mean(axis=0)  # the fraction below the sketch's answer
    np.testing.assert_allclose(rank, 0.99, atol=0.002)
