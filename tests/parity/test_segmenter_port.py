"""The segmenter converter: folder layout, strict checks listing every problem, ignored keys,
labels that disagree with the tensors, and the ``jaxdissect convert`` command."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segmenter_labels import TINY_CLASSES, TINY_COLOR_LABELS, TINY_LABELS  # noqa: E402
from segmenter_torch import (  # noqa: E402
    make_colornet,
    make_upernet,
    save_folder,
)

from ports.segmenter import (  # noqa: E402
    SegmodelFiles,
    convert_colorseg,
    convert_upernet50,
    load_segmodel_folder,
)


def tiny_upernet_files():
    encoder, decoder = make_upernet((4, 4, 8), (3, 4, 6, 3), (2, 4, 4, 8), 8, 4, TINY_CLASSES)
    state = {f"encoder.{k}": v.numpy() for k, v in encoder.state_dict().items()}
    state |= {f"decoder.{k}": v.numpy() for k, v in decoder.state_dict().items()}
    return SegmodelFiles({k: v for k, v in state.items() if "num_batches" not in k},
                         TINY_LABELS, "upp")


def test_strict_errors_list_every_problem():
    files = tiny_upernet_files()
    state = dict(files.state)
    del state["encoder.layer3.5.bn2.running_var"]
    state["decoder.fpn_out.1.0.0.weight"] = np.zeros((8, 8, 1, 1), np.float32)
    state["decoder.extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError) as err:
        convert_upernet50(SegmodelFiles(state, files.labels, "upp"))
    msg = str(err.value)
    assert "missing: encoder.layer3.5.bn2.running_var" in msg
    assert "unexpected: decoder.extra.weight" in msg
    assert "decoder.fpn_out.1.0.0.weight [8, 8, 1, 1] (expected [8, 8, 3, 3])" in msg


def test_labels_must_agree_with_the_tensors():
    files = tiny_upernet_files()
    labels = json.loads(json.dumps(TINY_LABELS))
    labels["material"].append("stone")
    with pytest.raises(ValueError, match="names 6 materials but the checkpoint has 5"):
        convert_upernet50(SegmodelFiles(files.state, labels, "upp"))
    encoder, decoder = make_colornet((4, 4, 8), (4, 4, 8, 8), 4, 4, 12)
    state = {f"encoder.{k}": v.numpy() for k, v in encoder.state_dict().items()}
    state |= {f"decoder.{k}": v.numpy() for k, v in decoder.state_dict().items()}
    state = {k: v for k, v in state.items() if "num_batches" not in k}
    with pytest.raises(ValueError, match=r"lacks \['labels', 'imageformat'\]"):
        convert_colorseg(SegmodelFiles(state, TINY_LABELS, "color"))
    few = {**TINY_COLOR_LABELS, "labels": TINY_COLOR_LABELS["labels"][:8]}
    with pytest.raises(ValueError, match="names 8 colour classes but the checkpoint has 12"):
        convert_colorseg(SegmodelFiles(state, few, "color"))


def test_wrong_arch_names_the_missing_tensor():
    files = tiny_upernet_files()
    with pytest.raises(ValueError, match="decoder has no tensor 'ppm.0.1.weight'"):
        convert_colorseg(SegmodelFiles(files.state, TINY_COLOR_LABELS, "upp"))


def test_folder_layout_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_segmodel_folder(tmp_path / "nothing")
    encoder, decoder = make_colornet((4, 4, 8), (4, 4, 8, 8), 4, 4, 12)
    folder = save_folder(tmp_path / "color", encoder, decoder, TINY_COLOR_LABELS, epoch=20)
    (folder / "decoder_epoch_20.pth").rename(folder / "decoder_epoch_19.pth")
    with pytest.raises(FileNotFoundError, match="no matching encoder_epoch_N.pth"):
        load_segmodel_folder(folder)
    save_folder(folder, encoder, decoder, TINY_COLOR_LABELS, epoch=25)
    files = load_segmodel_folder(folder)  # epoch 25, the only complete pair
    assert "encoder.layer4.1.conv2.weight" in files.state
    (folder / "labels.json").unlink()
    with pytest.raises(FileNotFoundError, match="no labels.json"):
        load_segmodel_folder(folder)


def test_convert_command_writes_a_loadable_model(tmp_path, capsys):
    import argparse

    from jaxdissect.checkpoint import load
    from jaxdissect.commands import convert as convert_command

    encoder, decoder = make_colornet((4, 4, 8), (4, 4, 8, 8), 4, 4, 12)
    save_folder(tmp_path / "color", encoder, decoder, TINY_COLOR_LABELS, epoch=20)
    parser = argparse.ArgumentParser()
    convert_command.register(parser.add_subparsers())
    args = parser.parse_args(["convert", str(tmp_path / "color"), str(tmp_path / "out"),
                              "--arch", "colorseg"])
    assert args.func(args) == 0 and "colorseg" in capsys.readouterr().out
    net = load(tmp_path / "out")
    assert net.meta["sizes"]["labels"]["labels"][1] == {"name": "black", "category": "color"}
    assert net.meta["sizes"]["labels"]["categories"] == [{"name": "color"}]
    assert any("deepsup" in k for k in net.meta["sizes"]["ignored"])
    assert net.layer_names == ["layer1", "layer2", "layer3", "layer4"]
