"""Mass scans: yields and limits over a grid of N masses, and the pyhf specs to publish at each limit."""

from __future__ import annotations

from pathlib import Path

from analysis.config import Scenario
from analysis.progress import progress_bar
from selections.yields import compute_yields
from stats.limits import NO_SYST, LimitResult, compute_limit
from stats.models import Systematics, build_spec


def scan_masses(
    scenario: Scenario, masses: list[float], decay_model: str = "helicity", events: int = 100_000, seed: int = 1,
    workdir: str | Path = ".cache", n_modes: int = 2, method: str = "cls", binned: bool = False,
    calculator: str = "auto", syst: Systematics = NO_SYST,
) -> tuple[list[LimitResult], dict[float, dict]]:
    """Limits at each mass, and each mass's workspace with the signal at its limit (for the patchset)."""
    results, specs = [], {}
    with progress_bar(f"limits {scenario.name}", len(masses)) as advance:
        for m in masses:
            y = compute_yields(scenario, m, decay_model, events, seed, Path(workdir), n_modes=n_modes)
            r = compute_limit(y, method, binned, calculator, syst)
            results.append(r)
            specs[m] = build_spec(y, r.d95, binned, syst)
            advance(1)
    return results, specs
