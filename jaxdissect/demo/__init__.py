"""``jaxdissect demo``: the shipped world models dissected, probed by experiments, reported."""

from jaxdissect.demo.run import DemoResult, run_demo
from jaxdissect.demo.settings import FULL, QUICK, DemoSettings

__all__ = ["FULL", "QUICK", "DemoResult", "DemoSettings", "run_demo"]
