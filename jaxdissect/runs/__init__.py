"""The application layer: what ``jaxdissect dissect``, ``dissect-arrays``, ``experiment`` and
``demo`` do, as library functions.

Here, and only here, spec strings become objects and results become run folders:

* :mod:`.models` opens a model by its spec (a converted folder, ``world:NAME``);
* :mod:`.data` opens probe data by its spec, sized for the model;
* :mod:`.segmenters` opens a segmenter by its spec (``world``, a converted folder) as the one
  :class:`~jaxdissect.models.segmenter.segment.Segmenter` type (the data's own segmentations
  are ``segmenter=None``);
* :mod:`.runkey` keys a run folder by its settings and keeps ``latest``;
* :mod:`.model_dissection` is :func:`dissect_model`: model + data + segmenter -> layer results,
  unit images and the report, resumable;
* :mod:`.arrays` is :func:`dissect_arrays`: precomputed ``.npy`` activations and segmentations;
* :mod:`.experiments` runs the causal experiments from folders and specs, and
  :mod:`.experiment_output` files their results into the run they belong to;
* :mod:`.unit_images` computes each unit's top images and masks for the report's strips;
* :mod:`.terminal_summary` is the one-screen text summary printed at the end;
* :mod:`.demo` (with :mod:`.demo_settings` and :mod:`.demo_experiments`) is ``jaxdissect demo``.

Everything below this package (``models``, ``data``, ``dissection``, ``interventions``,
``report``, ``world``) takes objects and arrays: none of it parses a spec or names a run folder.

Names are imported on first use, so that reading the demo's settings (the command line's help
does) does not import jax.
"""

from __future__ import annotations

import importlib

# public name -> module under jaxdissect.runs
_EXPORTS = {
    "DissectionPlan": "model_dissection",
    "ModelDissection": "model_dissection",
    "dissect_model": "model_dissection",
    "plan_dissection": "model_dissection",
    "StudiedModel": "models",
    "load_studied_model": "models",
    "open_probe_data": "data",
    "open_segmenter": "segmenters",
    "summary_text": "terminal_summary",
    "dissect_arrays": "arrays",
    "FULL": "demo_settings",
    "QUICK": "demo_settings",
    "DemoSettings": "demo_settings",
    "DemoResult": "demo",
    "run_demo": "demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jaxdissect.runs' has no attribute {name!r}")
    return getattr(importlib.import_module(f"jaxdissect.runs.{module}"), name)
