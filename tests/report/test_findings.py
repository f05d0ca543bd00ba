"""Tests for jaxdissect/report/findings.py: each experiment's finding in a few lines."""

from fixture_results import INSERTION, REMOVAL

from jaxdissect.report.experiment_kinds import summary_lines


def test_classifier_curves_are_read_against_their_random_baseline():
    lines = summary_lines(REMOVAL)
    assert lines[0] == ("ski resort: 0.81 unedited; with 5 removed 0.62 (random: 0.81 "
                        "(0.80-0.81)); with 20 removed 0.54 (random: 0.79 (0.78-0.80)); with 256 "
                        "removed 0.50 (random: 0.63 (0.60-0.66)); with only its top 20 kept 0.78")
    assert lines[1].startswith("bedroom: 0.90 unedited; with 1 removed 0.88;")
    concept = dict(REMOVAL, concept_ablation={
        "concept": "fence", "units": [1, 2, 3], "classes": [
            {"name": "farm", "unedited": 1.0, "concept_removed": 0.56,
             "random_removed": [1.0, 0.98]}]})
    assert summary_lines(concept)[-1] == ("farm: removing the 3 units labelled fence: 1.00 -> "
                                          "0.56; 3 random units: 0.99 on average (0.98-1.00)")


def test_generator_removal_says_how_much_of_the_concept_went():
    data = {"kind": "removal_curves", "concept": "tree", "layer": "layer4",
            "labelled_units": [4, 9],
            "curves": [{"name": "tree", "removed": [0, 1, 2, 3], "accuracy": [1.0, 0.8, 0.5, 0.4],
                        "random_removed": [0, 2, 3], "random": [[1, 1], [0.98, 0.96],
                                                                [0.9, 0.94]]}]}
    data["curves"][0]["random"][1] = [1.1, 1.1]
    assert summary_lines(data) == [
        "2 tree units removed: 50% of the tree pixels gone (2 random units: 10% more)",
        "3 tree units removed: 60% of the tree pixels gone (3 random units: 8% gone)",
        "2 units of layer4 are labelled tree"]


def test_insertion_names_the_contexts_that_take_the_concept_and_those_that_do_not():
    lines = summary_lines(INSERTION)
    assert lines[0].startswith("inserting 0 door units at one cell of layer4")
    assert lines[1:] == ["window: 91.00 (1,000 insertions)", "stairway: 75.00 (400 insertions)",
                         "building: 26.00 (2,000 insertions)", "tree: 0.30 (3,000 insertions)",
                         "sky: 0.02 (5,000 insertions)"]
