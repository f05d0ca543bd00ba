"""Shared dissections of the shipped world models for the science tests.

Every science test measures a claim of the paper on freshly drawn data: world images and
latent vectors from seeds that neither training (seed 0) nor the demo (seed 1) used. The
dissections are the expensive part, so each is computed once per session and shared:

* ``classifier_exact``: the world classifier's last conv layer (``conv4_2``, 96 units) and its
  last hidden layer (``fc6``, 64 units) dissected on ``PROBE_IMAGES`` world images of
  ``PROBE_SEED`` with the world's exact segmentations;
* ``classifier_segmented``: ``conv4_2`` on the same images, labelled by the shipped world
  segmenter instead;
* ``generator_dissection``: the world generator's ``layer4`` (8x8x64) on ``PROBE_LATENTS``
  latents of ``GENERATOR_PROBE_SEED``, the world segmenter labelling the generated images;
* ``vit_exact``: the world ViT's last two blocks (``block3``, ``block4``: 8x8 patch tokens of
  64 units, class token apart) on the classifier's probe images, exact segmentations.

Seeds and sizes: ``science_settings``.
"""

import pytest
from science_settings import (
    BATCH,
    DEVICES,
    GENERATOR_PROBE_SEED,
    PROBE_IMAGES,
    PROBE_LATENTS,
    PROBE_SEED,
)

from jaxdissect.runs.model_dissection import dissect_model
from jaxdissect.runs.models import load_studied_model


def _dissect(model, data, folder, layers, segmenter, seed=PROBE_SEED):
    return dissect_model(model, data, folder, layers=layers, segmenter=segmenter,
                         batch_size=BATCH, devices=DEVICES, data_options={"seed": seed},
                         progress=False, keyed=False, report=False).results


@pytest.fixture(scope="session")
def world_classifier():
    return load_studied_model("world:classifier")


@pytest.fixture(scope="session")
def world_generator():
    return load_studied_model("world:generator")


@pytest.fixture(scope="session")
def classifier_exact(world_classifier, tmp_path_factory):
    """{layer: LayerResult} for conv4_2 and fc6, exact world segmentations."""
    return _dissect(world_classifier, f"world:{PROBE_IMAGES}",
                    tmp_path_factory.mktemp("classifier-exact"), ("conv4_2", "fc6"), "data")


@pytest.fixture(scope="session")
def classifier_segmented(world_classifier, tmp_path_factory):
    """{layer: LayerResult} for conv4_2, labels from the shipped world segmenter."""
    return _dissect(world_classifier, f"world:{PROBE_IMAGES}",
                    tmp_path_factory.mktemp("classifier-segmenter"), ("conv4_2",), "world")


@pytest.fixture(scope="session")
def generator_dissection(world_generator, tmp_path_factory):
    """The LayerResult of the generator's layer4, world segmenter in the loop."""
    return _dissect(world_generator, f"latents:{PROBE_LATENTS}",
                    tmp_path_factory.mktemp("generator"), ("layer4",), "world",
                    seed=GENERATOR_PROBE_SEED)["layer4"]


@pytest.fixture(scope="session")
def world_vit():
    return load_studied_model("world:vit")


@pytest.fixture(scope="session")
def vit_exact(world_vit, tmp_path_factory):
    """{layer: LayerResult} for the ViT's block3 and block4, exact world segmentations."""
    return _dissect(world_vit, f"world:{PROBE_IMAGES}", tmp_path_factory.mktemp("vit-exact"),
                    ("block3", "block4"), "data")
