"""Tests for jaxdissect/dissection/presets.py."""

import dataclasses

import pytest

from jaxdissect.dissection.presets import PRESETS, DissectConfig, get_config


def test_presets_follow_the_published_protocols():
    pnas = get_config()
    assert pnas == DissectConfig()
    assert (pnas.quantile, pnas.threshold_resolution, pnas.upsample, pnas.iou_rule, pnas.miniou,
            pnas.topk) == (0.01, "upsampled", "pnas2020", "pooled", 0.04, 100)
    nd = get_config("netdissect2017")
    assert (nd.quantile, nd.threshold_resolution, nd.upsample, nd.iou_rule) == (
        0.005, "layer", "pnas2020", "per_category")
    lite = get_config("netdissect_lite")
    assert (lite.quantile, lite.threshold_resolution, lite.upsample, lite.iou_rule) == (
        0.005, "layer", "bilinear", "per_category")
    assert get_config("netdissect_lite", threshold_resolution="upsampled").to_dict()[
        "threshold_resolution"] == "upsampled"
    assert set(PRESETS) == {"pnas2020", "netdissect2017", "netdissect_lite"}


def test_overrides_and_frozen():
    config = get_config("netdissect2017", miniou=0.05, quantile=None)
    assert config.miniou == 0.05 and config.quantile == 0.005
    assert config.preset == "netdissect2017"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.miniou = 0.1
    assert config.to_dict()["iou_rule"] == "per_category"


def test_bad_settings_name_the_valid_ones():
    with pytest.raises(ValueError, match="valid presets: pnas2020, netdissect2017"):
        get_config("cvpr")
    with pytest.raises(ValueError, match="unknown setting\\(s\\) \\['thresh'\\]"):
        get_config(thresh=0.1)
    with pytest.raises(ValueError, match="quantile=1.5"):
        DissectConfig(quantile=1.5)
    with pytest.raises(ValueError, match="choose one of pnas2020, bilinear"):
        DissectConfig(upsample="bicubic")
    with pytest.raises(ValueError, match="threshold_resolution='raw': choose one of upsampled, "
                                         "layer"):
        DissectConfig(threshold_resolution="raw")
    with pytest.raises(ValueError, match="iou_rule"):
        DissectConfig(iou_rule="mean")
    with pytest.raises(ValueError, match="topk=0"):
        DissectConfig(topk=0)
