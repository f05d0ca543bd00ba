"""PyTorch reference implementations of the two published segmenters, written here with the
published key names, and the checks of the pieces they rest on: precise ROI pooling by direct
numerical integration against the pooling matrices, and torch's resizes against ours.

Other parity tests import the builders below (``make_upernet``, ``make_colornet``, ...).
"""

from collections import OrderedDict

import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from jaxdissect.models.segmenter.resize import adaptive_avg_pool, resize_bilinear  # noqa: E402
from jaxdissect.models.segmenter.roi_pool import (  # noqa: E402
    precise_roi_matrix,
    precise_roi_pool,
)

# ---------------------------------------------------------------------------------------------
# Precise ROI pooling by direct integration (the reference's CUDA kernel, cell by cell)
# ---------------------------------------------------------------------------------------------

GAUSS = (0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0))  # 2-point rule on [0, 1]


def _sample(x, y, col):
    """x (N, C, H, W) read at integer (y, col), zero outside the map."""
    h, w = x.shape[2:]
    if 0 <= y < h and 0 <= col < w:
        return x[:, :, y, col]
    return torch.zeros(x.shape[:2], dtype=x.dtype)


def _interp(x, y, col):
    """The bilinear interpolant of x at real (y, col) (zero beyond the samples)."""
    y0, c0 = int(np.floor(y)), int(np.floor(col))
    fy, fc = y - y0, col - c0
    return ((1 - fy) * (1 - fc) * _sample(x, y0, c0) + (1 - fy) * fc * _sample(x, y0, c0 + 1)
            + fy * (1 - fc) * _sample(x, y0 + 1, c0) + fy * fc * _sample(x, y0 + 1, c0 + 1))


def prroi_pool_direct(x, bins):
    """Whole-map precise ROI pooling of x (N, C, H, W) into bins x bins: integrate the bilinear
    interpolant over each bin, unit cell by unit cell, with a 2x2 Gauss rule (exact for a
    bilinear function on a cell), and divide by the bin area."""
    n, c, h, w = x.shape
    out = torch.zeros(n, c, bins, bins, dtype=torch.float64)
    x = x.double()
    bh, bw = h / bins, w / bins
    for i in range(bins):
        for j in range(bins):
            y0, y1, x0, x1 = i * bh, (i + 1) * bh, j * bw, (j + 1) * bw
            total = 0
            for cy in range(int(np.floor(y0)), int(np.ceil(y1))):
                for cx in range(int(np.floor(x0)), int(np.ceil(x1))):
                    a, b = max(y0, cy), min(y1, cy + 1)
                    l, r = max(x0, cx), min(x1, cx + 1)
                    for gy in GAUSS:
                        for gx in GAUSS:
                            total = total + _interp(x, a + gy * (b - a), l + gx * (r - l)) * (
                                (b - a) * (r - l) / 4)
            out[:, :, i, j] = total / (bh * bw)
    return out.float()


def test_roi_matrix_published_example():
    np.testing.assert_allclose(precise_roi_matrix(8, 1)[0], [0.0625] + [0.125] * 7, rtol=1e-7)
    assert abs(precise_roi_matrix(8, 1).sum() - 0.9375) < 1e-6


@pytest.mark.parametrize("h,w", [(4, 4), (7, 5), (8, 8), (3, 1)])
def test_roi_matrices_equal_direct_integration(h, w):
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(h * 10 + w))
    nhwc = jnp.asarray(x.permute(0, 2, 3, 1).numpy())
    for bins in (1, 2, 3, 6):
        want = prroi_pool_direct(x, bins).permute(0, 2, 3, 1).numpy()
        got = np.asarray(precise_roi_pool(nhwc, bins))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src,dst", [((7, 5), (28, 20)), ((64, 64), (56, 56)), ((8, 8), (8, 8)),
                                     ((32, 32), (64, 64)), ((3, 9), (6, 4))])
def test_bilinear_matches_torch_interpolate(src, dst):
    x = torch.randn(2, 3, *src, generator=torch.Generator().manual_seed(1))
    want = F.interpolate(x, size=dst, mode="bilinear", align_corners=False)
    got = resize_bilinear(jnp.asarray(x.permute(0, 2, 3, 1).numpy()), dst)
    np.testing.assert_allclose(np.asarray(got), want.permute(0, 2, 3, 1).numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("src,dst", [((224, 224), (256, 256)), ((32, 32), (6, 6)),
                                     ((7, 7), (3, 3)), ((10, 7), (4, 9)), ((5, 5), (1, 1))])
def test_adaptive_pool_matches_torch(src, dst):
    x = torch.randn(1, 3, *src, generator=torch.Generator().manual_seed(2))
    want = F.adaptive_avg_pool2d(x, dst)
    got = adaptive_avg_pool(jnp.asarray(x.permute(0, 2, 3, 1).numpy()), dst)
    np.testing.assert_allclose(np.asarray(got), want.permute(0, 2, 3, 1).numpy(), rtol=1e-5,
                               atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The networks, with the published module names
# ---------------------------------------------------------------------------------------------


def cbr(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, 1, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


class TorchBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, w, stride=1, project=False):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, w, 1, bias=False), nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, w, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(w)
        self.conv3, self.bn3 = nn.Conv2d(w, 4 * w, 1, bias=False), nn.BatchNorm2d(4 * w)
        self.downsample = nn.Sequential(nn.Conv2d(cin, 4 * w, 1, stride, bias=False),
                                        nn.BatchNorm2d(4 * w)) if project else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class TorchBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, w, stride=1, project=False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, w, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.conv2, self.bn2 = nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w)
        self.downsample = nn.Sequential(nn.Conv2d(cin, w, 1, stride, bias=False),
                                        nn.BatchNorm2d(w)) if project else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


