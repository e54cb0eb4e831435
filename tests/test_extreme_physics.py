"""Extreme physics: m_N -> 0 and m_N -> sqrt(s); prompt and very long-lived N. Results stay finite, positive and
monotonic where physics says they must be."""

from __future__ import annotations

import numpy as np
import pytest

from dipole_portal.analysis.tasks import yields_for
from dipole_portal.core.config import get_scenario
from dipole_portal.samples.signal_physics import decay_length_m, decay_probability, signal_xsec_pb
from dipole_portal.stats.limits import compute_limit

SQRT_S = 4.0
L_M = 0.8


@pytest.fixture(scope="module")
def limits(tmp_path_factory):
    sc = get_scenario("stcf-4gev")
    wd = tmp_path_factory.mktemp("extreme")
    masses = [1e-4, 1e-3, 1e-2, 3.9, 3.99, 3.999]
    return {m: compute_limit(yields_for(sc, m, events=10_000, cache=wd)) for m in masses}


def test_limits_finite_and_positive_at_the_edges(limits):
    for m, r in limits.items():
        for d in (r.d95, r.d95_chi2, *r.d95_cls_bands):
            assert np.isfinite(d) and d > 0, (m, r)


def test_light_n_is_long_lived_and_the_limit_weakens_as_m_falls(limits):
    d = [limits[m].d95_chi2 for m in (1e-2, 1e-3, 1e-4)]
    assert d[0] < d[1] < d[2]
    # deep in the long-lived regime S ~ d^4 m^4 (P_dec ~ l_D / l_dec): d95 grows like 1/m
    assert d[2] / d[1] == pytest.approx(10.0, rel=0.1)


def test_limit_weakens_towards_threshold(limits):
    d = [limits[m].d95_chi2 for m in (3.9, 3.99, 3.999)]
    assert d[0] < d[1] < d[2]


def test_cross_section_vanishes_smoothly_at_threshold():
    m = SQRT_S * (1 - np.geomspace(1e-1, 1e-6, 6))
    xs = np.array([signal_xsec_pb(SQRT_S, float(x), 1e-5) for x in m])
    assert np.all(np.isfinite(xs)) and np.all(xs > 0)
    assert np.all(np.diff(xs) < 0)
    assert signal_xsec_pb(SQRT_S, 1e-6, 1e-5) == pytest.approx(signal_xsec_pb(SQRT_S, 1e-4, 1e-5), rel=1e-6)


@pytest.mark.parametrize("mass", [1e-4, 0.1, 1.0, 3.99])
def test_decay_probability_from_long_lived_to_prompt(mass):
    d = np.geomspace(1e-14, 1e3, 400)
    p = decay_probability(SQRT_S, mass, d, L_M)
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    assert np.all(np.diff(p) >= 0)
    ratio = L_M / decay_length_m(SQRT_S, mass, d)
    small = ratio < 1e-8
    assert np.allclose(p[small], ratio[small], rtol=1e-7)  # P_dec ~ l_D / l_dec, full precision (expm1)
    prompt = ratio > 50
    assert np.all(p[prompt] == 1.0)
