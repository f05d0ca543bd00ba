"""jaxdissect: Network Dissection in JAX/Flax.

Find what each hidden unit of a vision network detects, and test it causally, on accelerators::

    import jaxdissect
    net = jaxdissect.load("models/vgg16_places365")        # a folder from `jaxdissect convert`
    output, acts = net(x, layers=["conv5_3"])              # x: (N, 224, 224, 3) normalised NHWC

The public API is re-exported here. Names are imported on first use, so that importing one part
(for example :mod:`jaxdissect.report`, which needs no jax) does not pull in the others.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # models, parameters and edits
    "load": "jaxdissect.checkpoint",
    "Net": "jaxdissect.models.base",
    "Normalization": "jaxdissect.models.base",
    "UnitEdit": "jaxdissect.models.edits",
    "ablate": "jaxdissect.models.edits",
    "insert": "jaxdissect.models.edits",
    "stack_edits": "jaxdissect.models.edits",
    "arch_names": "jaxdissect.models.registry",
    # any JAX model, unchanged
    "wrap": "jaxdissect.wrapping",
    "layers": "jaxdissect.wrapping",
    "TokenGrid": "jaxdissect.wrapping.layout",
    # the dissection engine
    "dissect": "jaxdissect.dissection.driver",
    "dissect_arrays": "jaxdissect.runs.arrays",
    "DissectConfig": "jaxdissect.dissection.presets",
    "PRESETS": "jaxdissect.dissection.presets",
    "get_config": "jaxdissect.dissection.presets",
    "ConceptVocabulary": "jaxdissect.concepts",
    "LayerResult": "jaxdissect.dissection.results",
    "load_result": "jaxdissect.dissection.results",
    "save_result": "jaxdissect.dissection.results",
    "upsample": "jaxdissect.dissection.upsample",
    "ExactQuantile": "jaxdissect.stats.quantile",
    "IoUCounts": "jaxdissect.stats.counts",
    "TopK": "jaxdissect.stats.topk",
    # devices
    "make_mesh": "jaxdissect.sharding",
    # data
    "open_source": "jaxdissect.runs.data",
    "batches": "jaxdissect.data.batching",
    "ImageFolder": "jaxdissect.data.folder",
    "BrodenDataset": "jaxdissect.data.broden",
    "latent_batches": "jaxdissect.data.latents",
    # segmenter
    "Segmenter": "jaxdissect.models.segmenter.segment",
    "load_published_segmenter": "jaxdissect.runs.segmenters",
    "open_segmenter": "jaxdissect.runs.segmenters",
    # end-to-end runs
    "dissect_model": "jaxdissect.runs.model_dissection",
    "run_demo": "jaxdissect.runs.demo",
    # experiments
    "unit_importance": "jaxdissect.interventions.ablation",
    "removal_curves": "jaxdissect.interventions.ablation",
    "remove_concept_units": "jaxdissect.interventions.generator",
    "insert_concept_units": "jaxdissect.interventions.insertion",
    "carlini_wagner": "jaxdissect.interventions.adversarial",
    "paint": "jaxdissect.interventions.painting",
    "erase": "jaxdissect.interventions.painting",
    # reports
    "build_report": "jaxdissect.report.build",
    "render_unit_strips": "jaxdissect.report.strips",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jaxdissect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
