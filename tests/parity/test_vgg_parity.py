"""VGG16: torch reference with the published keys -> convert -> load; output and every layer
agree to 1e-5 relative error in float32 (64x64 inputs by default, 224x224 in the slow test)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_nets as T  # noqa: E402

from jaxdissect.models.vgg import VGG16  # noqa: E402
from ports.vgg import convert_vgg16  # noqa: E402


@pytest.fixture(scope="module")
def small_vgg(tmp_path_factory):
    model = T.randomize(T.vgg16(num_classes=11, pool5_size=2), seed=1, image_size=64)
    return model, T.save_and_convert(model, tmp_path_factory.mktemp("vgg"))


def test_vgg16_parity_small(small_vgg):
    model, net = small_vgg
    assert net.meta["arch"] == "vgg16"  # detected from the keys
    assert net.meta["sizes"] == {"num_classes": 11, "pool5_size": 2}
    assert net.meta["normalization"]["size"] == 64
    assert isinstance(net.module, VGG16) and net.meta["default_layer"] == "conv5_3"
    T.check_parity(model, net, 64)


def test_torchvision_numbering_gives_the_same_params(small_vgg):
    model, net = small_vgg
    plain = T.vgg16(num_classes=11, pool5_size=2, torchvision_names=True)
    plain.load_state_dict(dict(zip(plain.state_dict(), model.state_dict().values(), strict=True)))
    assert "features.28.weight" in plain.state_dict()
    state = {k: v.numpy() for k, v in plain.state_dict().items()}
    params, sizes = convert_vgg16(state)
    assert sizes == net.meta["sizes"]
    for name in ("conv1_1", "conv5_3", "fc6", "fc8a"):
        for leaf in ("kernel", "bias"):
            np.testing.assert_array_equal(params[name][leaf], np.asarray(net.params[name][leaf]))


@pytest.mark.slow
def test_vgg16_parity_published_size(tmp_path):
    model = T.randomize(T.vgg16(num_classes=365), seed=2, image_size=224)
    net = T.save_and_convert(model, tmp_path, arch="vgg16")
    assert net.meta["sizes"] == {"num_classes": 365, "pool5_size": 7}
    T.check_parity(model, net, 224, batch=2)
