"""The retraining command's options (jaxdissect/world/train.py), as a user runs it."""

import os
import subprocess
import sys


def test_a_negative_gan_step_count_is_a_one_line_error(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    run = subprocess.run([sys.executable, "-m", "jaxdissect.world.train", "generator",
                          "--gan-steps", "-1", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "python -m jaxdissect.world.train: error: --gan-steps=-1: the step count cannot be "
        "negative")
    assert not any(tmp_path.iterdir())
