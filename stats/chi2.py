"""The paper's criterion: chi2(d) = sum_i S_i(d)^2 / (S_i(d) + B_i); the 95% C.L. limit solves chi2 = 2.71.

With P_dec = 1 and one channel the solution is closed-form:

>>> round(s95_closed_form(0.0), 4), round(s95_closed_form(100.0), 3)
(2.71, 17.873)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

CHI2_95 = 2.71


def s95_closed_form(background: float, threshold: float = CHI2_95) -> float:
    """S solving S^2 / (S + B) = threshold: S = t/2 + sqrt(t^2/4 + t B)."""
    return threshold / 2 + math.sqrt(threshold**2 / 4 + threshold * background)


def chi2(signal: np.ndarray, background: np.ndarray) -> float:
    s = np.asarray(signal, dtype=float)
    b = np.asarray(background, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(s + b > 0, s * s / (s + b), 0.0)
    return float(np.sum(terms))


def solve_increasing(
    f: Callable[[float], float], target: float, guess: float = 1e-5, lo: float = 1e-14, hi: float = 1e3
) -> float:
    """Solve f(d) = target for an increasing f of d > 0, in log d (brentq, relative tolerance 1e-10)."""
    g = lambda x: f(math.exp(x)) - target  # noqa: E731
    a, b = math.log(guess) - 1.0, math.log(guess) + 1.0
    while g(a) > 0 and a > math.log(lo):
        a -= 2.0
    while g(b) < 0 and b < math.log(hi):
        b += 2.0
    if g(a) > 0 or g(b) < 0:
        raise ValueError(f"no solution of f(d) = {target:g} for d in [{lo:g}, {hi:g}] GeV^-1")
    return math.exp(optimize.brentq(g, a, b, xtol=1e-12, rtol=1e-10))


SCAN_STEP = 1.02  # the first-crossing scan's ratio between neighbouring couplings


def solve_first(
    f: Callable[[float], float],
    target: float,
    guess: float = 1e-5,
    upper: Callable[[float], float] | None = None,
    lo: float = 1e-14,
    hi: float = 1e3,
) -> float:
    """The smallest d > 0 with f(d) = target, for an f that need not increase but stays below an increasing
    ``upper`` (without ``upper``, f is taken to increase: :func:`solve_increasing`).

    Below the d where ``upper`` reaches the target f cannot; from there d grows by SCAN_STEP until f does, and
    brentq refines between the last two steps. A dip of f narrower than 2% in d could be stepped over.

    >>> bump = lambda d: 4 * math.exp(-((math.log(d) - math.log(1e-3)) ** 2))  # peaks at 4 near 1e-3, then falls
    >>> round(solve_first(bump, 2.0, upper=lambda d: 4 * min(1.0, d / 1e-4)) / 1e-3, 4)
    0.4349
    """
    if upper is None:
        return solve_increasing(f, target, guess, lo, hi)
    d = solve_increasing(upper, target, guess, lo, hi)
    prev = d
    while f(d) < target:
        prev, d = d, d * SCAN_STEP
        if d > hi:
            raise ValueError(f"no solution of f(d) = {target:g} for d in [{lo:g}, {hi:g}] GeV^-1")
    if prev == d:
        return d
    return math.exp(
        optimize.brentq(lambda x: f(math.exp(x)) - target, math.log(prev), math.log(d), xtol=1e-12, rtol=1e-10)
    )


def d95_chi2(
    signal_of_d: Callable[[float], np.ndarray],
    background: np.ndarray,
    threshold: float = CHI2_95,
    guess: float = 1e-5,
    upper: Callable[[float], np.ndarray] | None = None,
) -> float:
    """d (GeV^-1) with chi2(d) = threshold; ``signal_of_d`` returns S_i(d) per channel. With ``upper`` (per-channel
    signals that bound S_i and grow with d) S need not grow with d, and the smallest such d is found."""
    up = None if upper is None else (lambda d: chi2(upper(d), background))
    return solve_first(lambda d: chi2(signal_of_d(d), background), threshold, guess=guess, upper=up)
