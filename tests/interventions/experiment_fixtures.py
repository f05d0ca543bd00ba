"""Files for the experiment tests: an image folder of coloured squares, a dissection folder,
toy models with the metadata a converted model has, a test-only architecture that
``jaxdissect.load`` can build, and the command line with the experiment command alone."""

import functools
from pathlib import Path
from unittest import mock

import jax.numpy as jnp
import numpy as np
from PIL import Image
from toy_models import TinyClassifier, make_generator, tiny_classifier

from jaxdissect import cli
from jaxdissect.concepts import ConceptVocabulary
from jaxdissect.dissection.presets import get_config
from jaxdissect.dissection.results import build_layer_result, save_result
from jaxdissect.models.base import Net, Normalization
from jaxdissect.models.registry import ArchSpec, register_arch
from jaxdissect.models.segmenter.segment import Segmenter
from jaxdissect.stats.counts import CountsResult

CLASSES = ("blue", "green", "red")
NORMALIZATION = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "size": 8}


def image_folder(root: Path, per_class: int, seed: int) -> Path:
    """root/<colour>/<i>.png: 8x8 noise with the class's channel brighter."""
    rng = np.random.default_rng(seed)
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        channel = {"red": 0, "green": 1, "blue": 2}[name]
        for i in range(per_class):
            pixels = rng.uniform(0.1, 0.7, size=(8, 8, 3))
            pixels[..., channel] += 0.25
            Image.fromarray((pixels * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


@functools.cache
def classifier(seed: int = 0) -> Net:
    net = tiny_classifier(num_classes=3, seed=seed)
    return Net(module=net.module, params=net.params, meta={"normalization": NORMALIZATION})


@functools.cache
def generator(seed: int = 3) -> Net:
    net = make_generator(seed=seed)
    return Net(module=net.module, params=net.params, meta={"inputs": "latent", "latent_dim": 3})


VOCABULARY = ConceptVocabulary.from_names(["bright", "dark"], categories=["object", "object"])


def dissection_folder(folder: Path, bright_overlap=(5, 20, 1, 10), layer="layer1",
                      act_size=(4, 4), seg_size=(16, 16)) -> Path:
    """A result for ``layer`` whose IoU with ``bright`` ranks the units by ``bright_overlap``."""
    units = len(bright_overlap)
    inter = np.zeros((units, 3), np.int64)
    inter[:, 1] = bright_overlap
    areas = np.full(units, 100, np.int64), np.array([0, 50, 50], np.int64)
    counts = CountsResult(inter, *areas, None, 10)
    topk = (np.zeros((units, 2), np.float32), np.zeros((units, 2), np.int64))
    result = build_layer_result(layer, get_config("pnas2020"), VOCABULARY,
                                np.zeros(units, np.float32), counts, topk, 10, act_size,
                                seg_size)
    return save_result(result, folder)


def bright_segmenter(threshold: float = 0.5) -> Segmenter:
    """Concept 1 (bright) where channel 0 exceeds ``threshold``, 2 (dark) elsewhere."""
    def fn(images):
        return jnp.where(images[..., 0] > threshold, 1, 2).astype(jnp.int32)[:, None]

    return Segmenter(fn, VOCABULARY, f"bright>{threshold}")


def _build_toy(sizes, dtype):
    return TinyClassifier(int(sizes["num_classes"]))


def _toy_normalization(sizes):
    return Normalization(size=8)


TOY_ARCH = ArchSpec(name="test_tiny_classifier", build=_build_toy,
                    normalization=_toy_normalization, default_layer="conv2",
                    converter="tests.unused:none")
register_arch(TOY_ARCH)  # a test-only family: jaxdissect.load builds it from meta.json


def run_cli(argv) -> int:
    """``jaxdissect`` with the experiment command alone (the others are tested elsewhere)."""
    with mock.patch.object(cli, "COMMANDS", ("experiment",)):
        return cli.main(argv)
