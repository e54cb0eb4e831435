"""Expected CLs upper limits on the signal strength mu: asymptotic (pyhf, iminuit) or toys (numpy).

Each band's limit is found by bracketing and Brent's method in log mu; all five bands share the cached
hypotests. pyhf 0.7.6's ``upper_limits`` ignores ``level`` when ``scan=None``; this module never relies on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyhf
from scipy import optimize

from dipole_portal.core.numerics import DEFAULT_TOYS
from dipole_portal.stats import toys
from dipole_portal.stats.models import ANCHOR_FRACTION
from dipole_portal.stats.pyhf_setup import pyhf_backend

CL = 0.95
ALPHA = 1 - CL


@dataclass
class MuLimits:
    """mu at CLs = alpha for bands (-2, -1, 0, +1, +2 sigma); ``hypotests`` counts CLs evaluations."""

    bands: np.ndarray
    calculator: str
    hypotests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return float(self.bands[2])


def band_scale(k: int) -> float:
    """mu_k / mu_median for band k (sigma) in the asymptotic (Gaussian, large-B) limit of the CLs rule.

    Only a starting point for the root finding of each band (so it needs few hypotests), never a result.

    >>> [round(band_scale(k), 3) for k in (0, -2, 2)]
    [1.0, 0.537, 1.865]
    """
    from scipy import stats

    return float((stats.norm.ppf(1 - ALPHA * stats.norm.cdf(k)) + k) / stats.norm.ppf(1 - ALPHA * 0.5))


def _solve_bands(cls_of_mu: Callable[[float], np.ndarray], guess: float, tol: float = 2e-3) -> tuple[np.ndarray, int]:
    """mu at CLs = alpha for the five bands; the median first, then each band from its asymptotic guess.

    Each root is bracketed from the cached evaluations nearest to its guess and refined with Brent's method
    in log mu; every band shares the cache (one hypotest gives all five expected CLs values).
    """
    cache: dict[float, np.ndarray] = {}

    def f(logmu: float) -> np.ndarray:
        if logmu not in cache:
            cache[logmu] = np.asarray(cls_of_mu(math.exp(logmu)), dtype=float)
        return cache[logmu]

    out: dict[int, float] = {}
    x_med = math.log(max(guess, 1e-12))
    for k in (2, 0, 1, 3, 4):  # median first: it sets the guesses of the others
        x0 = x_med + math.log(band_scale(k - 2)) if k != 2 else x_med
        g = lambda x, k=k: math.log(max(float(f(x)[k]), 1e-300)) - math.log(ALPHA)  # noqa: E731
        known = sorted(cache)
        a = max([x for x in known if g(x) > 0], default=None)
        b = min([x for x in known if g(x) < 0], default=None)
        half, step = (0.35, 0.7) if k == 2 else (0.03, 0.06)  # the median's guess is rougher (chi2)
        if a is None:
            a = min(x0, b if b is not None else x0) - half
            while g(a) <= 0:
                a -= step
                step *= 2.0
        if b is None:
            b = max(x0, a) + half
            while g(b) >= 0:
                b += step
                step *= 2.0
        a, b = min(a, b), max(a, b)  # (toy noise can order the nearest cached points either way)
        out[k] = optimize.brentq(g, a, b, xtol=tol)
        if k == 2:
            x_med = out[2]
    return np.exp(order_bands(np.array([out[k] for k in range(5)]), 2 * tol)), len(cache)


def order_bands(x: np.ndarray, tol: float) -> np.ndarray:
    """Bands (log mu, -2 .. +2 sigma) made ordered around their median where they cross by at most ``tol``.

    With toys at very low background two quantiles can fall on the same count, so two bands have the same root;
    solved separately to a tolerance, they can come out crossed by up to that tolerance. Those are set equal
    (the median is kept); a larger crossing is a real error and is raised.

    >>> order_bands(np.array([-1.0, -0.5, 0.0, 0.3, 0.2999]), 1e-3).tolist()
    [-1.0, -0.5, 0.0, 0.3, 0.3]
    """
    x = np.array(x, dtype=float)
    for i in (1, 0):
        x[i] = _ordered(x[i], x[i + 1], tol)
    for i in (3, 4):
        x[i] = -_ordered(-x[i], -x[i - 1], tol)
    return x


def _ordered(lower: float, upper: float, tol: float) -> float:
    if lower <= upper:
        return lower
    if lower - upper > tol:
        raise ValueError(f"expected-limit bands cross by {lower - upper:.3g} in ln mu (more than the solver's {tol:g})")
    return upper


class ExpectedAsymptoticCLs:
    """Expected CLs (five bands) of pyhf's asymptotic q~_mu calculator, with one fit per signal strength.

    ``pyhf.infer.hypotest`` runs five fits per mu: free and fixed-mu fits to the observed data, the fit that
    builds the Asimov data, and free and fixed-mu fits to that Asimov data. For expected limits on Asimov
    background-only data the observed fits repeat the Asimov ones, and the Asimov data and its free fit do not
    depend on mu: they are done once here, and each mu costs only the fixed-mu fit, which gives sqrt(q_mu,A).
    The expected CLs values then come from pyhf's own ``AsymptoticCalculator`` distributions (tested equal to
    ``hypotest``), which depend on mu only through sqrt(q_mu,A).
    """

    def __init__(self, model: pyhf.pdf.Model, data: list[float], bounds: list[tuple[float, float]]) -> None:
        self.model, self.bounds = model, bounds
        self.init = model.config.suggested_init()
        self.fixed = model.config.suggested_fixed()
        self.calc = pyhf.infer.calculators.AsymptoticCalculator(data, model, par_bounds=bounds, test_stat="qtilde")
        self.asimov = pyhf.infer.calculators.generate_asimov_data(0.0, data, model, self.init, bounds, self.fixed)
        _, self.twice_nll_free = pyhf.infer.mle.fit(
            self.asimov, model, self.init, bounds, self.fixed, return_fitted_val=True
        )

    def sqrt_q_asimov(self, mu: float) -> float:
        """sqrt(q~_mu) on the Asimov background-only data: one fixed-mu fit."""
        _, twice_nll = pyhf.infer.mle.fixed_poi_fit(
            mu, self.asimov, self.model, self.init, self.bounds, self.fixed, return_fitted_val=True
        )
        return math.sqrt(max(float(twice_nll - self.twice_nll_free), 0.0))

    def __call__(self, mu: float) -> np.ndarray:
        return expected_cls_at(self.calc, self.sqrt_q_asimov(mu))


def expected_cls_at(calc: pyhf.infer.calculators.AsymptoticCalculator, sqrt_q: float) -> np.ndarray:
    """pyhf's five expected CLs values (-2 .. +2 sigma) where sqrt(q~_mu,A) = ``sqrt_q`` (no fit)."""
    calc.sqrtqmuA_v = sqrt_q
    sb, b = calc.distributions(1.0)  # the asymptotic distributions depend on sqrt(q_mu,A) alone
    _, _, cls = calc.expected_pvalues(sb, b)
    return np.asarray(cls, dtype=float).ravel()


