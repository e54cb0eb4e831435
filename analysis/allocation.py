"""Spend signal MC events where the combined limit needs them.

A combination such as BESIII's 43 data sets is dominated by a few channels, but one sample per channel of the same
size spends most events where they hardly move the limit. The MC variance of the combined limit is about
sum_i w_i^2 / N_i, with w_i the channel's share of the expected signal at the limit (the low-background statistic is
the total signal); at a fixed variance the fewest events are N_i proportional to w_i. So channel i gets
N_i = events * w_i / sum_j w_j^2, which gives the limit the MC variance that ``events`` in every channel would,
clipped to [events / 20, 4 events] so that no channel's efficiency is left unmeasured and no sample grows without
bound. The shares come from the analytic expectation (luminosity x cross section x decay probability, efficiency 1)
at the coupling where the combination expects 3 signal events; the quoted MC error of every limit is computed from
the events actually used, so a poor estimate shows up there, never as a biased limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq

from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.samples.signal_physics import decay_probability, signal_xsec_pb

PB_TO_FB = 1e3
EXPECTED_AT_LIMIT = 3.0  # signal events: the zero-background 95% C.L. limit
MIN_FRACTION, MAX_FACTOR = 1 / 20, 4


def expected_signal(
    scenario: Scenario,
    points: Sequence[EnergyPoint],
    mass: float,
    d: float,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> np.ndarray:
    """Signal events per point at coupling ``d`` (GeV^-1) with a selection efficiency of 1."""
    det = scenario.detector
    return np.array(
        [
            p.lumi_fb
            * PB_TO_FB
            * signal_xsec_pb(p.sqrt_s, mass, d, 2, constants)
            * det.eps_det
            * float(decay_probability(p.sqrt_s, mass, d, det.length_m, constants))
            for p in points
        ]
    )


def channel_shares(
    scenario: Scenario, points: Sequence[EnergyPoint], mass: float, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """Each point's share of the expected signal where the combination expects 3 events (sums to 1)."""

    def excess(log_d: float) -> float:
        return math.log(expected_signal(scenario, points, mass, math.exp(log_d), constants).sum() / EXPECTED_AT_LIMIT)

    log_d = brentq(excess, math.log(1e-12), math.log(1.0), xtol=1e-3)
    s = expected_signal(scenario, points, mass, math.exp(log_d), constants)
    return s / s.sum()


def signal_events(
    scenario: Scenario,
    points: Sequence[EnergyPoint],
    mass: float,
    events: int,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> list[int]:
    """Signal MC events per point: ``events`` for a single channel, else N_i = events w_i / sum w^2 (clipped).

    >>> from dipole_portal.core.config import get_scenario
    >>> sc = get_scenario("bes3")
    >>> n = signal_events(sc, list(sc.points), 1.0, 100_000)
    >>> len(n), min(n), max(n), sum(n) < 43 * 100_000 / 2
    (43, 5000, 240397, True)
    """
    if len(points) == 1:
        return [events]
    w = channel_shares(scenario, points, mass, constants)
    lo, hi = max(1, round(events * MIN_FRACTION)), MAX_FACTOR * events
    return [int(min(hi, max(lo, round(events * wi / float(np.sum(w**2)))))) for wi in w]
