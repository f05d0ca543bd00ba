"""Tests for jaxdissect/concepts.py."""

import numpy as np
import pytest

from jaxdissect.concepts import CATEGORY_ORDER, ConceptVocabulary, primary_category


def test_primary_category_takes_the_largest_count():
    assert primary_category("object(123);part(4)") == "object"
    assert primary_category("object(3);part(40)") == "part"
    assert primary_category("material") == "material"
    # ties go to the earlier category in report order
    assert primary_category("part(5);object(5)") == "object"
    with pytest.raises(ValueError, match="cannot read"):
        primary_category("object(1")


def test_numbered_vocabulary():
    vocab = ConceptVocabulary.numbered(4)
    assert vocab.names == ("-", "c1", "c2", "c3")
    assert vocab.categories[1:] == ("concept",) * 3
    assert vocab.num_concepts == len(vocab) == 4
    assert vocab.category_names == ("concept",)
    np.testing.assert_array_equal(vocab.category_of, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="at least 2"):
        ConceptVocabulary.numbered(1)


def test_categories_follow_report_order():
    vocab = ConceptVocabulary.from_names(
        ["red", "door", "tree", "wood", "zebra-ness", "house"],
        ["colour", "part", "object", "material", "pattern", "object"],
    )
    assert vocab.category_names == ("object", "part", "material", "colour", "pattern")
    np.testing.assert_array_equal(vocab.category_of, [0, 3, 1, 0, 2, 4, 0])
    assert vocab.number("tree") == 3
    with pytest.raises(KeyError, match="unknown concept 'sky'"):
        vocab.number("sky")


def test_one_category_order_for_vocabularies_and_reports():
    """Broden's six categories: the published order (scene last), the one the report uses."""
    from jaxdissect.report.categories import ordered_categories

    categories = ["scene", "color", "texture", "material", "part", "object"]
    vocab = ConceptVocabulary.from_names([f"c{i}" for i in range(6)], categories)
    assert vocab.category_names == CATEGORY_ORDER == (
        "object", "part", "material", "texture", "color", "scene")
    assert list(vocab.category_names) == ordered_categories(categories)
    assert primary_category("scene(5);material(5)") == "material"


def test_from_csv_broden_style(tmp_path):
    path = tmp_path / "label.csv"
    path.write_text(
        "number,name,category,frequency\n"
        "0,-,-,0\n"
        "2,wall,object(10);part(2),12\n"
        "1,red-c,color(50),50\n"
        "3,handle,object(1);part(9),10\n"
    )
    vocab = ConceptVocabulary.from_csv(path)
    assert vocab.names == ("-", "red-c", "wall", "handle")
    assert vocab.categories == ("none", "color", "object", "part")
    assert vocab.category_names == ("object", "part", "color")
    out = tmp_path / "copy.csv"
    vocab.save_csv(out)
    assert ConceptVocabulary.from_csv(out) == vocab


def test_bad_vocabularies(tmp_path):
    with pytest.raises(ValueError, match="missing \\[2\\]"):
        ConceptVocabulary.from_rows([(1, "a", "object"), (3, "b", "object")])
    with pytest.raises(ValueError, match="repeated"):
        ConceptVocabulary.from_rows([(1, "a", "object"), (1, "b", "object")])
    with pytest.raises(ValueError, match="2 names but 1 categories"):
        ConceptVocabulary(("-", "a"), ("none",))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1,a\n")
    with pytest.raises(ValueError, match="number,name,category"):
        ConceptVocabulary.from_csv(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        ConceptVocabulary.from_csv(tmp_path / "absent.csv")
