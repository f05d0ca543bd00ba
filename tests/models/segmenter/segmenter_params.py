"""Random parameters for the segmenter module tests (imported by tests, not collected)."""


def random_params(module, input_shape, seed=0):
    """Random parameters of the right shapes without running ``init`` (slow to compile):
    normal weights of scale 0.2, BatchNorm variances in [0.5, 1.5)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(seed)
    x = jax.ShapeDtypeStruct(tuple(input_shape), jnp.float32)
    shapes = jax.eval_shape(module.init, jax.random.key(0), x)["params"]

    def draw(path, leaf):
        if path[-1].key == "var":
            return rng.uniform(0.5, 1.5, leaf.shape).astype(np.float32)
        return (0.2 * rng.standard_normal(leaf.shape)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(draw, shapes)
