"""Mass grids that follow the limit curve: a log grid, points approaching every kinematic threshold, and
refinement until neighbouring limits differ by less than a set ratio.

A limit curve is steep where N is long-lived (d95 ~ m_N^-3/4 at low mass) and it rises to infinity at each
threshold m_N -> sqrt(s) (for BESIII, at each of its energies, where one data set stops contributing). A fixed
log grid therefore ends curves in a straight cliff or in mid-air. Here the grid starts as a log grid plus points
at sqrt(s) (1 - gap) for each energy, and every interval whose two limits differ by more than ``max_ratio`` is
split at its geometric midpoint, round after round, until it is narrower than ``min_rel_width`` (which happens
only next to a threshold, where the curve diverges).

>>> spec = GridSpec(m_min_GeV=0.01, n_log=3, approach=(0.1,), approach_each=0.01)
>>> initial_grid((2.0, 4.0), spec)
[0.01, 0.189737, 1.98, 3.6]
>>> refine([0.1, 0.2, 0.4], [1.0, 1.1, 2.0], (4.0,), GridSpec(max_ratio=1.2))
[0.282843]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NEAR_THRESHOLD = 0.01  # an interval whose lower mass lies within 1% below a threshold is "at the threshold"
COARSE_RATIO = 1.25  # neighbouring limits further apart than this are reported: the curve is not followed there


@dataclass(frozen=True)
class GridSpec:
    """How a curve's mass grid (GeV) is built.

    m_min_GeV: lowest mass. n_log: points of the log grid from m_min_GeV to the highest threshold x (1 - the
    largest approach gap). approach: relative gaps below the highest sqrt(s) (0.01 = a point at 0.99 sqrt(s)).
    approach_each: the gap below every other sqrt(s) (None: none). max_ratio: refine intervals whose neighbouring
    d95 differ by more than this factor (None: no refinement). min_rel_width: never split an interval narrower than
    this relative width. max_rounds: refinement rounds at most.
    """

    m_min_GeV: float = 0.01
    n_log: int = 4
    approach: tuple[float, ...] = (0.02,)
    approach_each: float | None = None
    max_ratio: float | None = None
    min_rel_width: float = 1e-3
    max_rounds: int = 10


def _round(m: float) -> float:
    return float(f"{m:.6g}")


def initial_grid(thresholds_GeV: Sequence[float], spec: GridSpec) -> list[float]:
    """The starting masses (GeV, ascending): the log grid and the points approaching each threshold."""
    top = max(thresholds_GeV)
    hi = top * (1 - max(spec.approach))
    masses = {_round(m) for m in _geomspace(spec.m_min_GeV, hi, spec.n_log)}
    masses |= {_round(top * (1 - g)) for g in spec.approach}
    if spec.approach_each is not None:
        masses |= {_round(e * (1 - spec.approach_each)) for e in thresholds_GeV if e < top}
    return sorted(m for m in masses if spec.m_min_GeV <= m < top)


def log_grid(top_GeV: float, n: int, m_min_GeV: float = 0.01) -> list[float]:
    """``n`` log-spaced masses (GeV) from ``m_min_GeV`` to 98% of ``top_GeV`` (the highest sqrt(s)).

    >>> log_grid(10.0, 3)
    [0.01, 0.31305, 9.8]
    """
    return [_round(m) for m in _geomspace(m_min_GeV, top_GeV * 0.98, n)]


def _geomspace(lo: float, hi: float, n: int) -> list[float]:
    if n == 1:
        return [lo]
    r = math.log(hi / lo) / (n - 1)
    return [lo * math.exp(i * r) for i in range(n)]


def refine(
    masses: Sequence[float], d95: Sequence[float], thresholds_GeV: Sequence[float], spec: GridSpec
) -> list[float]:
    """Masses to add (GeV): the geometric midpoint of every interval whose limits differ by more than
    ``spec.max_ratio`` and that is wider than ``spec.min_rel_width``. Empty when the grid follows the curve."""
    if spec.max_ratio is None:
        return []
    pts = sorted(zip(masses, d95, strict=True))
    have = {m for m, _ in pts}
    out = []
    for (m1, d1), (m2, d2) in zip(pts, pts[1:], strict=False):
        if max(d1, d2) / min(d1, d2) <= spec.max_ratio or m2 / m1 - 1 < spec.min_rel_width:
            continue
        mid = _round(math.sqrt(m1 * m2))
        if m1 < mid < m2 and mid not in have:
            out.append(mid)
    return out


@dataclass(frozen=True)
class GridQuality:
    """How well a grid follows its curve: the largest neighbour ratio of d95 away from the thresholds, and where."""

    max_ratio: float
    at_GeV: tuple[float, float]
    points: int
    at_threshold: int  # intervals left steeper than the target because they end on a threshold


def grid_quality(
    masses: Sequence[float], d95: Sequence[float], thresholds_GeV: Sequence[float], max_ratio: float = 1.2
) -> GridQuality:
    """The largest ratio of neighbouring d95 outside the threshold intervals (``NEAR_THRESHOLD``)."""
    pts = sorted(zip(masses, d95, strict=True))
    worst, where, steep = 1.0, (math.nan, math.nan), 0
    for (m1, d1), (m2, d2) in zip(pts, pts[1:], strict=False):
        r = max(d1, d2) / min(d1, d2)
        if any(e * (1 - NEAR_THRESHOLD) <= m1 < e for e in thresholds_GeV):
            steep += r > max_ratio
            continue
        if r > worst:
            worst, where = r, (m1, m2)
    return GridQuality(worst, where, len(pts), steep)


def steep_intervals(
    masses: Sequence[float], d95: Sequence[float], thresholds_GeV: Sequence[float], max_ratio: float = COARSE_RATIO
) -> list[tuple[float, float, float]]:
    """(m1, m2, ratio) of every interval, away from the thresholds, whose neighbouring d95 differ by more than
    ``max_ratio``: where a curve drawn through the grid is not the limit.

    >>> steep_intervals([0.1, 1.0, 3.97, 3.995], [2.0, 1.0, 1.1, 9.0], [4.0])  # the last interval ends on threshold
    [(0.1, 1.0, 2.0)]
    """
    pts = sorted(zip(masses, d95, strict=True))
    out = []
    for (m1, d1), (m2, d2) in zip(pts, pts[1:], strict=False):
        r = max(d1, d2) / min(d1, d2)
        if r > max_ratio and not any(e * (1 - NEAR_THRESHOLD) <= m1 < e for e in thresholds_GeV):
            out.append((m1, m2, r))
    return out


def coarse_warning(
    name: str,
    masses: Sequence[float],
    d95: Sequence[float],
    thresholds_GeV: Sequence[float],
    max_ratio: float = COARSE_RATIO,
) -> str | None:
    """One line naming where ``name``'s grid does not follow its curve (None when it does everywhere)."""
    steep = steep_intervals(masses, d95, thresholds_GeV, max_ratio)
    if not steep:
        return None
    shown = ", ".join(f"{a:.3g}-{b:.3g} GeV ({r:.2f}x)" for a, b, r in sorted(steep, key=lambda x: -x[2])[:4])
    more = f" and {len(steep) - 4} more" if len(steep) > 4 else ""
    return (
        f"{name}: neighbouring limits differ by more than {max_ratio:g}x in {len(steep)} "
        f"interval{'s' if len(steep) != 1 else ''}: "
        f"{shown}{more}; the curve between them is not computed (refine the grid, or --preset paper)"
    )
