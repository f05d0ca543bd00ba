"""PyTorch reference classifiers with the published key names, for parity tests and benchmarks.

Plain ``torch.nn`` (no torchvision). Each builder returns an ``nn.Module`` whose ``state_dict``
keys and shapes are those of the published checkpoints (``checkpoints.md``), plus ``LAYERS``:
``{layer name: submodule}`` whose output is the named activation. :func:`randomize` gives
seeded weights at a sensible scale, :func:`run_with_hooks` runs a model returning the output and
NHWC activations, optionally editing activations by hand in forward hooks.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from jaxdissect.models.vgg import VGG16_STAGES

# ---------------------------------------------------------------- VGG16 and AlexNet


def vgg16(num_classes: int = 365, pool5_size: int = 7, torchvision_names: bool = False):
    """VGG16: Places365 names (``features.conv1_1``, ``classifier.fc8a``) or torchvision's."""
    layers, taps, cin = [], {}, 3
    for i, stage in enumerate(VGG16_STAGES, start=1):
        for name, cout in stage:
            relu = nn.ReLU()
            layers += [(name, nn.Conv2d(cin, cout, 3, padding=1)), ("relu" + name[4:], relu)]
            taps[name], cin = relu, cout
        layers.append((f"pool{i}", nn.MaxPool2d(2, 2)))
    taps["pool5"] = layers[-1][1]
    fcs = [("fc6", nn.Linear(512 * pool5_size**2, 4096)), ("relu6", nn.ReLU()),
           ("drop6", nn.Dropout()), ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()),
           ("drop7", nn.Dropout()), ("fc8a", nn.Linear(4096, num_classes))]
    taps["fc6"], taps["fc7"] = fcs[1][1], fcs[4][1]

    def seq(items):
        return nn.Sequential(*[m for _, m in items]) if torchvision_names else \
            nn.Sequential(OrderedDict(items))

    model = nn.Sequential(OrderedDict(
        [("features", seq(layers)), ("flatten", nn.Flatten()), ("classifier", seq(fcs))]))
    model.LAYERS = taps
    return model


def alexnet(num_classes: int = 365, pool5_size: int = 6):
    """Caffe-style AlexNet (grouped conv2/4/5, LRN after pool1 and pool2), named children."""
    relu = {i: nn.ReLU() for i in (1, 2, 3, 4, 5, 6, 7)}
    lrn = lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
    pool5 = nn.MaxPool2d(3, 2)
    model = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 96, 11, stride=4)), ("relu1", relu[1]),
        ("pool1", nn.MaxPool2d(3, 2)), ("lrn1", lrn()),
        ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)), ("relu2", relu[2]),
        ("pool2", nn.MaxPool2d(3, 2)), ("lrn2", lrn()),
        ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("relu3", relu[3]),
        ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)), ("relu4", relu[4]),
        ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)), ("relu5", relu[5]),
        ("pool5", pool5), ("flatten", nn.Flatten()),
        ("fc6", nn.Linear(256 * pool5_size**2, 4096)), ("relu6", relu[6]), ("drop6", nn.Dropout()),
        ("fc7", nn.Linear(4096, 4096)), ("relu7", relu[7]), ("drop7", nn.Dropout()),
        ("fc8", nn.Linear(4096, num_classes)),
    ]))
    model.LAYERS = {f"conv{i}": relu[i] for i in range(1, 6)}
    model.LAYERS |= {"pool5": pool5, "fc6": relu[6], "fc7": relu[7]}
    return model


# ---------------------------------------------------------------- torchvision ResNets


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _projection(cin, width, stride)
        self.last_bn = [self.bn2]  # a list, so that it is not registered twice

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, 4 * width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.downsample = _projection(cin, 4 * width, stride)
        self.last_bn = [self.bn3]

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


def _projection(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class TorchvisionResNet(nn.Module):
    def __init__(self, block, stage_sizes, num_classes=365):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for s, n in enumerate(stage_sizes):
            blocks = []
            for b in range(n):
                blocks.append(block(cin, 64 * 2**s, 2 if s > 0 and b == 0 else 1))
                cin = 64 * 2**s * block.expansion
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        self.LAYERS = {"conv1": self.conv1, **{f"layer{i}": getattr(self, f"layer{i}")
                                              for i in range(1, 5)}}

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes=365):
    return TorchvisionResNet(BasicBlock, (2, 2, 2, 2), num_classes)


def resnet50(num_classes=365):
    return TorchvisionResNet(Bottleneck, (3, 4, 6, 3), num_classes)


# ---------------------------------------------------------------- Torch7 ResNet-152


class Torch7Block(nn.Module):
    """Sequential(ConcatTable(residual, shortcut), CAddTable, ReLU): keys ``0.0.*``, ``0.1.*``."""

    def __init__(self, cin, width, stride):
        super().__init__()
        residual = nn.Sequential(
            nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 4 * width, 1, bias=False), nn.BatchNorm2d(4 * width))
        shortcut = _projection(cin, 4 * width, stride) or nn.Identity()
        self.add_module("0", nn.ModuleList([residual, shortcut]))
        self.last_bn = [residual[7]]

    def forward(self, x):
        residual, shortcut = self._modules["0"]
        return torch.relu(residual(x) + shortcut(x))


