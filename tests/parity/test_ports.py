"""Converter checks: wrong checkpoints fail listing every problem, wrappers and prefixes are
accepted, architectures are detected from keys, sources are hashed, DEST is never half written."""

import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_nets as T  # noqa: E402

from jaxdissect import cli  # noqa: E402
from jaxdissect.checkpoint import read_meta  # noqa: E402
from ports import convert  # noqa: E402
from ports.common import clean_state_dict, detect_arch, load_state_dict, sha256_of  # noqa: E402
from ports.resnet import convert_resnet18  # noqa: E402

META_BUILDERS = {
    "vgg16": T.vgg16,
    "alexnet": T.alexnet,
    "resnet18": T.resnet18,
    "resnet50": T.resnet50,
    "resnet152": T.resnet152_torch7,
}


def meta_keys(builder, **kw):
    with torch.device("meta"):  # keys and shapes only, no memory
        return set(builder(**kw).state_dict())


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("r18")
    state = T.randomize(T.resnet18(num_classes=5), seed=9, image_size=32).state_dict()
    torch.save(state, tmp / "r18.pth")
    return tmp / "r18.pth", state


def numpy_state(state):
    return {k: v.numpy() for k, v in state.items() if not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize("arch", list(META_BUILDERS))
def test_detection_from_keys(arch):
    assert detect_arch(meta_keys(META_BUILDERS[arch])) == arch


def test_detection_of_torchvision_vgg_numbering_and_failure():
    assert detect_arch(meta_keys(T.vgg16, torchvision_names=True)) == "vgg16"
    keys = meta_keys(T.vgg16, torchvision_names=True) | {"features.30.weight"}  # VGG19-like
    with pytest.raises(ValueError, match="cannot tell the architecture.*pass --arch.*resnet152"):
        detect_arch(keys)
    resnet34 = T.TorchvisionResNet(T.BasicBlock, (3, 4, 6, 3))
    with pytest.raises(ValueError, match="cannot tell the architecture"):
        detect_arch(resnet34.state_dict())


def test_strict_check_lists_every_problem(resnet18_file):
    state = numpy_state(resnet18_file[1])
    del state["layer2.0.bn1.running_var"], state["layer4.1.conv1.weight"]
    state["extra.weight"] = np.zeros(3, np.float32)
    state["layer3.1.conv2.weight"] = np.zeros((256, 256, 3, 1), np.float32)
    with pytest.raises(ValueError) as err:
        convert_resnet18(state)
    msg = str(err.value)
    assert "2 missing: layer2.0.bn1.running_var, layer4.1.conv1.weight" in msg
    assert "1 unexpected: extra.weight" in msg
    assert "1 mis-shaped: layer3.1.conv2.weight [256, 256, 3, 1] (expected [256, 256, 3, 3])" in msg
    assert "\n" not in msg


def test_wrong_architecture_fails_and_writes_nothing(resnet18_file, tmp_path):
    with pytest.raises(ValueError, match="does not match architecture 'alexnet': 15 missing: "
                       "conv1.bias, conv2.bias.*101 unexpected: bn1.bias.*1 mis-shaped: "
                       r"conv1.weight.*\(its keys look like 'resnet18'\)$"):
        convert(resnet18_file[0], tmp_path / "out", arch="alexnet")
    assert list(tmp_path.iterdir()) == []


def test_wrapper_and_module_prefix_accepted(resnet18_file, tmp_path):
    src, state = resnet18_file
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, wrapped)
    loaded = load_state_dict(wrapped)
    assert set(loaded) == set(numpy_state(state))
    assert all(v.dtype == np.float32 for v in loaded.values())
    plain, _ = convert_resnet18(numpy_state(state))
    unwrapped, _ = convert_resnet18(loaded)
    np.testing.assert_array_equal(plain["layer2_0"]["downsample_bn"]["var"],
                                  unwrapped["layer2_0"]["downsample_bn"]["var"])


def test_meta_hash_overwrite_and_force(resnet18_file, tmp_path):
    src, _ = resnet18_file
    dest = convert(src, tmp_path / "conv")
    meta = read_meta(dest)
    assert meta["source"] == {"name": "r18.pth",
                              "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
    assert meta["arch"] == "resnet18" and meta["layers"] == ["conv1", "layer1", "layer2",
                                                             "layer3", "layer4"]
    assert meta["normalization"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                     "size": 224}
    assert json.loads((dest / "meta.json").read_text())["jaxdissect_version"]
    with pytest.raises(FileExistsError, match="already exists; pass --force"):
        convert(src, dest)
    assert convert(src, dest, force=True) == dest


def test_unreadable_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_state_dict(tmp_path / "none.pth")
    with pytest.raises(FileNotFoundError, match="is a directory"):
        load_state_dict(tmp_path)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read .*junk.pth as a PyTorch state dict"):
        load_state_dict(tmp_path / "junk.pth")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pth")  # a pickled module, not weights
    with pytest.raises(ValueError, match="cannot read .*module.pth") as err:
        load_state_dict(tmp_path / "module.pth")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="entry 'step' is a int, not a tensor"):
        clean_state_dict({"w": torch.zeros(1), "step": 3})
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        clean_state_dict([torch.zeros(1)])


def test_sha256_of_folder(tmp_path):
    (tmp_path / "a").write_bytes(b"1")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"2")
    first = sha256_of(tmp_path)
    (tmp_path / "sub" / "b").write_bytes(b"3")
    assert sha256_of(tmp_path) != first and len(first) == 64


def test_command_line(resnet18_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ("convert",))
    src, _ = resnet18_file
    assert cli.main(["convert", str(src), str(tmp_path / "m"), "--arch", "resnet18"]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "m" / "meta.json").is_file()
    assert cli.main(["convert", str(src), str(tmp_path / "m")]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert cli.main(["convert", str(src), str(tmp_path / "m"), "--force"]) == 0
    assert cli.main(["convert", str(src), str(tmp_path / "n"), "--arch", "vgg19"]) == 2
    assert "unknown architecture 'vgg19'" in capsys.readouterr().err
