"""A corrupt image in the probe data is named in the run's summary and never stops the run."""

import json

import pytest
from cli_runs import image_folder_with_a_truncated_image

from jaxdissect.runs.model_dissection import dissect_model


@pytest.fixture
def folder_with_a_truncated_image(tmp_path):
    return image_folder_with_a_truncated_image(tmp_path)


def test_skipped_file_is_listed_in_the_run_folder_and_the_log(folder_with_a_truncated_image,
                                                             tmp_path):
    lines = []
    with pytest.warns(UserWarning, match="broken.jpg"):
        run = dissect_model("world:classifier", f"folder:{folder_with_a_truncated_image}",
                            tmp_path / "out", segmenter="world", batch_size=4, devices=2,
                            data_options={"resize": 64, "crop": 64}, progress=False,
                            report=False, log=lines.append)
    summary = json.loads((run.folder / "data_summary.json").read_text())
    assert summary["num_skipped"] == 1 and summary["skipped"][0]["name"] == "b/broken.jpg"
    assert any("skipped 1 unreadable" in line and "b/broken.jpg" in line for line in lines)
    assert run.results["conv4_2"].num_images == 10  # the broken row is masked out
