"""Heavier intervention cases (``pytest -m slow``): the zoo's VGG16 at conv5_3, and the
adversarial command end to end."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from experiment_fixtures import NORMALIZATION, TOY_ARCH, classifier, image_folder, run_cli
from toy_models import batches_of

from jaxdissect.checkpoint import save_model
from jaxdissect.interventions.ablation import unit_importance
from jaxdissect.interventions.accuracy import ClassCounts
from jaxdissect.models.base import Net
from jaxdissect.models.edits import UnitEdit
from jaxdissect.models.vgg import VGG16

pytestmark = pytest.mark.slow


def test_vgg16_conv5_3_importance_matches_single_ablations(rng):
    module = VGG16(num_classes=7, pool5_size=1)
    params = jax.jit(module.init)(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))["params"]
    net = Net(module=module, params=params)
    images = rng.normal(size=(9, 32, 32, 3)).astype(np.float32)
    labels = rng.integers(0, 7, 9)
    result = unit_importance(net, "conv5_3", batches_of(images, labels, 5),
                             inputs=lambda b: b["image"], chunk_size=64)
    assert result.importance.shape == (512, 7)
    checked = [0, 17, 300, 511]
    preds = [np.argmax(np.asarray(net(jnp.asarray(images))[0]), -1)]
    for u in checked:
        mask = jnp.zeros(512).at[u].set(1.0)
        logits, _ = net(jnp.asarray(images), edits={"conv5_3": UnitEdit(mask, jnp.zeros(512))})
        preds.append(np.argmax(np.asarray(logits), -1))
    accuracy = ClassCounts.from_predictions(np.stack(preds), labels, 7).balanced_accuracy()
    np.testing.assert_allclose(result.baseline, accuracy[0])
    np.testing.assert_allclose(result.ablated[checked], accuracy[1:])


def test_adversarial_command_end_to_end(tmp_path):
    model = save_model(tmp_path / "model", classifier().params,
                       {"arch": TOY_ARCH.name, "sizes": {"num_classes": 3},
                        "normalization": NORMALIZATION})
    data = image_folder(tmp_path / "images", per_class=4, seed=5)
    out = tmp_path / "adversarial.json"
    code = run_cli(["experiment", "adversarial", "--model", str(model), "--layer", "conv1",
                 "--data", f"folder:{data}", "--data-option", "resize=8", "--source", "red",
                 "--target", "green", "--images", "3", "--steps", "50", "--c", "10",
                 "--search-steps", "2", "--out", str(out)])
    assert code == 0
    import json

    result = json.loads(out.read_text())
    assert result["source"] == "red" and result["target"] == "green"
    assert result["num_images"] == 3 and len(result["units"]) == 4
