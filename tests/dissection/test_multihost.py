"""Two processes on loopback, 4 CPU devices each, give the single-process result bit for bit."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import multihost_case as case
import numpy as np
import pytest

from jaxdissect.dissection.driver import dissect
from jaxdissect.dissection.results import load_result
from jaxdissect.sharding import make_mesh

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parents[1]),
                                         env.get("PYTHONPATH", "")])
    workers = [
        subprocess.Popen([sys.executable, str(HERE / "multihost_worker.py"), str(port), str(i),
                          str(tmp_path)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for i in range(2)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output[-3000:]
    single = dissect(case.model_fn(), case.global_batches(), case.LAYERS, case.CONFIG,
                     num_concepts=case.NUM_CONCEPTS, mesh=make_mesh(8), progress=False)
    for i in range(2):
        arrays = np.load(tmp_path / f"process{i}.npz")
        for layer, r in single.items():
            np.testing.assert_array_equal(arrays[f"{layer}/thresholds"], r.thresholds)
            np.testing.assert_array_equal(arrays[f"{layer}/inter"], r.counts.inter)
            np.testing.assert_array_equal(arrays[f"{layer}/topk_indices"], r.topk_indices)
    for layer, r in single.items():
        saved = load_result(tmp_path / "results" / layer)
        np.testing.assert_array_equal(saved.iou, r.iou)
        np.testing.assert_array_equal(saved.topk_values, r.topk_values)
        assert saved.num_images == r.num_images == 29
