"""Expected CLs upper limits on the signal strength mu: asymptotic (pyhf, iminuit) or toys (numpy).

Each band's limit is found by bracketing and Brent's method in log mu; all five bands share the cached
hypotests. pyhf 0.7.6's ``upper_limits`` ignores ``level`` when ``scan=None``; this module never relies on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyhf
from scipy import optimize

from stats import toys
from stats.pyhf_setup import configure, use_scipy_fallback

CL = 0.95
ALPHA = 1 - CL


@dataclass
class MuLimits:
    """mu at CLs = alpha for bands (-2, -1, 0, +1, +2 sigma); ``hypotests`` counts CLs evaluations."""

    bands: np.ndarray
    calculator: str
    hypotests: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(self.bands[2])


def _solve_bands(cls_of_mu: Callable[[float], np.ndarray], guess: float, tol: float = 2e-3) -> tuple[np.ndarray, int]:
    cache: dict[float, np.ndarray] = {}

    def f(logmu: float) -> np.ndarray:
        if logmu not in cache:
            cache[logmu] = np.asarray(cls_of_mu(math.exp(logmu)), dtype=float)
        return cache[logmu]

    out = []
    x0 = math.log(max(guess, 1e-12))
    for k in range(5):
        g = lambda x, k=k: math.log(max(f(x)[k], 1e-300)) - math.log(ALPHA)  # noqa: E731
        # start from the nearest cached points to save hypotests
        known = sorted(cache)
        a = max([x for x in known if g(x) > 0], default=None)
        b = min([x for x in known if g(x) < 0], default=None)
        step = 0.7
        if a is None:
            a = (b if b is not None else x0) - step
            while g(a) <= 0:
                a -= step
                step *= 1.6
        step = 0.7
        if b is None:
            b = a + step
            while g(b) >= 0:
                b += step
                step *= 1.6
        out.append(math.exp(optimize.brentq(g, a, b, xtol=tol)))
    return np.asarray(out), len(cache)


def asymptotic_limits(spec: dict, guess: float = 1.0) -> MuLimits:
    """Expected limits with pyhf's asymptotic calculator (q~_mu) on Asimov background-only data."""
    configure()
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, max(100.0, 50 * guess))

    def cls(mu: float) -> np.ndarray:
        if mu > bounds[model.config.poi_index][1] / 2:
            bounds[model.config.poi_index] = (0.0, 4 * mu)
        try:
            res = pyhf.infer.hypotest(mu, data, model, test_stat="qtilde", return_expected_set=True,
                                      par_bounds=bounds)
        except pyhf.exceptions.FailedMinimization:
            use_scipy_fallback()  # iminuit did not converge: retry this point with scipy, then back to iminuit
            try:
                res = pyhf.infer.hypotest(mu, data, model, test_stat="qtilde", return_expected_set=True,
                                          par_bounds=bounds)
            finally:
                configure()
        return np.asarray(res[1], dtype=float).ravel()

    bands, n = _solve_bands(cls, guess)
    return MuLimits(bands, "asymptotic", n)


def toy_limits(signal: np.ndarray, background: np.ndarray, guess: float = 1.0, ntoys: int = 30_000,
               seed: int = 0) -> MuLimits:
    """Expected limits from numpy toys for counting channels with fixed backgrounds."""
    s = np.asarray(signal, dtype=float)
    b = np.asarray(background, dtype=float)
    bands, n = _solve_bands(lambda mu: toys.expected_cls(mu, s, b, ntoys, seed), guess, tol=1e-3)
    return MuLimits(bands, f"toys ({ntoys})", n)


def pyhf_stock_upper_limit(spec: dict, hi: float, points: int = 41) -> tuple[float, int]:
    """pyhf's own ``upper_limits`` with a linear mu grid (for the benchmark); returns (median, hypotests)."""
    configure()
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    scan = np.linspace(0, hi, points)
    _, exp_lim = pyhf.infer.intervals.upper_limits.upper_limit(data, model, scan, level=ALPHA)
    return float(exp_lim[2]), points
