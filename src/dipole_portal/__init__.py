"""Neutrino dipole portal at e+e- colliders (arXiv:2204.07802): expected limits on d versus m_N.

The package is a pipeline whose stages are subpackages, each importing only what lies below it:
``core`` (errors, atomic I/O, constants, configuration, options, executors, logging, cache) ->
``samples`` (generate, write ROOT) -> ``selections`` (read, cut, histogram, yields files) ->
``stats`` (models, limits) -> ``plotting`` -> ``analysis`` (command line, pipeline, report, exports).

For notebooks, the two entry points are imported lazily (importing the package has no side effects)::

    from dipole_portal import expected_limit, scan
    result = expected_limit("stcf-4gev", mass_GeV=1.0, events=20_000)
    result.d95_chi2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dipole_portal.core.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from dipole_portal.analysis.api import expected_limit, scan

__all__ = ["__version__", "expected_limit", "scan"]


def __getattr__(name: str) -> Any:
    if name in ("expected_limit", "scan"):
        from dipole_portal.analysis import api

        return getattr(api, name)
    raise AttributeError(f"module 'dipole_portal' has no attribute {name!r}")
