"""The compiled steps of each plan contain the primitives the plan promises (checked on CPU).

The TPU plan must have no scatter in any step (XLA compiles a scatter into a serial loop on TPU);
the accelerator plan counts labels with matmuls. Each step is traced to a jaxpr (primitives,
sub-jaxprs included) and lowered to StableHLO text, without running it, so a regression shows
without a TPU or GPU.
"""

import jax
import numpy as np
import pytest

from jaxdissect.dissection import engine
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.progress import Progress
from jaxdissect.sharding import make_mesh

UNITS, SEG, CONCEPTS = 8, (8, 8), 12


def primitives(jaxpr) -> set[str]:
    """Names of every primitive in a (closed) jaxpr and the jaxprs nested in its equations
    (loops, conditionals, shard_map, pjit bodies)."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    names = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for param in eqn.params.values():
            for sub in param if isinstance(param, tuple | list) else (param,):
                if hasattr(sub, "eqns") or hasattr(getattr(sub, "jaxpr", None), "eqns"):
                    names |= primitives(sub)
    return names


def traced_steps(kind: str) -> dict[str, tuple[set[str], str]]:
    """step name -> (its primitives, its StableHLO text) for a small two-device plan."""
    stats = engine.LayerStatistics(get_config(topk=3), {"l": (4, 4, UNITS)}, SEG, make_mesh(2),
                                   Progress(False), kind=kind)
    plan, states = stats.plan, stats.states
    acts = {"l": np.ones((4, 4, 4, UNITS), np.float32)}
    mask, index = np.ones(4, bool), np.arange(4, dtype=np.int32)
    seg = np.ones((4, 2, *SEG), np.int32)
    counter = engine._counter(UNITS, CONCEPTS, None, plan.count_method)
    counts = jax.device_put({"l": counter.init()})
    thresholds = {"l": np.zeros(UNITS, np.float32)}
    after = jax.device_get(engine._first_step(plan, states, acts, mask, index)[0])  # pass 0 run
    quantile = {"l": stats.quantile["l"].next_pass(after["quantile"]["l"])}
    calls = {
        "pass 0": (engine._first_step, (plan, states, acts, mask, index)),
        "threshold pass": (engine._quantile_step, (plan, ("l",), quantile, acts, mask)),
        "intersection pass": (engine._counts_step,
                              (plan, CONCEPTS, None, counts, acts, seg, mask, thresholds)),
    }
    traced = {}
    for name, (step, args) in calls.items():
        jaxpr = jax.make_jaxpr(step.__wrapped__, static_argnums=step_static(name))(*args)
        traced[name] = (primitives(jaxpr), step.lower(*args).as_text())
    return traced


def step_static(name: str) -> tuple[int, ...]:
    return {"pass 0": (0,), "threshold pass": (0, 1), "intersection pass": (0, 1, 2)}[name]


@pytest.mark.parametrize("kind", ["tpu", "accelerator"])
def test_primitives_of_the_plans(kind):
    traced = traced_steps(kind)
    for name, (names, text) in traced.items():
        scatters = {n for n in names if "scatter" in n}
        if kind == "tpu":
            assert not scatters, f"{name} of the TPU plan has {scatters}"
            assert "stablehlo.scatter" not in text and "stablehlo.dot_general" in text
    names = {name: names for name, (names, _) in traced.items()}
    assert "dot_general" in names["intersection pass"]  # labels counted by matmuls
    if kind == "tpu":
        assert "dot_general" in names["threshold pass"] and "sort" in names["intersection pass"]
        assert "sort" in names["pass 0"]  # top-k merged by sorting
    else:
        assert "scatter-add" in names["threshold pass"]  # digit histograms by scatter-add
