"""A corrupt image in the probe data is named in the run's summary and never stops the run."""

import json

import numpy as np
import pytest
from PIL import Image

from jaxdissect.pipeline.run import dissect_model


@pytest.fixture
def folder_with_a_truncated_image(tmp_path):
    rng = np.random.default_rng(3)
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (70, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{i}.jpg")
    whole = (tmp_path / "images" / "a" / "0.jpg").read_bytes()
    (tmp_path / "images" / "b" / "broken.jpg").write_bytes(whole[:150])
    return tmp_path / "images"


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
