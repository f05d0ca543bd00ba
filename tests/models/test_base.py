"""What every model shares: the one layer-name check, and the model facts a ``Net`` exposes
(images or latents, input normalisation, latent size) read from its architecture spec."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

import jaxdissect
from jaxdissect.models.alexnet import AlexNet
from jaxdissect.models.base import Net, check_layers
from jaxdissect.models.registry import get_arch


def test_check_layers_names_the_unknown_and_lists_the_valid():
    check_layers(["b"], ("a", "b"), "M")
    with pytest.raises(ValueError, match=r"unknown layer\(s\) \['c', 'd'\] for M; "
                       "dissectable layers are: a, b$"):
        check_layers(["a", "c", "d"], ("a", "b"), "M")
    with pytest.raises(ValueError, match=r"\['blok/conv'\] for M; nearest: block/conv; "
                       r"dissectable layers are"):
        check_layers(["blok/conv"], ("stem", "block/conv"), "M", nearest=True)
    with pytest.raises(ValueError, match=r"for M \(3 layers; list them with `jaxdissect layers"):
        check_layers(["x"], ("a", "b", "c"), "M", list_limit=2)


def test_converted_classifier_facts_come_from_its_spec():
    sizes = {"num_classes": 5, "pool5_size": 1}
    spec = get_arch("alexnet")
    recorded = Net(spec.make_module(sizes), None, {"arch": "alexnet", "sizes": sizes,
                                                  "normalization": spec.normalization_json(sizes)})
    unrecorded = Net(spec.make_module(sizes), None, {"arch": "alexnet", "sizes": sizes})
    for net in (recorded, unrecorded):
        assert net.inputs == "image" and not net.is_generator and net.latent_size is None
        assert net.normalization == spec.normalization(sizes) == net.image_normalization()


def test_generator_facts_come_from_its_spec():
    sizes = {"sizes": [16, 8, 8]}
    spec = get_arch("proggan")
    assert spec.inputs == "latent" and spec.latent_size(sizes) == 16
    net = Net(spec.make_module(sizes), None,
              {"arch": "proggan", "sizes": sizes, "normalization": None})
    assert net.is_generator and net.latent_size == 16 and net.normalization is None
    with pytest.raises(ValueError, match="is a generator .* no input normalisation"):
        net.image_normalization()


def test_a_module_bound_by_hand_reads_images_normalised_its_way():
    module = AlexNet(num_classes=3, pool5_size=1)
    net = Net(module, None)
    assert net.inputs == "image" and net.normalization == module.normalization
    assert Net(AlexNet(), None, {"normalization": {"mean": [0.5] * 3, "std": [0.25] * 3,
                                                    "size": 8}}).normalization.size == 8


class Tiny(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(4, name="dense")(x)


def test_wrapped_models_record_their_facts():
    module = Tiny()
    variables = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 6)))
    gen = jaxdissect.wrap(module, variables, inputs="latent", latent_dim=6)
    assert gen.is_generator and gen.latent_size == 6 and gen.normalization is None
    with pytest.raises(ValueError, match="no input normalisation"):
        gen.image_normalization()