def _nostride_dilate(module, dilate):
    """The reference's conversion of a stage to stride 1 with dilation."""
    if isinstance(module, nn.Conv2d):
        if module.stride == (2, 2):
            module.stride = (1, 1)
            if module.kernel_size == (3, 3):
                module.dilation, module.padding = (dilate // 2,) * 2, (dilate // 2,) * 2
        elif module.kernel_size == (3, 3):
            module.dilation, module.padding = (dilate,) * 2, (dilate,) * 2


class TorchEncoder(nn.Module):
    """Deep-stem ResNet as in the published encoders (``Resnet`` / ``ResnetDilated``)."""

    def __init__(self, stem, stage_sizes, widths, block, dilated8=False):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, stem[0], 3, 2, 1, bias=False), nn.BatchNorm2d(stem[0])
        self.conv2 = nn.Conv2d(stem[0], stem[1], 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stem[1])
        self.conv3 = nn.Conv2d(stem[1], stem[2], 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(stem[2])
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem[2]
        for s, (n, w) in enumerate(zip(stage_sizes, widths, strict=True)):
            blocks = []
            for b in range(n):
                stride = 2 if s > 0 and b == 0 else 1
                blocks.append(block(cin, w, stride, project=b == 0))
                cin = w * block.expansion
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        if dilated8:
            self.layer3.apply(lambda m: _nostride_dilate(m, 2))
            self.layer4.apply(lambda m: _nostride_dilate(m, 4))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.maxpool(F.relu(self.bn3(self.conv3(x))))
        out = []
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self, name)(x)
            out.append(x)
        return out


class TorchUPerNetDecoder(nn.Module):
    """``pool(x, bins)`` is the whole-map precise ROI pooling (direct integration here; the
    benchmark swaps in a faster one)."""

    def __init__(self, fc_dim, inplanes, fpn_dim, ppm_dim, classes):
        super().__init__()
        self.pool = prroi_pool_direct
        self.ppm_conv = nn.ModuleList([cbr(fc_dim, ppm_dim, 1) for _ in range(4)])
        self.ppm_last_conv = cbr(fc_dim + 4 * ppm_dim, fpn_dim)
        self.fpn_in = nn.ModuleList([cbr(c, fpn_dim, 1) for c in inplanes[:-1]])
        self.fpn_out = nn.ModuleList([nn.Sequential(cbr(fpn_dim, fpn_dim)) for _ in range(3)])
        self.conv_fusion = cbr(4 * fpn_dim, fpn_dim)
        self.scene_head = nn.Sequential(cbr(fpn_dim, fpn_dim), nn.AdaptiveAvgPool2d(1),
                                        nn.Conv2d(fpn_dim, classes["scene"], 1, bias=True))
        for head in ("object", "part", "material"):
            setattr(self, f"{head}_head", nn.Sequential(
                cbr(fpn_dim, fpn_dim), nn.Conv2d(fpn_dim, classes[head], 1, bias=True)))

    def forward(self, conv_out):
        conv5 = conv_out[-1]
        size = conv5.shape[2:]
        ppm = [conv5]
        for scale, conv in zip((1, 2, 3, 6), self.ppm_conv, strict=True):
            pooled = self.pool(conv5, scale)
            ppm.append(conv(F.interpolate(pooled, size, mode="bilinear", align_corners=False)))
        f = self.ppm_last_conv(torch.cat(ppm, 1))
        pyramid = [f]
        for i in reversed(range(3)):
            lateral = self.fpn_in[i](conv_out[i])
            f = lateral + F.interpolate(f, size=lateral.shape[2:], mode="bilinear",
                                        align_corners=False)
            pyramid.append(self.fpn_out[i](f))
        pyramid.reverse()
        out = {"material": self.material_head(pyramid[0])}
        size = pyramid[0].shape[2:]
        fusion = [pyramid[0]] + [F.interpolate(p, size, mode="bilinear", align_corners=False)
                                 for p in pyramid[1:]]
        x = self.conv_fusion(torch.cat(fusion, 1))
        out["object"], out["part"] = self.object_head(x), self.part_head(x)
        return out, x


