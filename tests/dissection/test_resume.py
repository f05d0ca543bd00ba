"""Tests for jaxdissect/dissection/resume.py: an interrupted pass 0 picks up where it stopped."""

import numpy as np
import pytest
from test_driver import LAYERS, assert_results_equal, batches, make_data, model_fn, random_params

from jaxdissect.dissection import engine
from jaxdissect.dissection.driver import dissect
from jaxdissect.dissection.presets import get_config
from jaxdissect.sharding import make_mesh

CONFIG = get_config(quantile=0.07, topk=4)


class Crash(Exception):
    pass


def crashing(source, after):
    """The batches of ``source``, raising once ``after`` have been handed out."""
    for position, batch in enumerate(source):
        if position == after:
            raise Crash(f"interrupted after {after} batches")
        yield batch


def counted(source, seen):
    for batch in source:
        seen.append(int(batch["index"][0]))
        yield batch


@pytest.fixture(scope="module")
def setup():
    images, segs = make_data(8, n=45)
    fn = model_fn(random_params(0, dyadic=True))
    run = lambda data, **kw: dissect(fn, data, LAYERS, CONFIG, num_concepts=6,
                                     mesh=make_mesh(8), progress=False, **kw)
    return images, segs, run, run(batches(images, segs, 8)), fn


def test_resumes_after_a_crash_in_pass_0(tmp_path, setup):
    images, segs, run, expected, _ = setup
    with pytest.raises(Crash):
        run(crashing(batches(images, segs, 8), after=4), resume_dir=tmp_path / "r",
            checkpoint_every=3)
    assert (tmp_path / "r" / "progress.json").is_file()
    # The checkpoint holds batches 0-2: the restarted run must not run them again, so their
    # images may as well be blank (same indices and masks: the data order is checked).
    replay = list(batches(images, segs, 8))
    for batch in replay[:3]:
        batch["image"] = np.zeros_like(batch["image"])
    result = run(iter(replay), resume_dir=tmp_path / "r", checkpoint_every=3)
    assert_results_equal(expected, result)
    assert not (tmp_path / "r").exists()  # emptied once the results are complete


def test_resumes_after_a_crash_after_pass_0(tmp_path, setup, monkeypatch):
    images, segs, run, expected, _ = setup

    def crash(*args, **kwargs):
        raise Crash("interrupted while counting")

    with monkeypatch.context() as patch:
        patch.setattr(engine.LayerStatistics, "count", crash)
        with pytest.raises(Crash):
            run(batches(images, segs, 8), resume_dir=tmp_path / "r", checkpoint_every=4)
    seen = []
    result = run(counted(batches(images, segs, 8), seen), resume_dir=tmp_path / "r")
    assert seen == [0]  # only the first batch is read again, for the shapes
    assert_results_equal(expected, result)


def test_refuses_other_data_or_settings(tmp_path, setup):
    images, segs, run, _, fn = setup
    with pytest.raises(Crash):
        run(crashing(batches(images, segs, 8), after=3), resume_dir=tmp_path, checkpoint_every=2)
    shuffled = list(batches(images, segs, 8))
    shuffled[0], shuffled[1] = shuffled[1], shuffled[0]
    with pytest.raises(ValueError, match="the batches differ from those of the interrupted run"):
        run(iter(shuffled), resume_dir=tmp_path)
    with pytest.raises(ValueError, match="other settings or shapes"):
        dissect(fn, batches(images, segs, 8), ["conv1"], CONFIG, num_concepts=6,
                mesh=make_mesh(8), progress=False, resume_dir=tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        run(batches(images, segs, 8), resume_dir=tmp_path / "other")
    np.testing.assert_array_equal(sorted(p.name for p in (tmp_path / "other").iterdir()), ["x"])


def test_a_checkpoint_of_other_layers_is_restarted_on_request(tmp_path, setup):
    """What the command line does when the layers left to do changed since the interruption
    (a layer was saved just before a kill): the stale checkpoint goes, with a note."""
    images, segs, run, expected, fn = setup
    with pytest.raises(Crash):
        run(crashing(batches(images, segs, 8), after=3), resume_dir=tmp_path / "r",
            checkpoint_every=2)
    notes = []
    result = dissect(fn, batches(images, segs, 8), LAYERS[:1], CONFIG, num_concepts=6,
                     mesh=make_mesh(8), progress=False, resume_dir=tmp_path / "r",
                     restart_stale=True, log=notes.append)
    assert notes == [f"the checkpoint in {tmp_path / 'r'} was made with other layers or "
                     "another batch size; pass 0 starts again"]
    assert_results_equal({LAYERS[0]: expected[LAYERS[0]]}, result)
