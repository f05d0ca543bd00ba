"""Tests of jaxdissect/world/vit.py: the world ViT is plain Flax, read through the wrapper."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.base import Net
from jaxdissect.models.edits import ablate
from jaxdissect.world.vit import WorldViT, sizes_of, wrapped_vit

SMALL = {"num_classes": 9, "patch": 8, "dim": 16, "depth": 2, "heads": 2, "mlp_dim": 32}


def test_world_vit_layers_are_token_grids_and_edits_reach_the_logits():
    module = WorldViT(**SMALL)
    assert sizes_of(module) == SMALL
    variables = jax.jit(module.init)(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
    net = Net(wrapped_vit(SMALL), variables)
    assert {"patchify", "block1", "block2", "block2/mlp_in", "head"} <= set(net.layer_names)
    layout = net.module.layouts["block2"]
    assert (layout.kind, layout.grid, layout.prefix) == ("tokens", (8, 8), 1)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 64, 64, 3)), jnp.float32)
    logits, acts = net(x, layers=["block1", "block1#prefix", "patchify"])
    np.testing.assert_allclose(logits, module.apply(variables, x), rtol=1e-5, atol=1e-6)
    assert acts["block1"].shape == (3, 8, 8, 16) and acts["block1#prefix"].shape == (3, 1, 16)
    assert acts["patchify"].shape == (3, 8, 8, 16)
    edited, _ = net(x, edits={"block1": ablate(list(range(8)), 16)})
    assert not np.allclose(edited, logits)
