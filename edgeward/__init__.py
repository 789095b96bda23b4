"""Edgeward: edge-gateway software and its cloud API.

The parts live at the repository's top level (``gateway/``, ``drivers/``,
``sync/``, ``provisioning/``, ``cloud/``) and import as ``edgeward.<part>``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgeward")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
