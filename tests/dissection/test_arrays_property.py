"""Property test of jaxdissect/runs/arrays.py and the statistics behind it: random shapes,
dtypes and values (valid or not) either match the numpy oracle exactly or fail with a one-line
error. Derandomized, with a small example count and few distinct shapes (each new shape
compiles), so it stays a few seconds of the default suite.

The oracle resamples in float64 while the engine resamples in float32; to compare the
statistics bit for bit, the oracle thresholds and counts the engine's own resampled maps
(the resampling itself is checked against the oracle in ``test_arrays.py``).
"""

from __future__ import annotations

import dissect_oracle as oracle
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jaxdissect import cli
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.upsample import upsample
from jaxdissect.runs.arrays import dissect_arrays

ERRORS = (ValueError, FileNotFoundError, FileExistsError)
SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@st.composite
def cases(draw):
    """(acts, segs, channels_last, mode, q): mostly valid, sometimes not (dtype, rank, count,
    NaN, negative label)."""
    n = draw(st.integers(1, 6))
    units, h, w = draw(st.sampled_from([1, 3])), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    big = draw(st.sampled_from([(h, w), (2 * h, 2 * w), (3, 4)]))
    channels_last = draw(st.booleans())
    acts_dtype = draw(st.sampled_from(["float32"] * 4 + ["float16", "float64", "int32"]))
    seg_dtype = draw(st.sampled_from(["int32"] * 4 + ["uint8", "int64", "float32"]))
    acts_rank = draw(st.sampled_from([4] * 6 + [3]))
    seg_rank = draw(st.sampled_from([3] * 3 + [4] * 3 + [2]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    # dyadic values with ties: exact under any summation order
    acts = (rng.integers(-6, 20, size=(n, h, w, units)) / 4).astype(acts_dtype)
    if not channels_last:
        acts = np.ascontiguousarray(acts.transpose(0, 3, 1, 2))
    acts = acts.reshape(acts.shape[:acts_rank - 1] + (-1,)) if acts_rank == 3 else acts
    k = draw(st.integers(1, 2))
    segs = rng.integers(0, 6, size=(n, k, *big)).astype(seg_dtype)
    segs = segs[:, 0] if seg_rank == 3 else segs[:, 0, 0] if seg_rank == 2 else segs
    flaw = draw(st.sampled_from([None] * 8 + ["nan", "negative", "count"]))
    if flaw == "nan" and acts.dtype.kind == "f":
        acts.flat[draw(st.integers(0, acts.size - 1))] = np.nan
    elif flaw == "negative" and segs.dtype.kind == "i":
        segs.flat[draw(st.integers(0, segs.size - 1))] = -1
    elif flaw == "count":
        segs = segs[:-1] if n > 1 else np.concatenate([segs, segs])
    mode = draw(st.sampled_from(["pnas2020", "bilinear"]))
    q = draw(st.sampled_from([0.01, 0.2, 0.5]))
    return acts, segs, channels_last, mode, q


def oracle_result(acts, segs, channels_last, mode, q, topk):
    nhwc = acts if channels_last else acts.transpose(0, 2, 3, 1)
    segs = (segs[:, None] if segs.ndim == 3 else segs).astype(np.int32)
    up = np.asarray(upsample(jnp.asarray(nhwc), segs.shape[-2:], mode))
    return oracle.dissection(nhwc, segs, max(int(segs.max()), 1) + 1, q=q,
                             k=topk, up=up)


@settings(max_examples=10, **SETTINGS)
@given(cases())
def test_library_matches_the_oracle_or_fails_in_one_line(case):
    acts, segs, channels_last, mode, q = case
    config = get_config(quantile=q, upsample=mode, topk=3)
    try:
        result = dissect_arrays(acts, segs, config=config, channels_last=channels_last,
                                batch_size=4, devices=1, progress=False)
    except ERRORS as err:
        assert "\n" not in str(err) and str(err)
        event(f"error: {str(err)[:20]}")
        return
    event("matches the oracle")
    oracle.assert_matches(result, oracle_result(acts, segs, channels_last, mode, q, topk=3))


@settings(max_examples=3, **SETTINGS)
@given(case=cases())
def test_command_matches_the_library_or_fails_in_one_line(case, tmp_path_factory, capsys):
    acts, segs, channels_last, mode, q = case
    folder = tmp_path_factory.mktemp("arrays")
    np.save(folder / "acts.npy", acts)
    np.save(folder / "segs.npy", segs)
    argv = ["dissect-arrays", "--acts", str(folder / "acts.npy"), "--segs",
            str(folder / "segs.npy"), "--out", str(folder / "out"), "--quantile", str(q),
            "--upsample", mode, "--topk", "3", "--batch-size", "4", "--devices", "1", "--quiet"]
    code = cli.main(argv + (["--channels-last"] if channels_last else []))
    err = capsys.readouterr().err.strip()
    if code:
        assert code == 2 and len(err.splitlines()) == 1, err
        assert not (folder / "out").exists()
        event("error")
        return
    event("matches the oracle")
    expected = oracle_result(acts, segs, channels_last, mode, q, topk=3)
    np.testing.assert_array_equal(np.load(folder / "out" / "iou.npy"), expected["iou"])
    np.testing.assert_array_equal(np.load(folder / "out" / "thresholds.npy"),
                                  expected["thresholds"])


@pytest.mark.parametrize("shape", [(3, 0, 2, 2), (3, 2, 0, 2), (0, 2, 2, 2)])
def test_empty_axes_fail_in_one_line(shape):
    with pytest.raises(ValueError) as err:
        dissect_arrays(np.zeros(shape, np.float32), np.ones((shape[0], 4, 4), np.int32),
                       batch_size=4, devices=1, progress=False)
    assert "\n" not in str(err.value)
