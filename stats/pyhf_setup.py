"""pyhf configuration, set inside a context and restored afterwards: numpy backend with iminuit.

pyhf 0.7.6 calls ``numpy.percentile(..., interpolation=...)``, a keyword numpy 2 removed (renamed ``method``),
so its toy calculator fails on every call. Inside :func:`pyhf_backend` the numpy backend's ``percentile`` is
replaced by one that passes ``method`` -- only when pyhf's method has the ``interpolation`` keyword and numpy's
function lacks it (the signatures are checked, so a fixed pyhf or an older numpy is left alone).

>>> import pyhf
>>> before = pyhf.get_backend()
>>> with pyhf_backend():
...     type(pyhf.get_backend()[1]).__name__
'minuit_optimizer'
>>> pyhf.get_backend() == before
True
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyhf


def _percentile(self: Any, tensor_in: Any, q: Any, axis: Any = None, interpolation: Any = "linear") -> Any:
    return np.percentile(tensor_in, q, axis=axis, method=interpolation)


def _needs_percentile_fix() -> bool:
    from pyhf.tensor.numpy_backend import numpy_backend

    ours = inspect.signature(numpy_backend.percentile).parameters
    theirs = inspect.signature(np.percentile).parameters
    return "interpolation" in ours and "interpolation" not in theirs and "method" in theirs


@contextlib.contextmanager
def pyhf_backend(tolerance: float = 1.0, optimizer: str = "minuit") -> Iterator[None]:
    """pyhf's numpy backend with iminuit (or scipy) inside the block; the previous backend afterwards.

    ``tolerance`` 1 sets MIGRAD's EDM goal to 2e-3: ample for q~_mu (needed to ~0.01) and robust for channels
    with 10^5-10^6 background events, where tighter goals fail on floating-point noise.

    pyhf logs a fit that fails with its traceback before it raises ``FailedMinimization``; the callers catch that
    and fit again another way (``stats.cls``), so inside the block the log is silenced: a failure they cannot mend
    still raises.
    """
    from pyhf.tensor.numpy_backend import numpy_backend

    saved_backend = pyhf.get_backend()
    saved_percentile = numpy_backend.percentile
    fit_log = logging.getLogger("pyhf.optimize.mixins")
    saved_level = fit_log.level
    fit_log.setLevel(logging.CRITICAL)
    if _needs_percentile_fix():
        numpy_backend.percentile = _percentile
    try:
        opt = pyhf.optimize.minuit_optimizer(verbose=0, tolerance=tolerance) if optimizer == "minuit" else "scipy"
        pyhf.set_backend("numpy", opt)
        yield
    finally:
        numpy_backend.percentile = saved_percentile
        fit_log.setLevel(saved_level)
        pyhf.set_backend(*saved_backend)
