"""Neutrino dipole portal at e+e- colliders: the pipeline package (configuration, command line, report).

The stages live in sibling packages: ``samples`` (generate, write ROOT), ``selections`` (read, cut,
histogram), ``stats`` (models, limits) and ``plotting``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dipole-portal")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
