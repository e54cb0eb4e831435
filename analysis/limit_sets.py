"""A limit set: one scenario's limits over masses, from yields files or from a scan, and the files that publish it.

``limits`` on the command line is these steps: read a yields set (:func:`read_yields_set`) and compute its limits
(:func:`limits_from_yields`), or choose a grid (:class:`GridRequest`) and scan it (:func:`scan_grid`); then
:func:`write_limit_set` writes the tables, the pyhf background-only workspace and the patches as one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dipole_portal.analysis.mass_grid import COARSE_RATIO, GridSpec, initial_grid
from dipole_portal.analysis.tasks import AnalysisOptions, ScanResult, scan_following, scan_masses
from dipole_portal.core.config import Scenario
from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import Executor
from dipole_portal.selections.yields import ScenarioYields, check_mass
from dipole_portal.selections.yields_file import read_yields
from dipole_portal.stats.limits import compute_limit
from dipole_portal.stats.models import build_spec

#: the masses a default grid approaches sqrt(s) with (fractions of sqrt(s) below it), and the points at each
APPROACH = (0.1, 0.01, 0.001)
APPROACH_EACH = 1e-3


def read_yields_set(files: Sequence[str | Path]) -> list[ScenarioYields]:
    """Yields files of one scenario, in mass order; files of several scenarios, or of one name with different
    luminosities at one energy (two configurations under one name), are refused in one line."""
    pairs = sorted(((str(f), read_yields(f)) for f in files), key=lambda p: p[1].mass)
    names = {y.scenario for _, y in pairs}
    if len(names) > 1:
        raise InputError(f"--yields: files of several scenarios ({', '.join(sorted(names))}); expected one")
    lumi: dict[float, tuple[float, str]] = {}  # one curve is one scenario: each energy has one luminosity
    for f, y in pairs:
        for c in y.channels:
            seen = lumi.setdefault(round(c.sqrt_s, 6), (c.lumi_fb, f))
            if not math.isclose(seen[0], c.lumi_fb, rel_tol=1e-9):
                raise InputError(
                    f"--yields: {f} has {c.lumi_fb:g} fb^-1 at {c.sqrt_s:g} GeV, {seen[1]} "
                    f"{seen[0]:g} fb^-1: files of different scenarios under one name"
                )
    return [y for _, y in pairs]


def limits_from_yields(ys: Sequence[ScenarioYields], options: AnalysisOptions) -> ScanResult:
    """The limit at each yields file's mass with ``options``' statistics (method, binning, calculator,
    systematics), and each mass's pyhf workspace with the signal at its limit."""
    results, specs = [], {}
    for y in ys:
        r = compute_limit(y, options.method, binned=options.binned, calculator=options.calculator, syst=options.syst)
        results.append(r)
        specs[y.mass] = build_spec(y, r.d95, options.binned, options.syst)
    return ScanResult(results, specs)


@dataclass(frozen=True)
class MassGrid:
    """The masses to scan (GeV): given ones, or a grid that follows the curve (``spec``: refined as it goes)."""

    masses: list[float]
    spec: GridSpec | None = None


@dataclass(frozen=True)
class GridRequest:
    """The masses to scan: ``masses`` (comma-separated GeV) as given, else the default grid of ``n_masses`` log
    points from ``m_min`` GeV plus points approaching each threshold, refined (``refine``) where neighbouring limits
    differ by more than 25%."""

    masses: str | None = None
    n_masses: int = 20
    refine: bool = True
    m_min: float = 0.01

    def grid(self, scenario: Scenario) -> MassGrid:
        """The grid for ``scenario``; every mass is checked against its energies."""
        if self.masses:
            try:
                grid = MassGrid([float(m) for m in self.masses.split(",")])
            except ValueError:
                raise InputError(f"--masses={self.masses!r}: expected comma-separated numbers in GeV") from None
        else:
            if not (math.isfinite(self.m_min) and 0 < self.m_min < scenario.max_sqrt_s):
                raise InputError(f"--m-min={self.m_min!r}: expected 0 < m_min < {scenario.max_sqrt_s:g} GeV")
            spec = GridSpec(
                m_min_GeV=self.m_min,
                n_log=self.n_masses,
                approach=APPROACH,
                approach_each=APPROACH_EACH,
                max_ratio=COARSE_RATIO if self.refine else None,
            )
            grid = MassGrid(initial_grid(sorted({p.sqrt_s for p in scenario.points}), spec), spec)
        for m in grid.masses:
            check_mass(scenario, m)
        return grid


@dataclass(frozen=True)
class LimitSource:
    """Where ``limits`` takes its yields from: ``yields_files`` written by ``select``, or a ``scenario`` of the
    configuration (``scenarios_file``, else the packaged one) whose samples and selections are made first."""

    yields_files: tuple[str, ...] = ()
    scenario: str | None = None
    scenarios_file: str | None = None


def scan_grid(scenario: Scenario, grid: MassGrid, options: AnalysisOptions, executor: Executor) -> ScanResult:
    """The limits on ``grid`` (refined as it goes when it follows the curve), run by ``executor``."""
    if grid.spec is not None:
        return scan_following(scenario, grid.spec, options, executor)
    return scan_masses(scenario, grid.masses, options, executor)


def write_limit_set(stage: Path, scenario: str, label: str, scan: ScanResult, hepdata_ins: str | None) -> list[Path]:
    """The limit tables (CSV, JSON), the pyhf background-only workspace and the per-mass patches (a patchset with
    ``hepdata_ins``) of ``scan`` into ``stage``: the caller's transaction makes them one set."""
    from dipole_portal.stats.outputs import write_limit_tables, write_workspaces

    return write_limit_tables(stage, scenario, scan.limits, label) + write_workspaces(
        stage, scenario, scan.specs, hepdata_ins, results=scan.limits
    )
