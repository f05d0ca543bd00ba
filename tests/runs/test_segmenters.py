"""Tests for jaxdissect/runs/segmenters.py: segmenters by their spec (and the data's own labels,
segmenter=None, as a dissection checks them)."""

import numpy as np
import pytest

from jaxdissect.runs.data import open_probe_data
from jaxdissect.runs.model_dissection import data_labels, resolve_segmenter
from jaxdissect.runs.models import load_studied_model, to_unit_range
from jaxdissect.runs.segmenters import check_published_meta, open_segmenter, world_segmenter
from jaxdissect.world.assets import asset_path
from jaxdissect.world.source import WorldConfig, WorldRows, render_world
from jaxdissect.world.vocabulary import name_colours

LABELS = {"object": ["-", "sky", "house"], "material": ["-", "wood"],
          "object_part": {"house": ["-", "door", "roof"]}}


def upernet_meta(**sizes):
    return {"arch": "upernet50", "sizes": {"labels": LABELS, "num_objects": 3,
                                           "num_materials": 2, "num_parts": 3, **sizes}}


def colour_meta(classes=3):
    labels = {"labels": ["-", "red", "blue"],
              "imageformat": {"byteorder": "RGB", "mean": [0.5] * 3, "stdev": [0.2] * 3}}
    return {"arch": "colorseg", "sizes": {"labels": labels, "num_classes": classes}}


def test_published_segmenter_heads_must_match_their_vocabulary():
    check_published_meta(upernet_meta(), colour_meta())
    with pytest.raises(ValueError, match="does not match its heads.*num_objects: heads 5"):
        check_published_meta(upernet_meta(num_objects=5), None)
    with pytest.raises(ValueError, match="colour classes: heads 4, labels 3"):
        check_published_meta(upernet_meta(), colour_meta(classes=4))
    with pytest.raises(ValueError, match="not a converted colour segmenter"):
        check_published_meta(upernet_meta(), {**colour_meta(), "arch": "vgg16"})


def test_world_segmenter_labels_generated_size_images_on_its_own_grid():
    segmenter = world_segmenter(None, 32)
    assert segmenter.identity["kind"] == "world_segmenter"
    assert segmenter.identity["upsample"] == 2 and segmenter.vocabulary.num_concepts > 50
    assert set(segmenter.identity) == {"kind", "upsample", "model"}  # the keys of earlier runs
    images = render_world(WorldConfig(size=32, seed=2), np.arange(3))["image"]
    seg = np.asarray(segmenter(to_unit_range(images)))
    assert seg.shape == (3, 4, 32, 32) and seg.dtype == np.int32
    big = images.repeat(2, axis=1).repeat(2, axis=2)  # what the segmenter saw
    np.testing.assert_array_equal(seg[:, 3], name_colours(big[:, 1::2, 1::2]))
    with pytest.raises(ValueError, match="multiple of 8"):
        world_segmenter(None, 20)


def test_data_labels_need_segmentations_and_a_vocabulary():
    classifier = load_studied_model("world:classifier")
    assert resolve_segmenter(None, classifier) is None
    assert resolve_segmenter("data", classifier) is None
    vocabulary, identity = data_labels(classifier, WorldRows(4))
    assert identity == {"kind": "data", "num_concepts": vocabulary.num_concepts}
    generator = load_studied_model("world:generator")
    with pytest.raises(ValueError, match="generated images have no segmentations"):
        latents = open_probe_data("latents:4", latent_dim=generator.latent_dim)
        data_labels(generator, latents)
    with pytest.raises(ValueError, match="--colornet goes with a converted UPerNet"):
        open_segmenter("world", image_size=64, colornet="x")
    with pytest.raises(ValueError, match="--colornet goes with a converted UPerNet.*data"):
        resolve_segmenter("data", classifier, colornet="x")
    with pytest.raises(ValueError, match="'data' is not a segmenter"):
        open_segmenter("data", image_size=64)


def test_a_spec_that_is_not_a_segmenter_names_the_way_out(tmp_path):
    with pytest.raises(FileNotFoundError, match="segmenter folder .*nowhere not found; give "
                                                 "world, a converted UPerNet folder"):
        open_segmenter(str(tmp_path / "nowhere"), image_size=64)
    with pytest.raises(ValueError, match="not a converted segmenter folder.*--arch upernet50"):
        open_segmenter(str(tmp_path), image_size=64)
    with pytest.raises(ValueError, match="world_vgg model, not a segmenter"):
        open_segmenter(asset_path("classifier"), image_size=64)


@pytest.mark.slow
def test_a_converted_upernet_folder_labels_a_dissection(tmp_path):
    from world_fixtures import tiny_upernet

    from jaxdissect.runs.model_dissection import dissect_model

    folder = tiny_upernet(tmp_path / "upernet")
    done = dissect_model("world:classifier", "world:16", tmp_path / "out", segmenter=str(folder),
                         batch_size=8, progress=False, topk=3)
    result = done.results["conv4_2"]
    assert result.seg_size == (16, 16)  # a quarter of the 64 px images, as published
    assert result.vocabulary.names[:4] == ("-", "sky", "house", "tree")
    assert "house-t" in result.vocabulary.names and "roof" in result.vocabulary.names
    assert done.identity.segmenter["kind"] == "published"
    assert done.identity.segmenter["upernet"]["hash_of"] == "parameters"


@pytest.mark.slow  # two published pipelines: 160 s on a loaded 2-core machine
def test_the_colour_none_option_labels_the_reference_way(tmp_path):
    """``--color-none-concept``: where the colour model says "none", the colour channel holds
    the concept color-none instead of 0; everything else is unchanged; the identity says so."""
    from world_fixtures import tiny_colornet, tiny_upernet

    classifier = load_studied_model("world:classifier")
    upernet, colornet = tiny_upernet(tmp_path / "upernet"), tiny_colornet(tmp_path / "color")
    plain = open_segmenter(str(upernet), image_size=classifier.image_size(),
                           colornet=str(colornet))
    as_reference = open_segmenter(str(upernet), image_size=classifier.image_size(),
                                  colornet=str(colornet), color_none_concept=True)
    assert "color_none_concept" not in plain.identity
    assert as_reference.identity["color_none_concept"] is True
    images = to_unit_range(render_world(WorldConfig(seed=3), np.arange(2))["image"])
    got, want = np.asarray(as_reference(images)), np.asarray(plain(images))
    none = as_reference.vocabulary.names.index("color-none")
    np.testing.assert_array_equal(got[:, :5], want[:, :5])
    np.testing.assert_array_equal(got[:, 5], np.where(want[:, 5] == 0, none, want[:, 5]))
    with pytest.raises(ValueError, match="--color-none-concept goes with --colornet"):
        open_segmenter(str(upernet), image_size=64, color_none_concept=True)
