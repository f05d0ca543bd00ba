"""Parity of the Flax ProGAN generator with a PyTorch reference built here with the published
key names and seeded random weights: output and every layer, edits, legacy layouts, bfloat16."""

from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from jaxdissect.models import edits as E  # noqa: E402
from jaxdissect.models.proggan import LSUN_256_SIZES, ProgressiveGenerator  # noqa: E402
from ports.proggan import convert  # noqa: E402

SMALL_SIZES = (64, 64, 48, 32, 16)  # 8 layers, 32x32 output


class TorchPixelNorm(nn.Module):
    def forward(self, x):
        return x / torch.sqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class TorchWScale(nn.Module):
    def __init__(self, size, fan_in, gain):
        super().__init__()
        self.scale = gain / np.sqrt(fan_in)
        self.b = nn.Parameter(torch.randn(size))

    def forward(self, x):
        return x * self.scale + self.b.view(1, -1, 1, 1)


class TorchBlock(nn.Module):
    def __init__(self, cin, cout, k, pad, upscale=False, output=False):
        super().__init__()
        self.norm = TorchPixelNorm()
        self.upscale = upscale
        self.output = output
        self.conv = nn.Conv2d(cin, cout, k, 1, pad, bias=False)
        self.wscale = TorchWScale(cout, cin, 1.0 if output else np.sqrt(2) / k)

    def forward(self, x):
        x = self.norm(x)
        if self.upscale:
            x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        x = self.wscale(self.conv(x))
        return x if self.output else nn.functional.leaky_relu(x, 0.2)


class TorchGenerator(nn.Sequential):
    def __init__(self, sizes):
        blocks = [TorchBlock(sizes[0], sizes[1], 4, 3), TorchBlock(sizes[1], sizes[1], 3, 1)]
        for cin, cout in zip(sizes[1:-1], sizes[2:], strict=True):
            blocks += [TorchBlock(cin, cout, 3, 1, upscale=True), TorchBlock(cout, cout, 3, 1)]
        side = 4 * 2 ** (len(sizes) - 2)
        named = [(f"layer{i + 1}", b) for i, b in enumerate(blocks)]
        named.append((f"output_{side}x{side}", TorchBlock(sizes[-1], 3, 1, 0, output=True)))
        super().__init__(OrderedDict(named))

    def forward(self, z):
        return super().forward(z[:, :, None, None])


def make_torch(sizes, seed=0):
    torch.manual_seed(seed)
    model = TorchGenerator(sizes).eval()
    for p in model.parameters():  # weights of realistic scale for a WScale'd conv
        with torch.no_grad():
            p.normal_()
    return model


def run_torch(model, z, edit_fns=None):
    """Output and every layer's activation (NHWC numpy); edit_fns[layer] rewrites the output."""
    acts, handles = {}, []
    for name, block in model.named_children():
        def hook(_module, _inp, out, name=name):
            if edit_fns and name in edit_fns:
                out = edit_fns[name](out)
            acts[name] = out.permute(0, 2, 3, 1).numpy().copy()
            return out

        handles.append(block.register_forward_hook(hook))
    with torch.no_grad():
        out = model(torch.from_numpy(z))
    for h in handles:
        h.remove()
    return out.permute(0, 2, 3, 1).numpy(), acts


def rel_err(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / np.max(np.abs(b)))


