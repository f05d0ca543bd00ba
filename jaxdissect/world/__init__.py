"""The synthetic concept world in one place: scenes, vocabulary, source, segmenter, models,
training.

- scenes: :mod:`.source` (``render_world``, :class:`~.source.WorldRows` for dissections) draws
  them from :mod:`.layout` (scene rules), :mod:`.backdrop`, :mod:`.objects` and :mod:`.canvas`,
  with exact segmentations in the concepts of :mod:`.vocabulary`;
- models: ``load_world_model(name)`` -> ``Net`` for ``classifier`` (VGG-style scene
  classifier), ``segmenter`` (object / material / part heads plus colour from RGB),
  ``generator`` (Progressive-GAN architecture) and ``vit``; see :mod:`.assets` and :mod:`.models`;
- ``segment_images`` / ``segment_fn`` (:mod:`.segment`): the world segmenter in the multi-label
  format;
- ``python -m jaxdissect.world.train {classifier,segmenter,generator,vit,all}`` retrains them.
"""

from jaxdissect.world.assets import load_world_model
from jaxdissect.world.segment import segment_fn, segment_images

__all__ = ["load_world_model", "segment_fn", "segment_images"]
