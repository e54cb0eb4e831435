"""Expected limits are a property of the physics: they converge as the MC samples grow.

The MC statistics enter only the quoted uncertainty ``d95_mc_rel_err``; the CLs limits at three sample sizes
(a factor 16 apart) agree within it, for a large background (Belle II bBG, asymptotic CLs, about 10^4 events)
and a small one (STCF 2 GeV at 300 fb^-1, about 2 events, toys). The ratio CLs / chi2 is then what the two
statistical criteria give for a Poisson count, not an effect of the MC size.
"""

from __future__ import annotations

import math

import pytest
from scipy import optimize, stats

from dipole_portal.stats.limits import TOY_D_TOLERANCE

SIZES = (10_000, 40_000, 160_000)


def _limits(tmp_path, scenario, mass: float):
    from dipole_portal.analysis.tasks import LimitTask, run_task

    return [run_task(LimitTask(scenario, mass, events=n, cache=str(tmp_path))).limit for n in SIZES]


def _assert_agree(limits, extra_rel_err: float = 0.0) -> None:
    """Every pair of d95_cls agrees within 3 sigma of the combined MC (and toy) uncertainties."""
    for i in range(len(limits)):
        for j in range(i + 1, len(limits)):
            a, b = limits[i], limits[j]
            sigma = math.sqrt(a.d95_mc_rel_err**2 + b.d95_mc_rel_err**2 + 2 * extra_rel_err**2)
            assert abs(a.d95_cls / b.d95_cls - 1) < 3 * sigma, (SIZES[i], a.d95_cls, SIZES[j], b.d95_cls, sigma)


def test_large_background_cls_limit_converges(tmp_path):
    """bBG at m_N = 1 GeV (prompt: S ~ d^2): d95_cls agrees across sizes; CLs / chi2 = sqrt(S_CLs / S_chi2) with
    S_chi2 from S^2/(S+B) = 2.71 and S_CLs the median CLs = 0.05 of a single Poisson bin on Asimov data."""
    from dipole_portal.core.config import get_scenario

    limits = _limits(tmp_path, get_scenario("belle2-bbg"), 1.0)
    assert all(r.calculator == "asymptotic" and r.background_events > 5000 for r in limits)
    _assert_agree(limits)
    b = limits[-1].background_events
    s_chi2 = 2.71 / 2 + math.sqrt(2.71**2 / 4 + 2.71 * b)

    def cls_median(s: float) -> float:
        q = 2 * (s - b * math.log1p(s / b))
        return stats.norm.sf(math.sqrt(q)) / 0.5 - 0.05

    s_cls = optimize.brentq(cls_median, 1.0, 50 * math.sqrt(b))
    for r in limits:
        assert r.d95_cls / r.d95_chi2 == pytest.approx(math.sqrt(s_cls / s_chi2), rel=5e-3)


def test_small_background_cls_limit_converges(tmp_path):
    """About 2 background events (toys): d95_cls agrees across sizes within the MC and toy uncertainties."""
    from dipole_portal.core.config import get_scenario

    sc = get_scenario("stcf-2gev").with_luminosity(300.0)
    limits = _limits(tmp_path, sc, 0.5)
    assert all(r.calculator.startswith("toys") and r.background_events < 5 for r in limits)
    _assert_agree(limits, extra_rel_err=TOY_D_TOLERANCE)
