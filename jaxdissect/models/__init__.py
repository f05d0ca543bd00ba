"""Flax models with named activations and unit edits: no device, file or torch code.

A model call returns ``(output, acts)`` keyed by the published layer names and accepts unit
edits (:mod:`.edits`). :mod:`.registry` ties each ``--arch`` name to its builder, its layers and
its input (images with a normalisation, or latents of a size); :class:`~.base.Net` binds a
module to its parameters and exposes those facts. Families: :mod:`.vgg`, :mod:`.alexnet`,
:mod:`.resnet`, :mod:`.proggan`, :mod:`.segmenter` (UPerNet + colour model).

A new architecture is its module here plus its registry entry (and, for a published checkpoint,
a converter in ``ports/``): two or three files.
"""