def state_numpy(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def check_parity(sizes, batch, tol=1e-5):
    model = make_torch(sizes)
    params, meta = convert(state_numpy(model))
    z = np.random.default_rng(1).standard_normal((batch, sizes[0])).astype(np.float32)
    ref_out, ref_acts = run_torch(model, z)
    gen = ProgressiveGenerator(sizes=tuple(meta["sizes"]))
    out, acts = jax.jit(lambda p, z: gen.apply({"params": p}, z, layers=gen.LAYERS))(params, z)
    assert out.shape == ref_out.shape and out.dtype == jnp.float32
    assert rel_err(out, ref_out) < tol
    assert set(acts) == set(gen.LAYERS) == {k for k in ref_acts if k.startswith("layer")}
    for name in gen.LAYERS:
        assert acts[name].shape == ref_acts[name].shape, name
        assert rel_err(acts[name], ref_acts[name]) < tol, name
    return model, params, gen, z


def test_small_generator_matches_torch_everywhere():
    model, params, gen, z = check_parity(SMALL_SIZES, batch=3)
    assert gen.LAYERS == tuple(f"layer{i}" for i in range(1, 9))


def test_edits_equal_editing_the_torch_activation():
    model = make_torch(SMALL_SIZES, seed=3)
    params, _ = convert(state_numpy(model))
    gen = ProgressiveGenerator(sizes=SMALL_SIZES)
    z = np.random.default_rng(2).standard_normal((3, SMALL_SIZES[0])).astype(np.float32)
    where = np.zeros((16, 16), np.float32)
    where[4:9, 2:7] = 1.0
    edits = {"layer4": E.ablate([0, 5, 7], 48), "layer5": E.insert([1, 2], 3.5, where, 32)}

    def ablate_torch(out):
        out = out.clone()
        out[:, [0, 5, 7]] = 0
        return out

    def insert_torch(out):
        out = out.clone()
        m = torch.from_numpy(where)[None] > 0
        for u in (1, 2):
            out[:, u] = torch.where(m, torch.full_like(out[:, u], 3.5), out[:, u])
        return out

    ref_out, ref_acts = run_torch(model, z, {"layer4": ablate_torch, "layer5": insert_torch})
    out, acts = gen.apply({"params": params}, z, layers=("layer4", "layer6"), edits=edits)
    assert rel_err(out, ref_out) < 1e-5
    assert rel_err(acts["layer4"], ref_acts["layer4"]) < 1e-5  # the recorded value is the edit
    assert rel_err(acts["layer6"], ref_acts["layer6"]) < 1e-5
    plain, _ = gen.apply({"params": params}, z)
    assert rel_err(plain, ref_out) > 1e-3  # the edit changed the image


def test_bfloat16_runs_close():
    model = make_torch(SMALL_SIZES, seed=4)
    params, _ = convert(state_numpy(model))
    z = np.random.default_rng(5).standard_normal((3, SMALL_SIZES[0])).astype(np.float32)
    ref_out, ref_acts = run_torch(model, z)
    gen = ProgressiveGenerator(sizes=SMALL_SIZES, dtype=jnp.bfloat16)
    out, acts = gen.apply({"params": params}, z, layers=("layer3", "layer8"))
    assert acts["layer3"].dtype == jnp.bfloat16 and out.dtype == jnp.float32
    assert rel_err(acts["layer3"], ref_acts["layer3"]) < 3e-2
    assert rel_err(out, ref_out) < 5e-2


def test_legacy_layout_converts_identically():
    model = make_torch(SMALL_SIZES, seed=6)
    state = state_numpy(model)
    legacy = {}
    for key, value in state.items():
        head, rest = key.split(".", 1)
        if head.startswith("layer"):
            legacy[f"features.{int(head[5:]) - 1}.{rest}"] = value
        else:
            legacy[f"output.{rest}"] = value
    params, meta = convert(state)
    params_legacy, meta_legacy = convert({"state_dict": legacy})
    assert meta == meta_legacy
    jax.tree.map(np.testing.assert_array_equal, params, params_legacy)


@pytest.mark.slow
def test_1024_schedule_with_18_layers_at_small_widths():
    _, _, gen, _ = check_parity((16,) * 5 + (8, 8, 8, 8, 4), batch=1)
    assert len(gen.LAYERS) == 18


@pytest.mark.slow
def test_full_256_generator_matches_torch():
    _, _, gen, _ = check_parity(LSUN_256_SIZES, batch=1)
    assert len(gen.LAYERS) == 14


def test_convert_detects_and_load_runs(tmp_path):
    """A legacy ``{'state_dict': {features.*, output.*}}`` file -> ``ports.convert`` without
    ``arch`` (detected from the keys) -> ``jaxdissect.load`` -> the same images as torch."""
    from jaxdissect.checkpoint import load
    from ports import convert

    model = make_torch(SMALL_SIZES, seed=8)
    legacy = {}
    for key, value in model.state_dict().items():
        head, rest = key.split(".", 1)
        name = f"features.{int(head[5:]) - 1}" if head.startswith("layer") else "output"
        legacy[f"{name}.{rest}"] = value
    torch.save({"state_dict": legacy}, tmp_path / "proggan_tiny.pth")
    net = load(convert(tmp_path / "proggan_tiny.pth", tmp_path / "converted"))
    assert net.meta["arch"] == "proggan" and net.meta["sizes"]["resolution"] == 32
    z = np.random.default_rng(9).standard_normal((3, SMALL_SIZES[0])).astype(np.float32)
    images, acts = net(z, layers=["layer4"])
    ref_out, ref_acts = run_torch(model, z)
    assert rel_err(images, ref_out) < 1e-5 and rel_err(acts["layer4"], ref_acts["layer4"]) < 1e-5
