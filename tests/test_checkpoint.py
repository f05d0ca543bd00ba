"""Orbax save / restore, atomic model folders and ``load`` (with its errors)."""

import json
import os
import stat
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdissect.checkpoint import load, read_meta, restore_tree, save_model, save_tree
from jaxdissect.models.alexnet import AlexNet


def random_params(module, side, seed=0):
    x = jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32)
    shapes = jax.eval_shape(module.init, jax.random.key(0), x)["params"]
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: (rng.standard_normal(s.shape) * 0.05).astype(np.float32), shapes)


def test_tree_round_trip_and_overwrite(tmp_path):
    tree = {"a": {"k": np.arange(6, dtype=np.float32).reshape(2, 3)}, "n": np.array([3], np.int32),
            "j": jnp.ones((2,), jnp.bfloat16)}
    path = save_tree(tmp_path / "ck", tree)
    assert path.is_absolute()
    back = restore_tree(tmp_path / "ck")
    jax.tree.map(np.testing.assert_array_equal, back, jax.tree.map(np.asarray, tree))
    assert back["n"].dtype == np.int32 and back["j"].dtype == jnp.bfloat16
    with pytest.raises(FileExistsError, match="already exists; pass force=True"):
        save_tree(tmp_path / "ck", tree)
    save_tree(tmp_path / "ck", {"b": np.zeros(1, np.float32)}, force=True)
    assert list(restore_tree(tmp_path / "ck")) == ["b"]
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        restore_tree(tmp_path / "nothing")


def test_save_model_load_and_run(tmp_path):
    module = AlexNet(num_classes=4, pool5_size=1)
    params = random_params(module, 67)
    meta = {"arch": "alexnet", "sizes": {"num_classes": 4, "pool5_size": 1}}
    umask = os.umask(0o022)
    try:
        dest = save_model(tmp_path / "model", params, meta)
    finally:
        os.umask(umask)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left
    assert {stat.S_IMODE(p.stat().st_mode) for p in [dest, *dest.rglob("*")] if p.is_dir()} == {
        0o755}  # the umask's permissions (not 0700), so the folder can be shared
    assert read_meta(dest)["format_version"] == 1
    net = load(dest)
    x = np.random.default_rng(1).standard_normal((3, 67, 67, 3)).astype(np.float32)
    out, acts = net(x, layers=["conv5"])
    apply = jax.jit(lambda p, x: module.apply({"params": p}, x, layers=("conv5",)))
    ref_out, ref_acts = apply(params, x)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(ref_out))
    np.testing.assert_array_equal(np.asarray(acts["conv5"]), np.asarray(ref_acts["conv5"]))
    net16 = load(dest, dtype=jnp.bfloat16)
    assert net16(x)[0].dtype == jnp.bfloat16
    assert jax.tree.leaves(net16.params)[0].dtype == jnp.float32


def test_save_model_refuses_then_replaces(tmp_path):
    module = AlexNet(num_classes=2, pool5_size=1)
    meta = {"arch": "alexnet", "sizes": {"num_classes": 2, "pool5_size": 1}}
    dest = save_model(tmp_path / "m", random_params(module, 67, 0), meta)
    with pytest.raises(FileExistsError, match="pass --force"):
        save_model(dest, random_params(module, 67, 1), meta)
    new = random_params(module, 67, 2)
    save_model(dest, new, {**meta, "note": "second"}, force=True)
    assert read_meta(dest)["note"] == "second"
    np.testing.assert_array_equal(load(dest).params["fc8"]["bias"], new["fc8"]["bias"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no converted model at .*jaxdissect convert"):
        load(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no meta.json"):
        load(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(bad)
    (bad / "meta.json").write_text(json.dumps({"arch": "lenet", "sizes": {}}))
    with pytest.raises(ValueError, match="unknown architecture 'lenet'; known.*vgg16"):
        load(bad)


def test_loaded_net_runs_on_a_batch_sharded_over_devices(tmp_path, devices):
    from jaxdissect.sharding import make_mesh, replicate, shard_batch

    module = AlexNet(num_classes=3, pool5_size=1)
    meta = {"arch": "alexnet", "sizes": {"num_classes": 3, "pool5_size": 1}}
    net = load(save_model(tmp_path / "m", random_params(module, 67, 3), meta))
    x = np.random.default_rng(2).standard_normal((16, 67, 67, 3)).astype(np.float32)
    out, acts = net(x, layers=["conv2"])
    mesh = make_mesh(devices)
    net.params = replicate(mesh, net.params)
    out_s, acts_s = net(shard_batch(mesh, x), layers=["conv2"])
    assert len(out_s.sharding.device_set) == len(devices)
    np.testing.assert_allclose(np.asarray(out_s), np.asarray(out), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(acts_s["conv2"]), np.asarray(acts["conv2"]),
                               rtol=1e-5, atol=1e-5)


def test_arch_module_is_recorded_and_imported(tmp_path, monkeypatch):
    import jaxdissect.models
    from jaxdissect.models import registry

    module = AlexNet(num_classes=2, pool5_size=1)
    meta = {"arch": "alexnet", "sizes": {"num_classes": 2, "pool5_size": 1}}
    dest = save_model(tmp_path / "m", random_params(module, 67), meta)
    assert read_meta(dest)["arch_module"] == "jaxdissect.models.alexnet"
    # an architecture registered by a module outside jaxdissect.models: load imports it
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_discovered", True)
    monkeypatch.delitem(sys.modules, "jaxdissect.models.alexnet")  # restored afterwards
    monkeypatch.delattr(jaxdissect.models, "alexnet")
    assert load(dest).meta["arch"] == "alexnet"
    missing = json.loads((dest / "meta.json").read_text()) | {"arch_module": "nowhere.models"}
    (dest / "meta.json").write_text(json.dumps(missing))
    with pytest.raises(ValueError, match="defined in nowhere.models, which cannot be imported"):
        load(dest)
