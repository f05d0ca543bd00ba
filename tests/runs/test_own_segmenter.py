"""A segmenter of one's own passed to ``dissect_model`` (jaxdissect/runs/model_dissection.py):
the labels it returns for the images the model sees are the labels dissected."""

import jax.numpy as jnp
import numpy as np
import pytest
from world_fixtures import SIZE, tiny_world_classifier

from jaxdissect import Segmenter
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.runs.data import open_probe_data
from jaxdissect.runs.model_dissection import dissect_model, plan_dissection
from jaxdissect.runs.models import to_uint8

DATA = "world:24"  # 24 images in batches of 16: the last batch is padded
OPTIONS = {"size": SIZE}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_world_classifier(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def world():
    """The probe images, their exact segmentations and the world's vocabulary."""
    source = open_probe_data(DATA, options=OPTIONS, image_size=SIZE)
    arrays, _ = source.read_batch(list(range(len(source))))
    return arrays["image"], arrays["seg"], source.vocabulary()


def lookup_segmenter(world, shift: int = 0, name: str = "exact-world") -> Segmenter:
    """Finds each image it is given among the probe images (pixel for pixel) and returns the
    exact segmentation of the image ``shift`` rows further on."""
    images, seg, vocabulary = world
    stored = jnp.asarray(images)
    labels = jnp.asarray(np.roll(seg, -shift, axis=0))

    def fn(rgb):
        same = jnp.all(to_uint8(rgb)[:, None] == stored[None], axis=(2, 3, 4))  # (B, N)
        return labels[jnp.argmax(same, axis=1)]

    return Segmenter(fn, vocabulary, name)


def dissect(model, out, segmenter):
    return dissect_model(model, DATA, out, data_options=OPTIONS, batch_size=16, topk=3,
                         progress=False, report=False, segmenter=segmenter)


def test_a_segmenter_returning_the_exact_labels_dissects_as_the_data_does(model, world,
                                                                          tmp_path):
    data_run = dissect(model, tmp_path / "data", None)
    by_data = data_run.results["conv4_2"]
    done = dissect(model, tmp_path / "mine", lookup_segmenter(world))
    mine = done.results["conv4_2"]
    assert done.identity.segmenter["kind"] == "custom"
    assert done.identity.segmenter["name"] == "exact-world"
    assert mine.vocabulary == by_data.vocabulary
    assert mine.num_images == by_data.num_images == 24
    np.testing.assert_array_equal(mine.thresholds, by_data.thresholds)
    np.testing.assert_array_equal(mine.iou, by_data.iou)
    np.testing.assert_array_equal(mine.labels.concept, by_data.labels.concept)
    assert np.any(by_data.iou > 0)
    # The same segmenter on the wrong images' labels is seen: the comparison can fail.
    shifted = dissect(model, tmp_path / "shifted", lookup_segmenter(world, 1, "shifted"))
    assert not np.array_equal(shifted.results["conv4_2"].iou, by_data.iou)
    keys = {data_run.identity.key, done.identity.key, shifted.identity.key}
    assert len(keys) == 3  # the data's labels and two segmenters: three keys


def test_the_identity_keys_the_results(model, world, tmp_path):
    first = dissect(model, tmp_path, lookup_segmenter(world))
    again = dissect(model, tmp_path, lookup_segmenter(world))
    assert again.folder == first.folder and again.reused == ["conv4_2"]
    renamed = plan_dissection(model, DATA, data_options=OPTIONS, batch_size=16,
                              segmenter=lookup_segmenter(world, name="exact-world-v2"))
    assert renamed.identity.key != first.identity.key


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_a_wrong_segmenter_is_refused_in_one_line(model, world, tmp_path):
    vocabulary = world[2]
    plan = lambda segmenter, **kw: plan_dissection(model, DATA, data_options=OPTIONS,  # noqa: E731
                                                   batch_size=16, segmenter=segmenter, **kw)
    floats = Segmenter(lambda x: jnp.moveaxis(x[..., :1], -1, 1), vocabulary, "floats")
    with pytest.raises(ValueError, match="returned float32 labels; return integer") as err:
        plan(floats)
    one_line(err)
    flat = Segmenter(lambda x: (x[..., 0] > 0).astype(jnp.int32), vocabulary, "flat")
    with pytest.raises(ValueError, match=r"shape \(1, 32, 32\).*labels\[:, None\]") as err:
        plan(flat)
    one_line(err)
    with pytest.raises(ValueError, match="not a converted segmenter folder") as err:
        plan(str(tmp_path))
    one_line(err)
    with pytest.raises(ValueError, match="--colornet goes with a converted UPerNet") as err:
        plan(lookup_segmenter(world), colornet=str(tmp_path))
    with pytest.raises(TypeError, match="a spec string or a jaxdissect.Segmenter"):
        plan(42)
    small = ConceptVocabulary.from_names(["a", "b"])
    beyond = Segmenter(lambda x: jnp.full((x.shape[0], 1, 4, 4), 3, jnp.int32), small, "beyond")
    with pytest.raises(ValueError, match="label 3 .* beyond the vocabulary's 3 concepts") as err:
        dissect(model, tmp_path / "beyond", beyond)
    one_line(err)
