"""Models of the synthetic concept world (``jaxdissect.world.source``), trained and shipped.

- ``load_world_model(name)`` -> ``Net`` for ``classifier`` (VGG-style scene classifier),
  ``segmenter`` (object / material / part heads plus colour from RGB) and ``generator`` (a
  Progressive-GAN-architecture decoder of world scenes); see ``assets``.
- ``segment_images`` / ``segment_fn``: the world segmenter in the multi-label format.
- ``python -m jaxdissect.world.train {classifier,segmenter,generator,all}`` retrains them.
"""

from jaxdissect.world.assets import load_world_model
from jaxdissect.world.segment import segment_fn, segment_images

__all__ = ["load_world_model", "segment_fn", "segment_images"]