def resnet152_torch7(num_classes=365, stage_sizes=(3, 8, 36, 3)):
    """Numeric Sequential ``0 .. 10``; the final AvgPool(7) as a global pool (equal at 224)."""
    stages, cin = [], 64
    for s, n in enumerate(stage_sizes):
        blocks = []
        for b in range(n):
            blocks.append(Torch7Block(cin, 64 * 2**s, 2 if s > 0 and b == 0 else 1))
            cin = 4 * 64 * 2**s
        stages.append(nn.Sequential(*blocks))
    model = nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1), *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Sequential(nn.Identity(), nn.Linear(cin, num_classes)))
    model.LAYERS = {name: model[int(name)] for name in ("0", "4", "5", "6", "7")}
    return model


# ---------------------------------------------------------------- weights and hooks


def randomize(model: nn.Module, seed: int, image_size: int = 64) -> nn.Module:
    """Seeded weights: He-normal convs/linears, small random biases; BatchNorm running
    statistics measured on a random batch (so activations keep unit scale through deep
    networks), then perturbed, with random affine parameters. After that calibration the last BN
    of each residual branch gets a 4x smaller scale, so that blocks are close to the identity as
    in trained ResNets: otherwise a random 50-block stack is so ill-conditioned that float32
    torch itself is 1e-4 away from float64. Returns the model in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.momentum = 1.0  # one train-mode pass sets the running stats to batch stats
        if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
            model.train()
            model(torch.randn((4, 3, image_size, image_size), generator=gen))
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.add_(torch.randn(m.running_mean.shape, generator=gen) * 0.05)
                    m.running_var.mul_(0.8 + 0.4 * torch.rand(m.running_var.shape, generator=gen))
        for m in model.modules():  # after calibration, as in trained nets: see the docstring
            for bn in getattr(m, "last_bn", ()):
                bn.weight.mul_(0.25)
    return model.eval()


def _to_nhwc(t: torch.Tensor) -> np.ndarray:
    a = t.detach().numpy()
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a[:, None, None, :]


def _edit_hook(edit):
    """A forward hook applying ``x * (1 - m) + v * m`` by hand (edit arrays in NHWC terms)."""
    units = torch.as_tensor(np.array(edit.units, np.float32))
    values = torch.as_tensor(np.array(edit.values, np.float32))

    def hook(_module, _inputs, out):
        flat = out.ndim == 2
        x = out[:, :, None, None] if flat else out
        m = units[None, :, None, None].expand_as(x)
        if edit.where is not None:
            m = m * torch.as_tensor(np.array(edit.where, np.float32))[None, None]
        x = x * (1 - m) + values[None, :, None, None] * m
        return x[:, :, 0, 0] if flat else x

    return hook


def run_with_hooks(model, x_nhwc: np.ndarray, layers=(), edits=None):
    """Run ``model`` on NHWC input; returns (output numpy, {layer: NHWC numpy}).

    ``edits``: {layer: UnitEdit}, applied by forward hooks on the layer's module.
    """
    acts, handles = {}, []
    for name, edit in (edits or {}).items():
        handles.append(model.LAYERS[name].register_forward_hook(_edit_hook(edit)))
    for name in layers:
        def record(_m, _i, out, name=name):
            acts[name] = _to_nhwc(out.clone())
        handles.append(model.LAYERS[name].register_forward_hook(record))
    try:
        with torch.no_grad():
            out = model(torch.as_tensor(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))))
    finally:
        for h in handles:
            h.remove()
    return out.numpy(), acts


def rel_err(a, ref) -> float:
    """``||a - ref|| / ||ref||`` in float64."""
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))


def save_and_convert(model, tmp_path, arch=None, wrap=False, name="model.pth"):
    """``torch.save`` the state dict (optionally as ``{'state_dict': ...}``), convert it to
    ``tmp_path / 'converted'`` with ``ports.convert`` and return ``jaxdissect`` ``load``-ed Net."""
    from jaxdissect.checkpoint import load
    from ports import convert

    state = model.state_dict()
    src = tmp_path / name
    torch.save({"state_dict": state} if wrap else state, src)
    return load(convert(src, tmp_path / "converted", arch=arch))


def check_parity(model, net, side, batch=3, seed=0, tol=1e-5):
    """Run both on one random batch; the output and every layer agree to ``tol`` (relative)."""
    x = np.random.default_rng(seed).standard_normal((batch, side, side, 3)).astype(np.float32)
    ref_out, ref_acts = run_with_hooks(model, x, net.layer_names)
    out, acts = net(x, layers=net.layer_names)
    assert set(acts) == set(net.layer_names)
    errors = {k: rel_err(acts[k], ref_acts[k]) for k in net.layer_names}
    errors["output"] = rel_err(out, ref_out)
    worst = max(errors, key=errors.get)
    print(f"{net.meta['arch']} at {side}: output {errors['output']:.1e}, worst {worst} "
          f"{errors[worst]:.1e}")
    assert errors[worst] < tol, errors
