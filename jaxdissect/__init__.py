"""jaxdissect: Network Dissection in JAX/Flax.

Find what each hidden unit of a vision network detects, and test it causally, on accelerators.
"""

__version__ = "0.1.0"
