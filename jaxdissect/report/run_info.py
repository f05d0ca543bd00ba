"""What was dissected, for the page headers: model, data, segmenter, settings, version, date.

Every run folder holds a ``run.json`` (written by :mod:`jaxdissect.runs.runkey`): the
identity (``config``, ``model``, ``data``, ``segmenter``, ``version``), the ``settings`` that do
not change results (the model's location, the batch size ...) and the finished ``layers`` with
their times; ``data_summary.json`` beside it lists skipped images. :func:`find_run_info` finds
the run a folder belongs to (the nearest folder at or above it with a ``run.json``) and
:func:`header_html` draws the header that every report page carries. A folder outside any run
(results written by ``dissect-arrays`` or by hand) gets a header from its ``report.json`` alone.

A run folder that holds other runs (``jaxdissect demo``: one identity naming several models)
records ``model`` as a dict of named model identities; both layouts are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from jaxdissect.report.svg import escape

RUN_FILE = "run.json"
DATA_SUMMARY = "data_summary.json"
SETTINGS = ("quantile", "miniou", "upsample", "iou_rule", "topk")
HASH_DIGITS = 12


@dataclass
class RunInfo:
    """A run folder's ``run.json`` (``run``) and the number of images its data skipped."""

    folder: Path
    run: dict
    skipped: int | None = None
    skipped_names: list[str] = field(default_factory=list)

    @property
    def models(self) -> dict[str, dict]:
        """Named model identities: ``{"": identity}`` for a one-model run."""
        model = self.run.get("model") or {}
        if not isinstance(model, dict):
            return {}
        if "arch" in model or "checkpoint_sha256" in model:
            return {"": model}
        return {name: m for name, m in model.items() if isinstance(m, dict)}

    @property
    def location(self) -> str | None:
        """Where the model was loaded from (``world:classifier``, a folder), when recorded."""
        return (self.run.get("settings") or {}).get("model")

    @property
    def date(self) -> str | None:
        """When the run last finished a layer (ISO time), else None."""
        times = [str(t) for t in (self.run.get("layers") or {}).values()]
        return max(times) if times else None


def find_run_info(folder: str | Path) -> RunInfo | None:
    """The run ``folder`` belongs to: the nearest folder at or above it with a ``run.json``
    (None when there is none, or it cannot be read)."""
    folder = Path(folder).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / RUN_FILE
        if path.is_file():
            return read_run_info(candidate)
    return None


