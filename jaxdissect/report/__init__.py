"""Reports from saved dissection results: image strips, HTML pages, SVG charts, JSON and CSV.

Imports numpy and PIL only (no jax), so reports can be rebuilt on any machine.
"""

from jaxdissect.report.build import build_report
from jaxdissect.report.experiment_kinds import experiment_svg, load_experiment
from jaxdissect.report.layers import find_layers, load_layer
from jaxdissect.report.strips import masked_thumbnail, render_unit_strips
from jaxdissect.report.tables import publish_report_json, write_tally_csv

__all__ = [
    "build_report",
    "experiment_svg",
    "find_layers",
    "load_experiment",
    "load_layer",
    "masked_thumbnail",
    "publish_report_json",
    "render_unit_strips",
    "write_tally_csv",
]
