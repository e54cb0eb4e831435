"""The Python API for notebooks and scripts: one limit, a mass scan, typed results.

    from dipole_portal import expected_limit, scan
    r = expected_limit("stcf-4gev", 1.0, events=20_000)
    print(r.d95_cls, r.d95_cls_bands, r.d95_chi2)       # GeV^-1
    curve = scan("belle2-bbg", n_masses=8, events=20_000, workers=2)

Scenarios are named from the configuration (``dipole_portal.core.config``) or given as ``Scenario`` objects, for
instance ``get_scenario("stcf-4gev").with_luminosity(30_000, "my-stcf")``. Every intermediate result lands in the
cache (``$DIPOLE_PORTAL_CACHE``, else ``~/.cache/dipole-portal``), so calling again is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dipole_portal.analysis.tasks import AnalysisOptions, ScanResult, run_task, scan_masses
from dipole_portal.core.config import Scenario, get_scenario
from dipole_portal.core.executors import make_executor
from dipole_portal.core.options import (
    DEFAULT_CC_MODES,
    DEFAULT_DECAY_MODEL,
    DEFAULT_DETECTOR_MODEL,
    DEFAULT_EVENTS,
    DEFAULT_N_TYPE,
    DEFAULT_SEED,
    Calculator,
    DecayModel,
    DetectorModel,
    Method,
    NType,
)
from dipole_portal.stats.limits import NO_SYST, LimitResult
from dipole_portal.stats.models import Systematics

__all__ = ["LimitResult", "ScanResult", "expected_limit", "scan"]


def _scenario(scenario: str | Scenario, scenarios_file: str | Path | None) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else get_scenario(scenario, scenarios_file)


#: the keywords of ``expected_limit`` and ``scan`` that say how a limit is computed -> their ``AnalysisOptions`` name
_OPTION_NAMES = {
    **{k: k for k in ("decay_model", "method", "calculator", "events", "seed", "binned", "detector_model", "n_type")},
    "n_cc_modes": "n_modes",
    "systematics": "syst",
}


def _options(keywords: dict[str, Any]) -> AnalysisOptions:
    """A call's keywords (its ``locals()``) as the options every limit task is made from (``AnalysisOptions``
    parses the strings: a bad one is a one-line InputError)."""
    chosen = {ours: keywords[api] for api, ours in _OPTION_NAMES.items()}
    return AnalysisOptions(cache=str(keywords["cache"] or ""), **chosen)


def expected_limit(
    scenario: str | Scenario,
    mass_GeV: float,
    *,
    decay_model: DecayModel | str = DEFAULT_DECAY_MODEL,
    method: Method | str = Method.CLS,
    calculator: Calculator | str = Calculator.AUTO,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    n_cc_modes: int = DEFAULT_CC_MODES,
    binned: bool = False,
    systematics: Systematics = NO_SYST,
    detector_model: DetectorModel | str = DEFAULT_DETECTOR_MODEL,
    n_type: NType | str = DEFAULT_N_TYPE,
    scenarios_file: str | Path | None = None,
    cache: str | Path | None = None,
) -> LimitResult:
    """The expected 95% C.L. limit on d (GeV^-1) of ``scenario`` at ``mass_GeV``: chi2 and (``method="cls"``) CLs
    with its bands, in a typed ``LimitResult``."""
    options = _options(locals())
    task = options.task(_scenario(scenario, scenarios_file), mass_GeV)
    task.request  # noqa: B018 - validates the mass, events and seed before anything is computed
    return run_task(task).limit


def scan(
    scenario: str | Scenario,
    masses_GeV: list[float] | None = None,
    *,
    n_masses: int = 20,
    decay_model: DecayModel | str = DEFAULT_DECAY_MODEL,
    method: Method | str = Method.CLS,
    calculator: Calculator | str = Calculator.AUTO,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    n_cc_modes: int = DEFAULT_CC_MODES,
    binned: bool = False,
    systematics: Systematics = NO_SYST,
    detector_model: DetectorModel | str = DEFAULT_DETECTOR_MODEL,
    n_type: NType | str = DEFAULT_N_TYPE,
    workers: int = 1,
    scenarios_file: str | Path | None = None,
    cache: str | Path | None = None,
) -> ScanResult:
    """Limits over a mass grid (default: ``n_masses`` log-spaced from 10 MeV to 98% of sqrt(s)), on ``workers``
    local processes; the result holds the limits and each mass's pyhf workspace."""
    from dipole_portal.analysis.mass_grid import log_grid

    sc = _scenario(scenario, scenarios_file)
    grid = [float(m) for m in masses_GeV] if masses_GeV is not None else log_grid(sc.max_sqrt_s, n_masses)
    options = _options(locals())
    with make_executor("serial" if workers == 1 else "processes", workers) as ex:
        return scan_masses(sc, grid, options, ex)
