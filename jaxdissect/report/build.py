"""Rebuild every report page of a results folder from the saved results (no recomputation).

``build_report(results_dir)`` finds every layer folder under ``results_dir`` (a folder with a
``report.json``), and for each one adds the published fields to ``report.json``, writes the
NetDissect-layout ``tally.csv``, the charts and ``report.html``; then it writes the summary page
``<results_dir>/index.html`` (with the figures of every ``experiments/*.json`` under
``<results_dir>``) and a page per unit (``<layer>/units/unit<u>.html``, with what the experiments
on its layer did to it). Running it again rewrites the same files.
"""

from __future__ import annotations

from pathlib import Path

from jaxdissect.report.experiment_figures import load_experiments
from jaxdissect.report.layer_page import write_layer_page
from jaxdissect.report.layers import find_layers
from jaxdissect.report.summary_page import SUMMARY_NAME, write_summary_page
from jaxdissect.report.tables import publish_report_json, write_tally_csv
from jaxdissect.report.unit_page import write_unit_pages


def build_report(results_dir: str | Path) -> Path:
    """Write all pages for the results under ``results_dir``; returns the path of index.html."""
    results_dir = Path(results_dir)
    layers = find_layers(results_dir)
    summary = results_dir / SUMMARY_NAME
    experiments = [(path, data) for path, data, _ in load_experiments(results_dir) if data]
    for layer in layers:
        publish_report_json(layer)
        write_tally_csv(layer)
        write_layer_page(layer, summary)
        write_unit_pages(layer, experiments, summary)
    return write_summary_page(results_dir, layers)
