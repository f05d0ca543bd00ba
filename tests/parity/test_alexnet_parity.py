"""Caffe AlexNet (grouped convs, LRN): torch reference -> convert -> load; output and every layer
agree to 1e-5 relative error in float32 (99x99 inputs by default, 227x227 in the slow test)."""

import pytest

torch = pytest.importorskip("torch")

import torch_nets as T  # noqa: E402


def test_alexnet_parity_small(tmp_path):
    model = T.randomize(T.alexnet(num_classes=9, pool5_size=2), seed=3)
    net = T.save_and_convert(model, tmp_path)
    assert net.meta["arch"] == "alexnet"
    assert net.meta["sizes"] == {"num_classes": 9, "pool5_size": 2}
    assert net.meta["normalization"]["size"] == 99
    T.check_parity(model, net, 99)


@pytest.mark.slow
def test_alexnet_parity_published_size(tmp_path):
    model = T.randomize(T.alexnet(num_classes=365), seed=4)
    net = T.save_and_convert(model, tmp_path, arch="alexnet")
    assert net.meta["normalization"]["size"] == 227
    T.check_parity(model, net, 227, batch=2)
