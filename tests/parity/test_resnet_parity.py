"""ResNet-18/50 (torchvision keys) and ResNet-152 (Torch7 keys): torch reference -> convert ->
load; output and every layer agree to 1e-5 relative error in float32 (64x64 by default, 224x224
in the slow tests)."""

import pytest

torch = pytest.importorskip("torch")

import torch_nets as T  # noqa: E402

BUILDERS = {"resnet18": T.resnet18, "resnet50": T.resnet50, "resnet152": T.resnet152_torch7}


@pytest.mark.parametrize("arch", list(BUILDERS))
def test_resnet_parity_small(tmp_path, arch):
    model = T.randomize(BUILDERS[arch](num_classes=13), seed=5, image_size=64)
    net = T.save_and_convert(model, tmp_path)
    assert net.meta["arch"] == arch  # detected from the keys
    assert net.meta["sizes"] == {"num_classes": 13}
    T.check_parity(model, net, 64)


@pytest.mark.slow
@pytest.mark.parametrize("arch", list(BUILDERS))
def test_resnet_parity_published_size(tmp_path, arch):
    model = T.randomize(BUILDERS[arch](num_classes=365), seed=6, image_size=224)
    net = T.save_and_convert(model, tmp_path, arch=arch)
    T.check_parity(model, net, 224, batch=2)
