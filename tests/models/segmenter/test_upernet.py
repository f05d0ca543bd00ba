"""The Flax UPerNet on its own: shapes, layers, edits, registration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from segmenter_params import random_params

from jaxdissect.models import edits as E
from jaxdissect.models.registry import get_arch
from jaxdissect.models.segmenter.upernet import UPerNet

SMALL = dict(num_objects=12, num_parts=16, num_materials=5, fpn_dim=8, ppm_dim=8,
             stem_widths=(8, 8, 8), stage_sizes=(1, 1, 1, 1), stage_widths=(4, 4, 8, 8))


def test_published_shapes():
    model = UPerNet()
    x = jax.ShapeDtypeStruct((1, 256, 256, 3), jnp.float32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    logits, acts = jax.eval_shape(lambda v, x: model.apply(v, x, layers=model.LAYERS),
                                  variables, x)
    assert {k: v.shape for k, v in logits.items()} == {
        "object": (1, 64, 64, 336), "part": (1, 64, 64, 427), "material": (1, 64, 64, 26)}
    assert acts["fusion"].shape == (1, 64, 64, 512) and acts["layer4"].shape == (1, 8, 8, 2048)
    p = variables["params"]
    assert p["ppm_last_conv"]["conv"]["kernel"].shape == (3, 3, 4096, 512)
    assert p["conv_fusion"]["conv"]["kernel"].shape == (3, 3, 2048, 512)
    assert "scene_head" not in p


def test_edits_and_layer_errors(rng):
    model = UPerNet(**SMALL)
    x = jnp.asarray(rng.standard_normal((3, 32, 32, 3)) * 50, jnp.float32)
    params = random_params(model, x.shape)
    run = jax.jit(lambda p, x, e: model.apply({"params": p}, x, layers=("layer4",), edits=e))
    base, _ = run(params, x, {"layer4": E.ablate([], 32)})  # an empty edit: the plain model
    edited, acts = run(params, x, {"layer4": E.ablate(list(range(32)), 32)})
    assert not np.asarray(acts["layer4"]).any()
    assert not np.allclose(edited["object"], base["object"])
    with pytest.raises(ValueError, match="dissectable layers are: layer1"):
        model.apply({"params": params}, x, layers=("conv5",))


def test_registered_for_convert():
    spec = get_arch("upernet50")
    sizes = {**SMALL, "stem_widths": [8, 8, 8], "stage_sizes": [1, 1, 1, 1],
             "stage_widths": [4, 4, 8, 8]}
    module = spec.make_module(sizes, jnp.bfloat16)
    assert isinstance(module, UPerNet) and module.dtype == jnp.bfloat16
    assert spec.loader_fn().__name__ == "load_segmodel_folder"
    assert spec.normalization(sizes) is None
