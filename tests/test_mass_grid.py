"""Mass grids that follow the curve: neighbouring limits within 20%, points up to every threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dipole_portal.analysis.mass_grid import GridSpec, grid_quality, initial_grid, refine
from dipole_portal.analysis.pipeline import PRESETS, study_masses, thresholds
from dipole_portal.core.config import load_scenarios


def _curve(thr: list[float], lumi: list[float]):
    """A limit shaped like the real ones: d95 ~ m^-3/4 while long-lived, flat when prompt, and every data set's
    signal vanishing as beta^3 at its threshold (so the combined limit steps up there and diverges at the last)."""

    def d95(m: float) -> float:
        signal = sum(L * max(1 - (m / e) ** 2, 0.0) ** 3 for e, L in zip(thr, lumi, strict=True))
        return (1 + (0.3 / m) ** 0.75) / math.sqrt(signal) if signal > 0 else math.inf

    return d95


def _converge(thr: list[float], spec: GridSpec, d95) -> tuple[list[float], int]:
    grid = initial_grid(thr, spec)
    for rnd in range(spec.max_rounds):
        new = refine(grid, [d95(m) for m in grid], thr, spec)
        if not new:
            return grid, rnd
        grid = sorted(grid + new)
    return grid, spec.max_rounds


@pytest.mark.parametrize("name", ["belle2-lowmass", "bes3", "stcf-2gev"])
def test_paper_grid_follows_a_curve_to_every_threshold(name):
    """The paper preset's grid on the scenario's own thresholds: neighbours within 20% away from the thresholds,
    1 MeV to 99.9% of the highest sqrt(s), a point within 0.1% below every energy, converged before the last round."""
    sc = load_scenarios()[name]
    thr = thresholds(sc)
    lumi = [sum(p.lumi_fb for p in sc.points if p.sqrt_s == e) for e in thr]
    spec = PRESETS["paper"].grid
    d95 = _curve(thr, lumi)
    grid, rounds = _converge(thr, spec, d95)
    assert rounds < spec.max_rounds
    q = grid_quality(grid, [d95(m) for m in grid], thr)
    assert q.max_ratio <= 1.2, q
    assert grid[0] == pytest.approx(1e-3) and grid[-1] >= thr[-1] * (1 - 1.01e-3) and grid[-1] < thr[-1]
    for e in thr:
        assert any(e * (1 - 1.01e-3) <= m < e for m in grid), e


def test_a_coarse_grid_fails_the_quality_check():
    """The check can fail: the fast preset's 4 points on the same curve are far from 20%."""
    sc = load_scenarios()["stcf-2gev"]
    thr = thresholds(sc)
    d95 = _curve(thr, [1.0])
    grid = initial_grid(thr, PRESETS["fast"].grid)
    assert len(grid) == 4 and grid_quality(grid, [d95(m) for m in grid], thr).max_ratio > 2
    assert refine(grid, [d95(m) for m in grid], thr, PRESETS["fast"].grid) == []  # the fast preset stays coarse


def test_refinement_stops_at_the_minimum_width_next_to_a_threshold():
    """At a threshold d95 diverges: intervals there are split down to min_rel_width and no further."""
    spec = GridSpec(m_min_GeV=0.5, n_log=3, approach=(0.01,), max_ratio=1.2, min_rel_width=1e-3, max_rounds=40)
    d95 = _curve([2.0], [1.0])
    grid, rounds = _converge([2.0], spec, d95)
    assert rounds < 40
    gaps = np.diff(np.log(grid))
    assert gaps.min() >= math.log(1 + 1e-3) / 2.01  # never split below half the minimum width
    q = grid_quality(grid, [d95(m) for m in grid], [2.0])
    assert q.max_ratio <= 1.2


def test_study_masses_come_from_the_curve_grid():
    curve = [(m, 1 / m) for m in (0.05, 0.1, 0.5, 1.0, 2.0, 5.0)]
    assert study_masses(curve, 0.1, 2.0, 2) == [1.0, 2.0]
    assert study_masses(curve, 0.1, 2.0, 10) == [0.1, 0.5, 1.0, 2.0]
    assert study_masses(curve, 10, 20, 2) == []
