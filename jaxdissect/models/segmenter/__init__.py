"""The concept segmenter of the PNAS 2020 dissections, in Flax: UPerNet + a colour model.

- :mod:`.upernet` / :mod:`.colornet`: the two networks (registered as ``upernet50`` and
  ``colorseg`` for ``jaxdissect convert FOLDER DEST --arch ...``);
- :mod:`.merge`: their scores -> the (N, 6, h, w) multi-label concept map (connected components
  on the device: :mod:`.components`);
- :mod:`.vocabulary`: the checkpoints' ``labels.json`` and the 1,825-concept vocabulary;
- :mod:`.segment`: the one :class:`Segmenter` type that dissections and experiments consume
  (plug in your own), and the published pipeline as one (:func:`published_segmenter`; from
  converted folders: :func:`jaxdissect.runs.segmenters.load_published_segmenter`).
"""

from jaxdissect.models.segmenter import colornet, upernet  # noqa: F401  (registers the archs)
from jaxdissect.models.segmenter.colornet import ColorNet
from jaxdissect.models.segmenter.merge import MergeTables, merge_labels
from jaxdissect.models.segmenter.segment import Segmenter, published_segmenter
from jaxdissect.models.segmenter.upernet import UPerNet
from jaxdissect.models.segmenter.vocabulary import (
    ColorLabels,
    ConceptNumbering,
    UnifiedLabels,
    unified_vocabulary,
)

__all__ = [
    "ColorLabels",
    "ColorNet",
    "ConceptNumbering",
    "MergeTables",
    "Segmenter",
    "UPerNet",
    "UnifiedLabels",
    "merge_labels",
    "published_segmenter",
    "unified_vocabulary",
]
