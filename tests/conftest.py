"""Test configuration: 8 simulated CPU devices, set before jax is imported anywhere."""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def devices():
    """All 8 simulated devices."""
    assert jax.device_count() == 8, "tests expect 8 simulated CPU devices"
    return jax.devices()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
