"""PyTorch references of the two published segmenters, with the published module names, for
the parity tests and the benchmark (a helper module, not a test module).

- :func:`prroi_pool_direct`: whole-map precise ROI pooling by direct numerical integration, cell
  by cell, as the reference's CUDA kernel computes it;
- the deep-stem encoders, the UPerNet and PPM decoders (``make_upernet``, ``make_colornet`` with
  seeded random weights) and :func:`save_folder`, which writes the published folder layout;
- the torch side of the published pipeline (:func:`torch_pipeline_scores`).
"""

import json
from collections import OrderedDict

import numpy as np
import torch
from segmenter_labels import TINY_COLOR_LABELS
from torch import nn
from torch.nn import functional as F

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
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(OrderedDict(encoder.state_dict()), folder / f"encoder_epoch_{epoch}.pth")
    torch.save(OrderedDict(decoder.state_dict()), folder / f"decoder_epoch_{epoch}.pth")
    (folder / "labels.json").write_text(json.dumps(labels))
    return folder


TINY_UPERNET = dict(stem=(8, 8, 16), stage_sizes=(3, 4, 6, 3), widths=(4, 8, 8, 16), fpn_dim=16,
                    ppm_dim=8)
TINY_COLOR = dict(stem=(8, 8, 16), widths=(8, 8, 16, 16), ppm_dim=8, last_dim=8)


def converted_published_pair(tmp_path, color_labels, seed):
    """Tiny UPerNet and colour folders as published (random weights, ``TINY_LABELS`` and
    ``color_labels``), converted to ``tmp_path/upp_jax`` and ``tmp_path/color_jax``; returns the
    torch (encoder, decoder, colour encoder, colour decoder)."""
    from segmenter_labels import TINY_CLASSES, TINY_LABELS

    from ports import convert

    u, c = TINY_UPERNET, TINY_COLOR
    nets = (*make_upernet(u["stem"], u["stage_sizes"], u["widths"], u["fpn_dim"], u["ppm_dim"],
                          TINY_CLASSES, seed=seed),
            *make_colornet(c["stem"], c["widths"], c["ppm_dim"], c["last_dim"],
                           len(color_labels["labels"]), seed=seed + 1))
    save_folder(tmp_path / "upp", nets[0], nets[1], TINY_LABELS, epoch=40)
    save_folder(tmp_path / "color", nets[2], nets[3], color_labels, epoch=20)
    convert(tmp_path / "upp", tmp_path / "upp_jax", arch="upernet50")
    convert(tmp_path / "color", tmp_path / "color_jax", arch="colorseg")
    return nets


def torch_pipeline_scores(images, encoder, decoder, color_encoder, color_decoder, seg_size):
    """The reference preprocessing and resizes in torch: NHWC numpy scores at ``seg_size``."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    up = torch.flip((x + 1) / 2 * 255, (1,))
    up = up - torch.tensor([102.9801, 115.9465, 122.7717])[None, :, None, None]
    fmt = TINY_COLOR_LABELS["imageformat"]
    col = ((torch.flip(x, (1,)) + 1) / 2 - torch.tensor(fmt["mean"])[None, :, None, None]) / (
        torch.tensor(fmt["stdev"])[None, :, None, None])
    if tuple(up.shape[2:]) != (256, 256):  # the reference resizes only other sizes
        up, col = F.adaptive_avg_pool2d(up, 256), F.adaptive_avg_pool2d(col, 256)
    with torch.no_grad():
        heads, _ = decoder(encoder(up))
        heads["color"] = color_decoder(color_encoder(col))
    return {k: F.interpolate(v, seg_size, mode="bilinear", align_corners=False)
            .permute(0, 2, 3, 1).numpy() for k, v in heads.items()}
