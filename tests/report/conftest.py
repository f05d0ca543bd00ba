"""Fixtures for the report tests: synthetic results folders in the dissection's format."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixture_results import make_layer, make_results  # noqa: E402


@pytest.fixture
def results_dir(tmp_path):
    """Two runs, three layers of 12 units with PNG strips, two experiment files."""
    return make_results(tmp_path / "results")


@pytest.fixture
def layer_dir(tmp_path):
    """One pnas2020 layer folder with strips."""
    return make_layer(tmp_path / "conv5", "conv5", num_units=9, seed=4)
