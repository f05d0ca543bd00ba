"""Merge the segmenters' scores into the multi-label concept map (N, 6, h, w) int32.

Channels (numbers from :class:`~.vocabulary.ConceptNumbering`):

0. object: argmax of the object scores (0 = none);
1. material: argmax of the material scores plus ``5K``; "none" stays 0;
2. part: where channel 0 is an object that owns parts, the argmax within that owner's group of
   part channels, translated to its concept (the group's first channel, "none", gives 0; a part
   named like an object gives that object's number); 0 elsewhere;
3. / 4. the quad halves of every 8-connected component of each object (:mod:`.components`):
   ``-t`` / ``-b`` in channel 3, ``-l`` / ``-r`` in channel 4;
5. colour, one channel per category of the colour model's ``labels.json`` (one, "color", in
   the published file): the argmax over that category's channels, as its label number
   (:class:`~.vocabulary.ColorLabels`) plus the colour offset; a category with a ``mask``
   label keeps its label only where that label wins its own category (0 elsewhere). Label 0
   (the colour model's "-") gives 0 unless ``color_none_concept=True``, which reproduces the
   reference (its "none" becomes the concept ``colour offset``).

Scores are anything whose argmax is the prediction (logits or probabilities) at the label size,
NHWC; ties go to the lowest channel. Reference quirk behind a flag: ``skip_last_component=True``
leaves the last connected component of each image out of channels 3 and 4, as the reference
loop does; the default labels every component.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from jaxdissect.models.segmenter.components import quad_split
from jaxdissect.models.segmenter.vocabulary import (
    ColorLabels,
    ConceptNumbering,
    UnifiedLabels,
    part_concepts,
)


@dataclass(frozen=True, eq=False)
class MergeTables:
    """Static lookup tables of the merge (numpy), built by :meth:`of`.

    ``group_of_object`` (K+1,): the part group an object owns, or -1; ``group_channels`` (G, L):
    the part-head channels of each group padded to L; ``group_valid`` (G, L); ``group_concepts``
    (G, L): the concept number of each channel.
    """

    numbering: ConceptNumbering
    group_of_object: np.ndarray
    group_channels: np.ndarray
    group_valid: np.ndarray
    group_concepts: np.ndarray
    colors: ColorLabels | None = None

    @classmethod
    def of(cls, labels: UnifiedLabels, colors: ColorLabels | None = None) -> MergeTables:
        groups = labels.part_groups
        width = max((len(g.names) for g in groups), default=1)
        concepts = part_concepts(labels)
        owner = np.full(len(labels.objects), -1, np.int32)
        channels = np.zeros((max(len(groups), 1), width), np.int32)
        valid = np.zeros(channels.shape, bool)
        for i, g in enumerate(groups):
            owner[g.owner] = i
            channels[i, : len(g.names)] = np.arange(g.start, g.start + len(g.names))
            valid[i, : len(g.names)] = True
        return cls(ConceptNumbering.of(labels, colors), owner, channels, valid,
                   np.where(valid, concepts[channels], 0).astype(np.int32), colors)


def part_labels(objects: jax.Array, part_scores: jax.Array, tables: MergeTables) -> jax.Array:
    """(N, h, w) part concepts: the argmax inside the group of each pixel's object."""
    group = jnp.asarray(tables.group_of_object)[objects]
    owned = group >= 0
    group = jnp.maximum(group, 0)
    channels = jnp.asarray(tables.group_channels)[group]  # (N, h, w, L)
    scores = jnp.take_along_axis(part_scores, channels, axis=-1)
    valid = jnp.asarray(tables.group_valid)[group]
    local = jnp.argmax(jnp.where(valid, scores, -jnp.inf), axis=-1)
    concept = jnp.take_along_axis(jnp.asarray(tables.group_concepts)[group], local[..., None],
                                  axis=-1)[..., 0]
    return jnp.where(owned, concept, 0)


def color_labels(color_scores: jax.Array, colors: ColorLabels) -> jax.Array:
    """(N, h, w, channels) colour scores -> int32 (N, categories, h, w) colour label numbers
    (0 = none): per category the argmax over its channels, masked where it has a mask."""
    table = jnp.asarray(colors.channel_labels)
    winners = [jnp.argmax(color_scores[..., list(c.channels)], axis=-1)
               for c in colors.color_categories]
    out = []
    for category, winner in zip(colors.color_categories, winners, strict=True):
        label = table[jnp.asarray(category.channels)][winner]
        mask = colors.mask_of(category)
        if mask is not None:
            label = jnp.where(winners[mask[0]] == mask[1], label, 0)
        out.append(label)
    return jnp.stack(out, axis=1).astype(jnp.int32)


def merge_labels(
    object_scores: jax.Array,
    material_scores: jax.Array,
    part_scores: jax.Array,
    color_scores: jax.Array | None,
    tables: MergeTables,
    skip_last_component: bool = False,
    color_none_concept: bool = False,
) -> jax.Array:
    """Scores (N, h, w, C_head) -> int32 (N, 5 + colour categories, h, w) concept labels (6
    with the published colour model, 5 without colours).

    Jittable; ``tables``, ``skip_last_component`` and ``color_none_concept`` are static.
    """
    numbering = tables.numbering
    if object_scores.shape[-1] != len(tables.group_of_object):
        raise ValueError(f"object scores have {object_scores.shape[-1]} channels, the labels "
                         f"{len(tables.group_of_object)}")
    objects = jnp.argmax(object_scores, axis=-1).astype(jnp.int32)
    material = jnp.argmax(material_scores, axis=-1).astype(jnp.int32)
    material = jnp.where(material == 0, 0, material + numbering.material_offset)
    parts = part_labels(objects, part_scores, tables)
    top_bottom, left_right = quad_split(objects, numbering.num_objects, skip_last_component)
    channels = [objects, material, parts, top_bottom, left_right]
    if color_scores is not None:
        if tables.colors is None:
            raise ValueError("colour scores given but the merge tables have no colour labels")
        color = color_labels(color_scores, tables.colors)
        shifted = color + numbering.color_offset
        channels += list(jnp.moveaxis(
            shifted if color_none_concept else jnp.where(color == 0, 0, shifted), 1, 0))
    return jnp.stack(channels, axis=1)