class TorchColorDecoder(nn.Module):
    def __init__(self, fc_dim, ppm_dim, last_dim, num_classes):
        super().__init__()
        self.ppm = nn.ModuleList([nn.Sequential(
            nn.AdaptiveAvgPool2d(s), nn.Conv2d(fc_dim, ppm_dim, 1, bias=False),
            nn.BatchNorm2d(ppm_dim), nn.ReLU()) for s in (1, 2, 3, 6)])
        self.cbr_deepsup = cbr(fc_dim // 2, fc_dim // 4)
        self.conv_last = nn.Sequential(
            nn.Conv2d(fc_dim + 4 * ppm_dim, last_dim, 3, 1, 1, bias=False),
            nn.BatchNorm2d(last_dim), nn.ReLU(), nn.Dropout2d(0.1),
            nn.Conv2d(last_dim, num_classes, 1))
        self.conv_last_deepsup = nn.Conv2d(fc_dim // 4, num_classes, 1, 1, 0)
        self.dropout_deepsup = nn.Dropout2d(0.1)

    def forward(self, conv_out):
        conv5 = conv_out[-1]
        size = conv5.shape[2:]
        ppm = [conv5] + [F.interpolate(p(conv5), size, mode="bilinear", align_corners=False)
                         for p in self.ppm]
        return self.conv_last(torch.cat(ppm, 1))


def randomize(model, seed):
    """Seeded random weights and BatchNorm statistics of a sensible scale."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.5 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
    return model.eval()


def make_upernet(stem, stage_sizes, widths, fpn_dim, ppm_dim, classes, seed=0):
    """(encoder, decoder) torch modules with the published names and random weights."""
    encoder = TorchEncoder(stem, stage_sizes, widths, TorchBottleneck)
    inplanes = [4 * w for w in widths]
    decoder = TorchUPerNetDecoder(inplanes[-1], inplanes, fpn_dim, ppm_dim, classes)
    return randomize(encoder, seed), randomize(decoder, seed + 1)


def make_colornet(stem, widths, ppm_dim, last_dim, num_classes, seed=0):
    encoder = TorchEncoder(stem, (2, 2, 2, 2), widths, TorchBasicBlock, dilated8=True)
    decoder = TorchColorDecoder(widths[-1], ppm_dim, last_dim, num_classes)
    return randomize(encoder, seed), randomize(decoder, seed + 1)


def save_folder(folder, encoder, decoder, labels, epoch):
    """Write a segmenter folder as published: encoder/decoder state dicts and labels.json."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict(encoder.state_dict()), folder / f"encoder_epoch_{epoch}.pth")
    torch.save(OrderedDict(decoder.state_dict()), folder / f"decoder_epoch_{epoch}.pth")
    (folder / "labels.json").write_text(json.dumps(labels))
    return folder


def test_dilated_encoder_has_output_stride_8():
    encoder, _ = make_colornet((8, 8, 16), (8, 8, 16, 16), 8, 8, 4)
    with torch.no_grad():
        feats = encoder(torch.zeros(1, 3, 64, 64))
    assert [tuple(f.shape[2:]) for f in feats] == [(16, 16), (8, 8), (8, 8), (8, 8)]
    assert encoder.layer4[0].conv1.dilation == (2, 2) and encoder.layer4[1].conv1.dilation == (4, 4)


# ---------------------------------------------------------------------------------------------
# Small label files with the published structure
# ---------------------------------------------------------------------------------------------

TINY_LABELS = {
    "object": ["-", "sky", "building", "person", "window", "door", "tree", "car", "table",
               "chair", "wall", "floor"],
    "scene": ["street", "kitchen", "bedroom", "forest", "office", "beach", "church"],
    "material": ["-", "wood", "glass", "metal", "fabric"],
    # owners listed out of object order on purpose: the part head follows object order
    "object_part": {
        "table": ["-", "leg", "top"],
        "building": ["-", "window", "door", "roof"],
        "car": ["-", "window", "wheel", "door"],
        "person": ["-", "head", "arm", "leg", "torso"],
    },
}
TINY_CLASSES = {"object": 12, "part": 16, "material": 5, "scene": 7}
COLOR_NAMES = ["-", "black", "blue", "brown", "green", "grey", "orange", "pink", "purple", "red",
               "white", "yellow"]
TINY_COLOR_LABELS = {
    "labels": [{"name": n, "category": "color"} for n in COLOR_NAMES],
    "categories": [{"name": "color"}],
    "imageformat": {"byteorder": "BGR", "mean": [0.41, 0.46, 0.48], "stdev": [0.23, 0.22, 0.24]},
}