def band_sqrt_q(calc: pyhf.infer.calculators.AsymptoticCalculator) -> np.ndarray:
    """The sqrt(q~_mu,A) at which each band's expected CLs is alpha, from pyhf's own distributions.

    In the Gaussian limit it is Phi^-1(1 - alpha Phi(k)) + k, 1.96 for the median (pyhf's clipped-normal
    distributions only matter below the values here). They depend on no model, only on the calculator's test
    statistic and base distribution: solved once per pair (72 ms) and kept, not once per limit.
    """
    key = (calc.test_stat, calc.calc_base_dist)
    if key not in _BAND_TARGETS:
        _BAND_TARGETS[key] = np.array(
            [
                optimize.brentq(lambda t, k=k: expected_cls_at(calc, t)[k] - ALPHA, 1e-6, 40.0, xtol=1e-12)
                for k in range(5)
            ]
        )
    return _BAND_TARGETS[key].copy()


_BAND_TARGETS: dict[tuple[str, str], np.ndarray] = {}


def _solve_sqrt_q(
    sqrt_q_of_mu: Callable[[float], float], targets: np.ndarray, guess: float, tol: float = 1e-3
) -> tuple[np.ndarray, int]:
    """mu at which sqrt(q_mu,A) reaches each target, to ``tol`` in ln mu; returns the roots and the evaluations.

    sqrt(q_mu,A) rises with mu, in proportion to it for a Gaussian count and faster for a Poisson one, so ln sqrt(q)
    against ln mu is close to a line of slope 1 or more: every step is a secant in those logs through the two
    evaluations nearest the target (bracketing it where it is bracketed, so the steps cannot leave the bracket),
    and a residual below ``tol`` in ln sqrt(q) is below ``tol`` in ln mu. All five roots share the evaluations (an
    evaluation already within ``tol`` of a later target is its root).
    """
    ln_sqrt_q: dict[float, float] = {}

    def at(x: float) -> float:
        if x not in ln_sqrt_q:
            ln_sqrt_q[x] = math.log(max(sqrt_q_of_mu(math.exp(x)), 1e-300))
        return ln_sqrt_q[x]

    roots = []
    for target in np.log(targets):
        done = [x for x, y in ln_sqrt_q.items() if abs(y - target) < tol]  # an earlier evaluation already there
        if done:
            roots.append(done[0])
            continue
        x = math.log(max(guess, 1e-12)) if not ln_sqrt_q else _secant_step(ln_sqrt_q, float(target))
        for _ in range(60):
            if abs(at(x) - target) < tol:
                break
            x = _secant_step(ln_sqrt_q, float(target))
        else:
            raise RuntimeError(f"sqrt(q_mu,A) = {math.exp(target):.4g} not reached: {sorted(ln_sqrt_q.items())}")
        roots.append(x)
    return np.exp(np.maximum.accumulate(roots)), len(ln_sqrt_q)


