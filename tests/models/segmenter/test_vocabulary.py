"""Label files, the joint concept numbering and the vocabulary."""

import numpy as np
import pytest

from jaxdissect.models.segmenter.vocabulary import (
    ColorLabels,
    ConceptNumbering,
    UnifiedLabels,
    part_concepts,
    unified_vocabulary,
)


def test_part_groups_follow_object_order(unified_json):
    labels = UnifiedLabels.from_json(unified_json)
    assert [(g.owner, g.start, len(g.names)) for g in labels.part_groups] == [
        (2, 0, 4), (3, 4, 5), (7, 9, 4), (8, 13, 3)]
    assert labels.num_part_channels == 16
    assert labels.true_parts == ("roof", "head", "arm", "leg", "torso", "wheel", "top")
    assert UnifiedLabels.from_json(labels.to_json()) == labels


def test_numbering_and_part_concepts(unified_json, color_json):
    labels, colors = UnifiedLabels.from_json(unified_json), ColorLabels.from_json(color_json)
    n = ConceptNumbering.of(labels, colors)
    assert (n.material_offset, n.first_part, n.color_offset, n.num_concepts) == (55, 60, 67, 79)
    # building: none, window (object 4), door (object 5), roof (first part)
    np.testing.assert_array_equal(part_concepts(labels),
                                  [0, 4, 5, 60, 0, 61, 62, 63, 64, 0, 4, 65, 5, 0, 63, 66])


def test_vocabulary_layout(unified_json, color_json):
    vocab = unified_vocabulary(UnifiedLabels.from_json(unified_json),
                               ColorLabels.from_json(color_json))
    assert vocab.num_concepts == 79
    assert vocab.names[1] == "sky" and vocab.categories[1] == "object"
    assert [vocab.names[i] for i in (12, 23, 34, 45)] == ["sky-t", "sky-l", "sky-b", "sky-r"]
    assert vocab.categories[12] == "part" and vocab.names[55] == "floor-r"
    assert vocab.names[56] == "wood" and vocab.categories[56] == "material"
    assert vocab.names[60] == "roof" and vocab.categories[60] == "part"
    assert vocab.names[67] == "color-none" and vocab.names[68] == "black"
    assert vocab.categories[78] == "color"


def test_published_sizes_give_1825_concepts():
    objects = ["-"] + [f"o{i}" for i in range(335)]
    groups = {objects[1 + g]: ["-"] + [f"p{(3 * g + j) % 112}" for j in range(5 if g < 42 else 4)]
              for g in range(77)}
    labels = UnifiedLabels.from_json(
        {"object": objects, "material": ["-"] + [f"m{i}" for i in range(25)],
         "object_part": groups})
    colors = ColorLabels(tuple(["-"] + [f"c{i}" for i in range(11)]), True, (0, 0, 0), (1, 1, 1))
    n = ConceptNumbering.of(labels, colors)
    assert labels.num_part_channels == 427 and len(labels.true_parts) == 112
    assert (n.material_offset + 1, n.first_part, n.color_offset, n.num_concepts) == (
        1676, 1701, 1813, 1825)
    assert unified_vocabulary(labels, colors).num_concepts == 1825


def test_bad_label_files_name_the_problem(unified_json, color_json):
    with pytest.raises(ValueError, match=r"lacks \['object_part'\]"):
        UnifiedLabels.from_json({"object": ["-"], "material": ["-"]})
    unified_json["object_part"]["boat"] = ["-", "sail"]
    with pytest.raises(ValueError, match=r"owners \['boat'\] are not objects"):
        UnifiedLabels.from_json(unified_json)
    color_json["imageformat"] = {"mean": [0.5, 0.5], "stdev": [1, 1, 1]}
    with pytest.raises(ValueError, match="bad imageformat"):
        ColorLabels.from_json(color_json)
