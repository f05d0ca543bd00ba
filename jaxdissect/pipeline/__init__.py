"""Model dissections end to end: a model folder, a data spec and a segmenter in, layer results,
unit strips and a report out (:func:`dissect_model`, the library behind ``jaxdissect dissect``).
"""

from jaxdissect.pipeline.models import StudiedModel, load_studied_model
from jaxdissect.pipeline.probe import open_probe_data
from jaxdissect.pipeline.run import (
    DissectionPlan,
    ModelDissection,
    dissect_model,
    plan_dissection,
)
from jaxdissect.pipeline.summary import summary_text

__all__ = [
    "DissectionPlan",
    "ModelDissection",
    "StudiedModel",
    "dissect_model",
    "load_studied_model",
    "open_probe_data",
    "plan_dissection",
    "summary_text",
]
