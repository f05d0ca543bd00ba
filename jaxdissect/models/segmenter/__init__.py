"""The concept segmenter of the PNAS 2020 dissections, in Flax: UPerNet + a colour model.

- :mod:`.upernet` / :mod:`.colornet`: the two networks (registered as ``upernet50`` and
  ``colorseg`` for ``jaxdissect convert FOLDER DEST --arch ...``);
- :mod:`.merge`: their outputs -> the (N, 6, h, w) multi-label concept map;
- :mod:`.vocabulary`: the 1,825-concept vocabulary from the checkpoints' ``labels.json``;
- :mod:`.segment`: the :class:`Segmenter` protocol a dissection consumes, and the published
  pipeline as one.
"""

from jaxdissect.models.segmenter import colornet, upernet  # noqa: F401  (registers the archs)
from jaxdissect.models.segmenter.colornet import ColorNet
from jaxdissect.models.segmenter.upernet import UPerNet

__all__ = ["ColorNet", "UPerNet"]