def _secant_step(points: dict[float, float], target: float) -> float:
    """The next ln mu for ln sqrt(q) = ``target`` from the evaluations so far (ln mu -> ln sqrt(q)), see above."""
    below = [x for x, y in points.items() if y < target]
    above = [x for x, y in points.items() if y > target]
    if below and above:  # a bracket: interpolate inside it, at least a tenth of its width from either end
        lo, hi = max(below), min(above)
        x = lo + (target - points[lo]) * (hi - lo) / (points[hi] - points[lo])
        return min(max(x, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
    near = sorted(points, key=lambda x: abs(points[x] - target))[:2]
    slope = 1.0
    if len(near) == 2 and near[0] != near[1]:
        slope = (points[near[0]] - points[near[1]]) / (near[0] - near[1])
    step = (target - points[near[0]]) / min(max(slope, 0.5), 4.0)
    return near[0] + max(min(step, 3.0), -3.0)  # at most a factor e^3 in mu per step


def signal_background(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Signal and total background per bin of a pyhf spec, channels concatenated (events)."""
    sig, bkg = [], []
    for ch in spec["channels"]:
        s, b = _channel_signal_background(ch)
        sig.append(s)
        bkg.append(b)
    return np.concatenate(sig), np.concatenate(bkg)


def _channel_signal_background(channel: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Signal and total background per bin of one channel of a pyhf spec (events)."""
    samples = {s["name"]: np.asarray(s["data"], float) for s in channel["samples"]}
    signal = samples.pop("signal")
    return signal, np.sum(list(samples.values()), axis=0)


#: how far a fit's sqrt(q_mu,A) may lie from the fixed-background value when the background anchors are the only
#: nuisance parameters: the anchors themselves change q by 1 / (1 + 0.03^2), under 0.1%
FIT_CHECK_RTOL = 0.01


def fixed_background_sqrt_q(mu: float, s: np.ndarray, b: np.ndarray) -> float:
    """sqrt(q_mu,A) on the Asimov background-only data of a model whose backgrounds are fixed:
    sqrt(2 sum [mu s - b ln(1 + mu s / b)]) (mu s > 0).

    >>> round(fixed_background_sqrt_q(1.0, np.array([1.645e3]), np.array([1e6])), 4)   # mu s / sqrt(b), less O(s / b)
    1.6441
    """
    x = mu * np.asarray(s, float)
    b = np.asarray(b, float)
    return math.sqrt(max(0.0, 2 * float(np.sum(x - b * np.log1p(x / b)))))


def anchors_only(spec: dict[str, Any]) -> bool:
    """Whether the spec's only nuisance parameters are the background anchors of ``stats.models``, each no wider
    than ANCHOR_FRACTION of its channel's Poisson error: no systematics, so the fixed-background closed form holds.
    A spec edited by hand with a wider anchor (a real nuisance parameter) is not one."""
    for ch in spec["channels"]:
        _, total = _channel_signal_background(ch)
        for sample in ch["samples"]:
            for m in sample["modifiers"]:
                if m["type"] == "normfactor":
                    continue
                if m["type"] != "staterror" or not m["name"].startswith("bkg_anchor_"):
                    return False
                width = np.asarray(m["data"], float)
                if not np.all(width <= ANCHOR_FRACTION * np.sqrt(np.maximum(total, 0.0)) * (1 + 1e-9)):  # NaN: not
                    return False
    return True


def hypotest_mended(mu: float, data: Any, model: Any, **kwargs: Any) -> Any:
    """pyhf's ``hypotest`` at ``mu``; where MIGRAD does not converge (channels of 10^8 events at a Z factory, where
    its EDM meets floating-point noise) the same test with scipy's minimiser."""
    try:
        return pyhf.infer.hypotest(mu, data, model, **kwargs)
    except pyhf.exceptions.FailedMinimization:
        with pyhf_backend(optimizer="scipy"):
            return pyhf.infer.hypotest(mu, data, model, **kwargs)


def asymptotic_limits(spec: dict[str, Any], guess: float = 1.0) -> MuLimits:
    """Expected limits with pyhf's asymptotic calculator (q~_mu) on Asimov background-only data."""
    with pyhf_backend():
        return _asymptotic_limits(spec, guess)


def _asymptotic_limits(spec: dict[str, Any], guess: float) -> MuLimits:
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, max(100.0, 50 * guess))
    expected: ExpectedAsymptoticCLs | None = None
    try:
        expected = ExpectedAsymptoticCLs(model, data, bounds)
        calc = expected.calc
    except pyhf.exceptions.FailedMinimization:
        calc = pyhf.infer.calculators.AsymptoticCalculator(data, model, par_bounds=bounds, test_stat="qtilde")

    def fitted(mu: float) -> float:
        nonlocal expected
        if mu > bounds[model.config.poi_index][1] / 2:
            bounds[model.config.poi_index] = (0.0, 4 * mu)
        if expected is not None:
            try:
                return expected.sqrt_q_asimov(mu)
            except pyhf.exceptions.FailedMinimization:
                expected = None  # from here on, pyhf's full hypotest with the scipy fallback below
        _, full = hypotest_mended(mu, data, model, test_stat="qtilde", par_bounds=bounds, return_calculator=True)
        return float(full.sqrtqmuA_v)

    checked = _checked_against_fixed_background(fitted, spec, data, model, bounds)
    bands, n = _solve_sqrt_q(checked.sqrt_q if checked else fitted, band_sqrt_q(calc), guess)
    mended = checked is not None and checked.replaced > 0
    return MuLimits(bands, "asymptotic (closed form where fits failed)" if mended else "asymptotic", n)


@dataclass
class _FitCheck:
    """sqrt(q_mu,A) from pyhf's fits, checked against the fixed-background value where the anchors are the only
    nuisance parameters: a fit further than FIT_CHECK_RTOL from it (MIGRAD stalls silently on channels of 10^8
    events) is refitted with scipy, and where that fails too the fixed-background value is used (``replaced``)."""

    fitted: Callable[[float], float]
    s: np.ndarray
    b: np.ndarray
    refit: Callable[[float], float]
    replaced: int = 0

    def sqrt_q(self, mu: float) -> float:
        ref = fixed_background_sqrt_q(mu, self.s, self.b)
        for fit in (self.fitted, self.refit):
            try:
                value = fit(mu)
            except pyhf.exceptions.FailedMinimization:
                continue
            if abs(value - ref) <= FIT_CHECK_RTOL * ref + 1e-6:
                return value
        self.replaced += 1
        return ref


def _checked_against_fixed_background(
    fitted: Callable[[float], float], spec: dict[str, Any], data: Any, model: Any, bounds: list[Any]
) -> _FitCheck | None:
    """The check of :class:`_FitCheck` for a spec without systematics; None otherwise (no closed form)."""
    if not anchors_only(spec):
        return None
    s, b = signal_background(spec)

    def refit(mu: float) -> float:
        with pyhf_backend(optimizer="scipy"):
            kwargs = {"test_stat": "qtilde", "par_bounds": bounds, "return_calculator": True}
            _, full = pyhf.infer.hypotest(mu, data, model, **kwargs)
        return float(full.sqrtqmuA_v)

    return _FitCheck(fitted, s, b, refit)


def toy_limits(
    signal: np.ndarray, background: np.ndarray, guess: float = 1.0, ntoys: int = DEFAULT_TOYS, seed: int = 0
) -> MuLimits:
    """Expected limits from numpy toys for counting channels with fixed backgrounds."""
    s = np.asarray(signal, dtype=float)
    b = np.asarray(background, dtype=float)
    bands, n = _solve_bands(lambda mu: toys.expected_cls(mu, s, b, ntoys, seed), guess, tol=1e-3)
    return MuLimits(bands, f"toys ({ntoys})", n)


def pyhf_upper_limit(spec: dict[str, Any], rtol: float = 2e-3, **hypotest_kwargs: object) -> tuple[np.ndarray, int]:
    """pyhf's own expected limits, as ``upper_limit(data, model, scan=None)`` computes them: TOMS748 root finding
    (``toms748_scan``) between the POI's suggested bounds, here with ``level`` passed explicitly (pyhf 0.7.6's
    ``upper_limit`` drops it when ``scan=None``) and relative tolerance ``rtol`` (ours: 2e-3 in ln mu).

    For the benchmark: returns the five expected limits (-2 .. +2 sigma) and how many hypotests it ran.
    ``hypotest_kwargs`` go to ``pyhf.infer.hypotest`` (``calctype="toybased"``, ``ntoys``, ...).
    """
    from pyhf.infer.intervals import upper_limits

    calls = 0
    stock = upper_limits.hypotest

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return stock(*args, **kwargs)

    with pyhf_backend():
        ws = pyhf.Workspace(spec)
        model = ws.model()
        data = ws.data(model)
        lo, hi = model.config.suggested_bounds()[model.config.poi_index]
        upper_limits.hypotest = counted
        try:
            _, exp_lim = upper_limits.toms748_scan(data, model, lo, hi, level=ALPHA, rtol=rtol, **hypotest_kwargs)
        finally:
            upper_limits.hypotest = stock
    return np.asarray(exp_lim, dtype=float).ravel(), calls