def read_run_info(folder: Path) -> RunInfo | None:
    try:
        run = json.loads((folder / RUN_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(run, dict):
        return None
    info = RunInfo(folder, run)
    try:
        summary = json.loads((folder / DATA_SUMMARY).read_text())
        info.skipped = int(summary.get("num_skipped", 0))
        info.skipped_names = [str(s.get("name")) for s in summary.get("skipped", [])][:5]
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError):
        info.skipped = 0 if "rows" in (run.get("data") or {}) else None
    return info


def short_hash(value: object) -> str:
    return str(value)[:HASH_DIGITS] if value else "?"


def _model_text(name: str, identity: dict, location: str | None) -> str:
    label = location or name or "model"
    arch = identity.get("arch") or "?"
    checkpoint = short_hash(identity.get("checkpoint_sha256"))
    of = identity.get("hash_of")
    return (f"<b>{escape(label)}</b> ({escape(arch)}), checkpoint "
            f"<code title=\"SHA-256 {escape(identity.get('checkpoint_sha256', ''))}\">"
            f"{escape(checkpoint)}</code>" + (f" <span class=\"dim\">(hash of {escape(of)})</span>"
                                              if of else ""))


def model_html(info: RunInfo) -> str:
    models = info.models
    if not models:
        return "not recorded"
    if list(models) == [""]:
        return _model_text("", models[""], info.location)
    return "; ".join(_model_text(name, m, None) for name, m in models.items())


def data_html(info: RunInfo, images: int | None = None) -> str:
    data = info.run.get("data") or {}
    spec = data.get("spec")
    parts = [f"<b>{escape(spec)}</b>" if spec else ", ".join(
        f"{escape(k)} {escape(short_hash(v) if 'sha' in k else v)}" for k, v in data.items())
        or "not recorded"]
    rows = data.get("rows")
    if images is not None:
        parts.append(f"{images:,} images")
    elif rows is not None:
        parts.append(f"{int(rows):,} rows")
    if info.skipped is not None and spec:
        skipped = f"{info.skipped} skipped"
        if info.skipped_names:
            skipped = (f"<span title=\"{escape(', '.join(info.skipped_names))}\">{skipped} "
                       f"(see {DATA_SUMMARY})</span>")
        parts.append(skipped)
    return ", ".join(parts)


def segmenter_text(identity: dict | None) -> str:
    """One phrase naming the concept labels' source (plain text)."""
    if not identity:
        return "not recorded"
    kind = identity.get("kind")
    if kind == "data":
        return "the data's own segmentations"
    if kind == "world_segmenter":
        return (f"world segmenter, checkpoint "
                f"{short_hash((identity.get('model') or {}).get('checkpoint_sha256'))}")
    if kind == "published":
        upernet = short_hash((identity.get("upernet") or {}).get("checkpoint_sha256"))
        colour = identity.get("colornet")
        text = f"UPerNet {upernet}"
        if colour:
            text += f" + colour model {short_hash(colour.get('checkpoint_sha256'))}"
        return text
    if kind == "custom" and identity.get("name"):
        return f"custom segmenter {identity['name']}"
    return str(kind or "custom")


def settings_html(config: dict) -> str:
    preset = config.get("preset", "?")
    rest = ", ".join(f"{key} {escape(config[key])}" for key in SETTINGS if key in config)
    return f"<b>{escape(preset)}</b>" + (f" ({rest})" if rest else "")


def header_rows(info: RunInfo | None, report: dict | None = None) -> list[tuple[str, str]]:
    """(term, HTML) pairs of the header; ``report``: a layer's report.json (its settings and
    image count override the run's)."""
    report = report or {}
    images = int(report["num_images"]) if "num_images" in report else None
    if info is None:
        rows = [("model", escape(report.get("model") or "not recorded (no run.json)"))]
        if images is not None:
            rows.append(("data", f"{images:,} images"))
        if "preset" in report:
            rows.append(("preset", settings_html(report)))
        return rows
    config = {**(info.run.get("config") or {}), **{k: report[k] for k in ("preset", *SETTINGS)
                                                   if k in report}}
    rows = [("model", model_html(info)), ("data", data_html(info, images)),
            ("segmenter", escape(segmenter_text(info.run.get("segmenter"))))]
    if "preset" in config:
        rows.append(("preset", settings_html(config)))
    run_key = info.run.get("short_key") or short_hash(info.run.get("key"))
    rows.append(("software", f"jaxdissect {escape(info.run.get('version', '?'))}, run "
                 f"<code>{escape(run_key)}</code>"))
    if info.date:
        rows.append(("date", escape(info.date.replace("T", " "))))
    return rows


def header_html(info: RunInfo | None, report: dict | None = None) -> str:
    """The ``<dl class="runinfo">`` block that heads a page (see :func:`header_rows`)."""
    cells = "".join(f"<div><dt>{term}</dt><dd>{value}</dd></div>"
                    for term, value in header_rows(info, report))
    return f"<dl class=\"runinfo\">{cells}</dl>"


def run_title(info: RunInfo | None) -> str | None:
    """"MODEL on DATA" for a page title (plain text), or None without a run."""
    if info is None:
        return None
    models = info.models
    if list(models) == [""]:
        name = info.location or models[""].get("arch") or "model"
    else:
        name = " and ".join(f"{n} ({m.get('arch', '?')})" for n, m in models.items()) or "?"
    spec = (info.run.get("data") or {}).get("spec")
    return f"{name} on {spec}" if spec else str(name)
