"""The Flax colour segmenter on its own: shapes and registration."""

import jax
import jax.numpy as jnp

from jaxdissect.models.registry import get_arch
from jaxdissect.models.segmenter.colornet import ColorNet


def test_published_shapes():
    model = ColorNet()
    x = jax.ShapeDtypeStruct((2, 256, 256, 3), jnp.float32)
    variables = jax.eval_shape(model.init, jax.random.key(0), x)
    logits, acts = jax.eval_shape(lambda v, x: model.apply(v, x, layers=model.LAYERS),
                                  variables, x)
    assert logits.shape == (2, 32, 32, 12) and acts["layer4"].shape == (2, 32, 32, 512)
    p = variables["params"]
    assert p["conv_last"]["conv"]["kernel"].shape == (3, 3, 2560, 512)
    assert p["ppm_3"]["conv"]["kernel"].shape == (1, 1, 512, 512)
    assert p["classifier"]["bias"].shape == (12,)


def test_registered_for_convert():
    spec = get_arch("colorseg")
    sizes = {"num_classes": 5, "ppm_dim": 4, "last_dim": 4, "stem_widths": [4, 4, 8],
             "stage_sizes": [2, 2, 2, 2], "stage_widths": [4, 4, 8, 8]}
    module = spec.make_module(sizes)
    assert isinstance(module, ColorNet) and module.num_classes == 5
    x = jax.ShapeDtypeStruct((1, 32, 32, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), x)
    logits, _ = jax.eval_shape(module.apply, variables, x)
    assert logits.shape == (1, 4, 4, 5)
