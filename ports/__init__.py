"""PyTorch checkpoints -> Flax params: one module per model family, strict key and shape checks.

The only package code that imports torch (lazily, in ``ports.common.load_state_dict``).
``convert(src, dest, arch=None, force=False)`` writes a folder that ``jaxdissect.load`` reads.
"""

from ports.converter import convert

__all__ = ["convert"]
