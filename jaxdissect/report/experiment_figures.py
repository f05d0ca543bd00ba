"""The experiments of a results folder as report figures: finding, plot, baseline bars, pictures.

Experiments write ``<run folder>/experiments/<name>.json`` (kinds and schemas in
:mod:`.experiment_kinds`), with their pictures in ``experiments/<name>/``.
:func:`find_experiments` lists every experiment file under a results folder (any run inside it;
hidden folders skipped) and :func:`experiment_panel` draws one: its finding in words, its plot
(both as the table of :mod:`.experiment_kinds` says for its kind), the concept-vs-random bars
when measured, and the before/after pictures when saved. Each plot is also written beside its
JSON as ``<name>.svg`` (and ``<name>_concept.svg``) for papers and slides.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from jaxdissect.outputs import write_text
from jaxdissect.report.experiment_kinds import experiment_svg, load_experiment, summary_lines
from jaxdissect.report.pictures import pictures_html
from jaxdissect.report.removal_plot import concept_ablation_svg
from jaxdissect.report.svg import escape

EXPERIMENT_DIR = "experiments"


def find_experiments(results_dir: Path) -> list[Path]:
    """Every ``experiments/*.json`` under ``results_dir``, by path."""
    results_dir = Path(results_dir)
    return sorted(p for p in results_dir.rglob(f"{EXPERIMENT_DIR}/*.json")
                  if not any(part.startswith(".") for part in p.relative_to(results_dir).parts))


def load_experiments(results_dir: Path) -> list[tuple[Path, dict | None, str | None]]:
    """(path, data or None, error or None) for every experiment file under ``results_dir``;
    a bad file is a warning, not an error (it should not hide the other results)."""
    found = []
    for path in find_experiments(results_dir):
        try:
            found.append((path, load_experiment(path), None))
        except (ValueError, OSError) as err:
            warnings.warn(str(err), stacklevel=2)
            found.append((path, None, str(err)))
    return found


def experiment_panel(path: Path, data: dict, page_dir: Path) -> str:
    """The figure of one experiment for a page in ``page_dir`` (links relative to it)."""
    write_text(path.with_suffix(".svg"), experiment_svg(data, standalone=True))
    prefix = os.path.relpath(path.parent, page_dir).replace(os.sep, "/") + "/"
    link = prefix + path.name
    title = data.get("title") or path.stem
    lines = summary_lines(data)
    finding = f"<p class=\"finding\">{escape(data['finding'])}</p>" if data.get("finding") else ""
    listed = "".join(f"<li>{escape(line)}</li>" for line in lines)
    extra = ""
    if data.get("concept_ablation") and data["concept_ablation"].get("units"):
        concept = concept_ablation_svg(data["concept_ablation"])
        write_text(path.with_name(f"{path.stem}_concept.svg"),
                   concept_ablation_svg(data["concept_ablation"], standalone=True))
        extra += f"<div class=\"scroll-x\">{concept}</div>"
    extra += pictures_html(data.get("pictures"), prefix)
    return (f"<figure class=\"panel experiment\" id=\"{escape(path.stem)}\"><h3>{escape(title)}"
            f"</h3>{finding}<ul class=\"findings\">{listed}</ul><div class=\"scroll-x\">"
            f"{experiment_svg(data)}</div>{extra}<p class=\"note\">data: "
            f"<a href=\"{escape(link)}\">{escape(link)}</a></p></figure>")


def experiment_sections(results_dir: Path) -> str:
    """The "Experiments" part of the summary page of ``results_dir``."""
    figures = []
    for path, data, error in load_experiments(results_dir):
        if data is None:
            figures.append(f"<div class=\"panel\"><p class=\"note\">{escape(error)}</p></div>")
        else:
            figures.append(experiment_panel(path, data, results_dir))
    if not figures:
        return ""
    return f"<h2 id=\"experiments\">Experiments</h2><div class=\"panels\">{''.join(figures)}</div>"
