"""Named dissection settings: the published protocols as frozen configs.

``pnas2020`` (default)
    The PNAS 2020 paper: top 1% threshold (q = 0.01) of the *upsampled* activations,
    centre-aligned zero-padded upsampling, IoU pooled over the data set, each unit labelled over
    all concepts jointly, IoU > 0.04, top 100 images per unit.
``netdissect2017``
    CVPR 2017 on Broden: top 0.5% (q = 0.005) of the activations at the *layer's own
    resolution* (every location of the raw feature map, before upsampling), the same upsampler,
    per-category IoU (a unit's activation area counts only images carrying a label of that
    category).
``netdissect_lite``
    As ``netdissect2017`` with plain (anti-aliased) bilinear resizing.

Whatever the resolution of the threshold, the upsampled map is compared with it at the
label-map size (``a > t``).

``get_config("netdissect2017", miniou=0.05)`` overrides individual fields; so does
``dataclasses.replace(config, ...)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from jaxdissect.dissection.interpolation import MODES

IOU_RULES = ("pooled", "per_category")
THRESHOLD_RESOLUTIONS = ("upsampled", "layer")


@dataclass(frozen=True)
class DissectConfig:
    """How a dissection thresholds, resamples and labels.

    quantile: q, the fraction of each unit's values above its threshold: the threshold is the
        k-th largest of the unit's n values over the data set, k = max(1, ceil(q * n)) (an
        exact order statistic; see :mod:`jaxdissect.stats.quantile`). A pixel is on when
        ``a > t`` (strict), so with ties at ``t`` fewer than q * n values are on:
        ``count(a > t) <= q * n <= count(a >= t)``.
    threshold_resolution: which values the threshold is taken over: ``"upsampled"`` (every
        pixel of the unit's upsampled map, the PNAS 2020 rule) or ``"layer"`` (every location
        of the raw map at the layer's own resolution, the 2017 rule). Either way the
        upsampled map is compared with the threshold at the label-map size.
    upsample: resampling mode of :mod:`jaxdissect.dissection.upsample`.
    iou_rule: ``"pooled"`` (IoU over every image) or ``"per_category"`` (the unit's area in
        the denominator counts only images that carry a label of the concept's category).
    miniou: a unit is interpretable when its best IoU is strictly above this.
    topk: number of top images kept per unit (ranked by the spatial max of the raw map).
    """

    preset: str = "pnas2020"
    quantile: float = 0.01
    threshold_resolution: str = "upsampled"
    upsample: str = "pnas2020"
    iou_rule: str = "pooled"
    miniou: float = 0.04
    topk: int = 100

    def __post_init__(self):
        if not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile={self.quantile}: the top fraction q must be in (0, 1)")
        if self.threshold_resolution not in THRESHOLD_RESOLUTIONS:
            raise ValueError(f"threshold_resolution={self.threshold_resolution!r}: choose one of "
                             f"{', '.join(THRESHOLD_RESOLUTIONS)}")
        if self.upsample not in MODES:
            raise ValueError(f"upsample={self.upsample!r}: choose one of {', '.join(MODES)}")
        if self.iou_rule not in IOU_RULES:
            raise ValueError(f"iou_rule={self.iou_rule!r}: choose one of {', '.join(IOU_RULES)}")
        if not 0.0 <= self.miniou < 1.0:
            raise ValueError(f"miniou={self.miniou}: must be in [0, 1)")
        if int(self.topk) != self.topk or self.topk < 1:
            raise ValueError(f"topk={self.topk}: must be a positive integer")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, DissectConfig] = {
    "pnas2020": DissectConfig(),
    "netdissect2017": DissectConfig(
        preset="netdissect2017", quantile=0.005, threshold_resolution="layer",
        upsample="pnas2020", iou_rule="per_category"
    ),
    "netdissect_lite": DissectConfig(
        preset="netdissect_lite", quantile=0.005, threshold_resolution="layer",
        upsample="bilinear", iou_rule="per_category"
    ),
}


def get_config(preset: str = "pnas2020", **overrides) -> DissectConfig:
    """The named preset with ``overrides`` (fields of :class:`DissectConfig`) applied;
    ``None`` values are ignored so that unset command-line options keep the preset's value."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(DissectConfig)} - {"preset"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; valid: {', '.join(sorted(fields))}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[preset], **changes)
