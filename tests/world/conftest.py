"""Helpers for the world model tests: random parameters without compiling an init."""

import jax
import numpy as np
import pytest


def random_params(module, *example_args, seed=0):
    """He-scaled normal weights and zero biases in the shapes ``module.init`` would give.

    Tracing ``init`` for shapes only avoids compiling the initialisers (tens of seconds on a
    busy CPU for many small models).
    """
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), *example_args)["params"]
    rng = np.random.default_rng(seed)

    def fill(leaf):
        if leaf.ndim == 1:
            return np.zeros(leaf.shape, np.float32)
        fan_in = int(np.prod(leaf.shape[:-1]))
        return (rng.standard_normal(leaf.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return jax.tree.map(fill, shapes)


@pytest.fixture(scope="session")
def make_params():
    return random_params
