"""Tests for jaxdissect/report/experiment_kinds.py: the table of kinds, their schemas and kinds."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from fixture_results import INSERTION, REMOVAL

from jaxdissect.report import experiment_kinds as kinds
from jaxdissect.report.removal_plot import concept_ablation_svg

NS = "{http://www.w3.org/2000/svg}"


def write(tmp_path, data, name="e.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_removal_curves_draw_each_class_in_its_panel_with_its_baseline(tmp_path):
    data = kinds.load_experiment(write(tmp_path, REMOVAL))
    doc = kinds.experiment_svg(data)
    root = ET.fromstring(doc)
    curves = [g for g in root.iter(f"{NS}g") if g.get("class", "").startswith("curve")]
    # Small multiples: ski resort (its curve, then its keep-top-20 point), then bedroom.
    assert [g.find(f"{NS}title").text for g in curves] == [
        "ski resort", "ski resort, keep top 20", "bedroom"]
    assert len(curves[0].findall(f"{NS}polyline")) == 1
    assert len(curves[0].findall(f"{NS}circle")) == 10
    # On the log(1 + x) axis, 0 removed sits at the left edge and the most removed at the right.
    xs = [float(c.get("cx")) for c in curves[0].findall(f"{NS}circle")]
    assert xs == sorted(xs)
    # Bedroom's panel lies to the right of ski resort's, with the same y axis.
    assert float(curves[2].find(f"{NS}circle").get("cx")) > max(xs)
    # The keep-top-k point is a labelled marker, not a line.
    assert curves[1].findall(f"{NS}polyline") == [] and "keep top 20: 0.78" in doc
    # Ski resort's random baseline: a band over the draws and a whisker per size.
    baselines = [g for g in root.iter(f"{NS}g") if g.get("class") == "baseline"]
    assert len(baselines) == 1
    assert len(baselines[0].findall(f"{NS}polygon")) == 1
    assert len(baselines[0].findall(f"{NS}line")) == 4
    assert "as many random units" in doc


def test_concept_ablation_bars_show_every_random_draw():
    entry = {"concept": "fence", "layer": "conv4_2", "units": [3, 8, 9],
             "classes": [{"name": "farm", "unedited": 1.0, "concept_removed": 0.56,
                          "random_removed": [1.0, 0.99, 0.98]}]}
    root = ET.fromstring(concept_ablation_svg(entry))
    bars = [g.find(f"{NS}title").text for g in root.iter(f"{NS}g") if g.get("class") == "bar"]
    assert bars == ["farm, unedited: 1.000", "farm, fence units removed: 0.560",
                    "farm, random units removed (mean): 0.990"]
    assert len(root.findall(f".//{NS}circle")) == 3


def test_insertion_bars_sorted_by_pixels_per_insertion(tmp_path):
    data = kinds.load_experiment(write(tmp_path, INSERTION))
    doc = kinds.experiment_svg(data)
    labels = re.findall(r"<title>([a-z]+): ([0-9.]+) new pixels", doc)
    assert [name for name, _ in labels] == ["window", "stairway", "building", "tree", "sky"]
    assert float(labels[0][1]) == 91.0


def test_insertion_bars_carry_their_random_baseline(tmp_path):
    data = json.loads(json.dumps(INSERTION))
    for context in data["contexts"]:
        context["random_new_pixels"] = [0, 2 * context["locations"]]
    data["random_units"] = [[1, 2], [3, 4]]
    doc = kinds.experiment_svg(kinds.load_experiment(write(tmp_path, data)))
    assert "as many random units (2 sets)" in doc
    assert re.search(r"window: 91 new pixels per insertion, [0-9]+ insertions; random units: 1 "
                     r"\(range 0-2\)", doc)
    assert len(re.findall('fill="#bab0ac"', doc)) == len(data["contexts"]) + 1  # + the legend
    lines = kinds.summary_lines(kinds.load_experiment(write(tmp_path, data)))
    assert any("random units: 1.00" in line for line in lines)
    data["contexts"][0]["random_new_pixels"] = "many"
    with pytest.raises(ValueError, match="random_new_pixels must be a list"):
        kinds.load_experiment(write(tmp_path, data))


ADVERSARIAL = {"kind": "adversarial_unit_change", "layer": "conv5_3", "source": "ski_resort",
               "target": "bedroom", "units": [{"unit": 261, "change": -53.2, "label": "snow"},
                                              {"unit": 157, "change": 43.5},
                                              {"unit": 149, "change": -21.0}]}


def test_adversarial_bars_carry_the_random_baseline(tmp_path):
    data = {**ADVERSARIAL, "random": [2.0, 4.0], "top_mean_abs_change": 39.2}
    doc = kinds.experiment_svg(kinds.load_experiment(write(tmp_path, data)))
    assert doc.count('stroke-dasharray="4 3"') == 2
    assert "mean |change| of as many random units (2 draws): 3" in doc
    lines = kinds.summary_lines(kinds.load_experiment(write(tmp_path, data)))
    assert lines[-1] == ("the 3 units that change most move by 39.2 on average; as many random "
                         "units by 3 (2 draws)")
    with pytest.raises(ValueError, match="random must be a list of numbers"):
        kinds.load_experiment(write(tmp_path, {**ADVERSARIAL, "random": 3}))


def test_adversarial_bars_point_the_way_each_unit_moved(tmp_path):
    data = kinds.load_experiment(write(tmp_path, ADVERSARIAL))
    root = ET.fromstring(kinds.experiment_svg(data))
    bars = [g.find(f"{NS}rect") for g in root.iter(f"{NS}g") if g.find(f"{NS}rect") is not None]
    tips = [g.find(f"{NS}title").text for g in root.iter(f"{NS}g") if g.find(f"{NS}rect")
            is not None]
    assert tips == ["unit 261 snow: -53.2", "unit 157: +43.5", "unit 149: -21"]
    left = [float(b.get("x")) for b in bars]
    right = [float(b.get("x")) + float(b.get("width")) for b in bars]
    # Decreases end where increases start (at zero); the biggest change is the longest bar.
    assert right[0] == pytest.approx(left[1]) and right[2] == pytest.approx(left[1])
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] > widths[1] > widths[2]
    assert {b.get("fill") for b in (bars[0], bars[2])} != {bars[1].get("fill")}


@pytest.mark.parametrize("data, message", [
    ({"kind": "other"}, "'kind' must be one of"),
    ({"kind": "removal_curves"}, "'curves'"),
    ({"kind": "removal_curves", "curves": [{"name": "a", "removed": [1, 2], "accuracy": [1]}]},
     "as many 'removed' as 'accuracy'"),
    ({"kind": "insertion_context", "concept": "door", "contexts": [{"label": "x"}]},
     "'contexts\\[0\\].new_pixels'"),
    ({"kind": "adversarial_unit_change", "source": "a", "target": "b",
      "units": [{"unit": 1}]}, "'units\\[0\\].change'"),
])
def test_bad_experiment_files_name_the_problem(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as err:
        kinds.load_experiment(path)
    assert str(path) in str(err.value)


def test_every_kind_is_checked_drawn_and_put_in_words(tmp_path):
    """One table entry per kind: the file is checked, drawn and summed up through it alone."""
    for data in (REMOVAL, INSERTION, ADVERSARIAL):
        entry = kinds.KINDS[data["kind"]]
        loaded = kinds.load_experiment(write(tmp_path, data))
        assert kinds.experiment_svg(loaded) == entry.svg(loaded, False)
        assert kinds.summary_lines(loaded) == entry.lines(loaded) != []
    assert set(kinds.KINDS) == {REMOVAL["kind"], INSERTION["kind"], ADVERSARIAL["kind"]}
