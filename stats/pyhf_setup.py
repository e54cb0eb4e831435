"""pyhf configuration: numpy backend with iminuit, plus a compatibility fix for numpy >= 2.

pyhf 0.7.6 calls ``numpy.percentile(..., interpolation=...)``, a keyword numpy 2 removed (renamed
``method``), so its toy calculator fails on every call. ``configure`` replaces the numpy backend's
``percentile`` by one that passes ``method``; nothing else in pyhf changes.
"""

from __future__ import annotations

import numpy as np
import pyhf

_configured = False


def _percentile(self, tensor_in, q, axis=None, interpolation="linear"):
    return np.percentile(tensor_in, q, axis=axis, method=interpolation)


def configure(tolerance: float = 1.0) -> None:
    """Use pyhf's numpy backend with iminuit as the minimiser (idempotent).

    ``tolerance`` 1 sets MIGRAD's EDM goal to 2e-3: ample for q~_mu (needed to ~0.01) and robust for
    channels with 10^5-10^6 background events, where tighter goals fail on floating-point noise.
    """
    global _configured
    if not _configured:
        from pyhf.tensor.numpy_backend import numpy_backend

        numpy_backend.percentile = _percentile
        _configured = True
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(verbose=0, tolerance=tolerance))


def use_scipy_fallback() -> None:
    """Switch to scipy's minimiser (used once, for a fit iminuit could not converge)."""
    pyhf.set_backend("numpy", "scipy")
