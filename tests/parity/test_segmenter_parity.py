"""The Flax segmenters against the PyTorch references (published key names, random weights):
converted through the published folder layout, logits and layers agree to 1e-5 relative."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segmenter_labels import (  # noqa: E402
    COLOR_NAMES,
    TINY_CLASSES,
    TINY_COLOR_LABELS,
    TINY_LABELS,
    published_labels,
)
from segmenter_torch import (  # noqa: E402
    TINY_COLOR,
    TINY_UPERNET,
    make_colornet,
    make_upernet,
    save_folder,
)

from jaxdissect.models.segmenter.colornet import build_colornet  # noqa: E402
from jaxdissect.models.segmenter.upernet import build_upernet  # noqa: E402
from ports.segmenter import convert_colorseg, convert_upernet50  # noqa: E402


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def nhwc(t):
    return t.permute(0, 2, 3, 1).numpy()


def upernet_parity(tmp_path, cfg, classes, labels, size, batch, dtype=jnp.float32):
    encoder, decoder = make_upernet(cfg["stem"], cfg["stage_sizes"], cfg["widths"],
                                    cfg["fpn_dim"], cfg["ppm_dim"], classes, seed=3)
    folder = save_folder(tmp_path / "upp", encoder, decoder, labels, epoch=40)
    params, sizes = convert_upernet50(folder)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(5)) * 60
    with torch.no_grad():
        feats = encoder(x)
        ref, fusion = decoder(feats)
    model = build_upernet(sizes, dtype)
    logits, acts = jax.jit(lambda p, x: model.apply({"params": p}, x, layers=model.LAYERS))(
        params, nhwc(x))
    return sizes, logits, acts, ref, dict(zip(model.LAYERS, [*feats, fusion], strict=True))


def test_tiny_upernet_converts_and_matches(tmp_path):
    sizes, logits, acts, ref, ref_acts = upernet_parity(
        tmp_path, TINY_UPERNET, TINY_CLASSES, TINY_LABELS, size=128, batch=3)
    assert sizes["stage_sizes"] == [3, 4, 6, 3] and sizes["num_parts"] == 16
    assert sizes["ignored"] and all(k.startswith("decoder.scene_head.") for k in sizes["ignored"])
    for head in ("object", "part", "material"):
        assert logits[head].shape == (3, 32, 32, TINY_CLASSES[head])
        assert rel_err(logits[head], nhwc(ref[head])) < 1e-5, head
    for name, value in ref_acts.items():
        assert rel_err(acts[name], nhwc(value)) < 1e-5, name


def test_tiny_upernet_bfloat16_runs_close(tmp_path):
    _, logits, _, ref, _ = upernet_parity(tmp_path, TINY_UPERNET, TINY_CLASSES, TINY_LABELS,
                                          size=64, batch=1, dtype=jnp.bfloat16)
    assert logits["object"].dtype == jnp.bfloat16
    assert rel_err(logits["object"], nhwc(ref["object"])) < 0.1


def colornet_parity(tmp_path, cfg, size, batch):
    encoder, decoder = make_colornet(cfg["stem"], cfg["widths"], cfg["ppm_dim"], cfg["last_dim"],
                                     len(COLOR_NAMES), seed=7)
    folder = save_folder(tmp_path / "color", encoder, decoder, TINY_COLOR_LABELS, epoch=20)
    params, sizes = convert_colorseg(folder)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        feats = encoder(x)
        ref = decoder(feats)
    model = build_colornet(sizes)
    logits, acts = jax.jit(lambda p, x: model.apply({"params": p}, x, layers=model.LAYERS))(
        params, nhwc(x))
    return sizes, logits, acts, ref, feats


def test_tiny_colornet_converts_and_matches(tmp_path):
    sizes, logits, acts, ref, feats = colornet_parity(tmp_path, TINY_COLOR, size=64, batch=3)
    assert sizes["num_classes"] == 12 and sizes["stage_sizes"] == [2, 2, 2, 2]
    assert any(k.startswith("decoder.cbr_deepsup.") for k in sizes["ignored"])
    assert any(k.startswith("decoder.conv_last_deepsup.") for k in sizes["ignored"])
    assert logits.shape == (3, 8, 8, 12)
    assert rel_err(logits, nhwc(ref)) < 1e-5
    for name, value in zip(("layer1", "layer2", "layer3", "layer4"), feats, strict=True):
        assert rel_err(acts[name], nhwc(value)) < 1e-5, name


@pytest.mark.slow
def test_full_size_upernet_matches(tmp_path):
    cfg = dict(stem=(64, 64, 128), stage_sizes=(3, 4, 6, 3), widths=(64, 128, 256, 512),
               fpn_dim=512, ppm_dim=512)
    classes = {"object": 336, "part": 427, "material": 26, "scene": 365}
    sizes, logits, acts, ref, ref_acts = upernet_parity(
        tmp_path, cfg, classes, published_labels(), size=256, batch=1)
    assert sizes["num_parts"] == 427
    for head in ("object", "part", "material"):
        assert logits[head].shape[1:3] == (64, 64)
        assert rel_err(logits[head], nhwc(ref[head])) < 1e-5, head
    for name, value in ref_acts.items():
        assert rel_err(acts[name], nhwc(value)) < 1e-5, name


@pytest.mark.slow
def test_full_size_colornet_matches(tmp_path):
    cfg = dict(stem=(64, 64, 128), widths=(64, 128, 256, 512), ppm_dim=512, last_dim=512)
    _, logits, _, ref, _ = colornet_parity(tmp_path, cfg, size=256, batch=1)
    assert logits.shape == (1, 32, 32, 12)
    assert rel_err(logits, nhwc(ref)) < 1e-5
