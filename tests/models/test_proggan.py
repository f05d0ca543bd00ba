"""The Flax ProGAN generator on its own: layer names and sizes, building blocks, edits, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.models import edits as E
from jaxdissect.models.base import Net
from jaxdissect.models.proggan import (
    CELEBAHQ_1024_SIZES,
    LSUN_256_SIZES,
    ProgressiveGenerator,
    output_name,
    pixel_norm,
    upsample_nearest_x2,
)

TINY = (16, 16, 8, 8)  # 6 layers, 16x16


def shapes_of(sizes):
    gen = ProgressiveGenerator(sizes=sizes)
    z = jax.ShapeDtypeStruct((2, sizes[0]), jnp.float32)
    variables = jax.eval_shape(gen.init, jax.random.key(0), z)
    out, acts = jax.eval_shape(
        lambda v, z: gen.apply(v, z, layers=gen.LAYERS), variables, z
    )
    return gen, variables["params"], out, acts


def random_params(gen, rng):
    """Normal random parameters of the generator's shapes (without running ``init``)."""
    _, params, _, _ = shapes_of(gen.sizes)
    return jax.tree.map(lambda p: rng.standard_normal(p.shape).astype(np.float32), params)


def test_lsun_256_layers_and_sizes():
    gen, params, out, acts = shapes_of(LSUN_256_SIZES)
    assert gen.LAYERS == tuple(f"layer{i}" for i in range(1, 15))
    assert out.shape == (2, 256, 256, 3)
    assert acts["layer4"].shape == (2, 8, 8, 512)
    assert acts["layer5"].shape == (2, 16, 16, 512)
    assert acts["layer14"].shape == (2, 256, 256, 32)
    assert set(params) == set(gen.LAYERS) | {"output_256x256"}
    assert params["layer1"]["conv"]["kernel"].shape == (4, 4, 512, 512)
    assert params["output_256x256"]["conv"]["kernel"].shape == (1, 1, 32, 3)
    assert params["layer7"]["wscale"]["b"].shape == (256,)


def test_celebahq_1024_has_18_layers():
    gen, params, out, acts = shapes_of(CELEBAHQ_1024_SIZES)
    assert len(gen.LAYERS) == 18 and output_name(CELEBAHQ_1024_SIZES) == "output_1024x1024"
    assert out.shape == (2, 1024, 1024, 3)
    assert acts["layer18"].shape == (2, 1024, 1024, 16)
    assert "output_1024x1024" in params


def test_pixel_norm_and_nearest_upsampling(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    want = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(pixel_norm(jnp.asarray(x)), want, rtol=1e-6)
    up = np.asarray(upsample_nearest_x2(jnp.asarray(x)))
    assert up.shape == (2, 6, 8, 5)
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(2, axis=2))


def test_edits_through_net_and_vmapped_edits(rng):
    gen = ProgressiveGenerator(sizes=TINY)
    z = jnp.asarray(rng.standard_normal((3, 16)), jnp.float32)
    params = random_params(gen, rng)
    net = Net(gen, params)
    img, acts = net(z, layers=["layer3", "layer4"])
    assert img.shape == (3, 16, 16, 3) and acts["layer3"].shape == (3, 8, 8, 8)
    edit = E.ablate([1, 4], 8)
    img_e, acts_e = net(z, layers=["layer3", "layer4"], edits={"layer3": edit})
    np.testing.assert_array_equal(np.asarray(acts_e["layer3"])[..., [1, 4]], 0.0)
    assert not np.allclose(img_e, img)
    stacked = E.stack_edits([{"layer3": E.ablate([u], 8)} for u in range(3)])
    imgs, _ = net.apply_edits(z, stacked)
    assert imgs.shape == (3, 3, 16, 16, 3)
    one, _ = net(z, edits={"layer3": E.ablate([2], 8)})
    np.testing.assert_allclose(imgs[2], one, rtol=1e-5, atol=1e-6)


def test_bad_input_names_the_problem():
    gen = ProgressiveGenerator(sizes=TINY)
    z = jnp.zeros((3, 16))
    params = random_params(gen, np.random.default_rng(0))
    with pytest.raises(ValueError, match="layer7.*dissectable layers are: layer1"):
        gen.apply({"params": params}, z, layers=("layer7",))
    with pytest.raises(ValueError, match=r"z of shape \(N, 16\)"):
        gen.apply({"params": params}, jnp.zeros((3, 12)))


def test_registered_for_convert_and_load():
    from jaxdissect.models.registry import get_arch

    spec = get_arch("proggan")
    module = spec.make_module({"sizes": list(TINY)}, jnp.bfloat16)
    assert isinstance(module, ProgressiveGenerator) and module.sizes == TINY
    assert module.dtype == jnp.bfloat16 and spec.normalization({}) is None
    assert spec.detect_fn()(["layer1.conv.weight", "layer1.wscale.b"])
    assert spec.convert_fn().__module__ == "ports.proggan"
