"""Architecture registry: the built-in names, lookups, registration, and every spec's parts."""

import pytest

from jaxdissect.models import registry
from jaxdissect.models.base import Normalization
from jaxdissect.models.registry import (
    ArchSpec,
    arch_names,
    convertible_arch_names,
    get_arch,
    register_arch,
    resolve,
)

CLASSIFIERS = ("vgg16", "alexnet", "resnet18", "resnet50", "resnet152")


def test_classifiers_are_registered():
    assert set(CLASSIFIERS) <= set(arch_names())


def test_unknown_architecture_lists_known_ones():
    with pytest.raises(ValueError, match="unknown architecture 'vgg19'.*alexnet.*vgg16"):
        get_arch("vgg19")


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_spec_parts_fit_together(name):
    spec = get_arch(name)
    sizes = {"num_classes": 7, "pool5_size": 3}
    module = spec.make_module(sizes)
    assert spec.default_layer in module.LAYERS
    norm = spec.normalization(sizes)
    assert isinstance(norm, Normalization) and norm == module.normalization
    assert callable(spec.convert_fn()) and callable(spec.detect_fn())


def test_register_twice_is_an_error(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    spec = ArchSpec("toy-test", lambda s, d: None, lambda s: None, "x", "ports.vgg:convert_vgg16")
    assert register_arch(spec) is spec
    assert register_arch(spec) is spec  # the same spec again (a module re-import) is fine
    other = ArchSpec("toy-test", lambda s, d: None, lambda s: None, "y", "ports.vgg:convert_vgg16")
    with pytest.raises(ValueError, match="'toy-test' is already registered"):
        register_arch(other)


def test_resolve_needs_module_and_function():
    assert resolve("ports.common:sha256_of").__name__ == "sha256_of"
    with pytest.raises(ValueError, match="must look like 'package.module:function'"):
        resolve("ports.common.sha256_of")


def test_an_architecture_may_have_no_converter(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    spec = register_arch(ArchSpec("toy-trained", lambda s, d: None, lambda s: None, "x"))
    assert "toy-trained" in arch_names() and "toy-trained" not in convertible_arch_names()
    with pytest.raises(ValueError, match="'toy-trained' has no converter .* architectures "
                       "that convert: alexnet, colorseg, proggan"):
        spec.convert_fn()


def test_spec_says_what_the_model_reads():
    assert get_arch("vgg16").inputs == "image" and get_arch("vgg16").latent_size is None
    assert get_arch("proggan").inputs == "latent"
    with pytest.raises(ValueError, match="reads latents: give latent_size"):
        ArchSpec("toy-gan", lambda s, d: None, lambda s: None, "x", inputs="latent")
    with pytest.raises(ValueError, match="inputs='text', choose one of image, latent"):
        ArchSpec("toy-text", lambda s, d: None, lambda s: None, "x", inputs="text")
