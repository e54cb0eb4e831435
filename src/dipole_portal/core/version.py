"""The installed distribution's version (part of every provenance record)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dipole-portal")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
