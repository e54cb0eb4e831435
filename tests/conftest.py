"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats


def chi2_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Pearson chi2 goodness-of-fit p-value of histogram counts against expectations."""
    observed = np.asarray(observed, float)
    expected = np.asarray(expected, float)
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    return float(stats.chi2.sf(chi2, len(observed) - 1))


def empty_report_parts(markdown: str) -> list[str]:
    """Headings with nothing under them before the next heading of the same or a higher level, and tables with a
    header but no row: what a report must not print (an empty section claims a result it does not show)."""
    lines = [ln for ln in markdown.splitlines() if ln.strip()]
    empty = []
    for i, ln in enumerate(lines):
        level = len(ln) - len(ln.lstrip("#"))
        if ln.startswith("#"):
            nxt = lines[i + 1] if i + 1 < len(lines) else "#"
            if nxt.startswith("#") and len(nxt) - len(nxt.lstrip("#")) <= level:
                empty.append(ln)
        elif ln.startswith("|---") and (i + 1 == len(lines) or not lines[i + 1].startswith("|")):
            empty.append(f"table {lines[i - 1]}")
    return empty


#: the quick subset (``-m quick``): the foundations, generators, formats and statistics helpers, in under a minute
QUICK_MODULES = {
    "test_signal_generator",
    "test_nunugamma_generator",
    "test_rootio",
    "test_histograms",
    "test_cache",
    "test_cache_limit",
    "test_mass_grid",
    "test_verdict",
    "test_existing_limits",
    "test_decay_volume",
    "test_spin_correlation",
    "test_structure",
    "test_electroweak_matrix_element",
    "test_electroweak_background",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.stem in QUICK_MODULES and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.quick)


@pytest.fixture
def tmp_out(tmp_path):
    return tmp_path


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Every test that names no cache uses a session-private one, never the user's ~/.cache."""
    import os

    old = os.environ.get("DIPOLE_PORTAL_CACHE")
    os.environ["DIPOLE_PORTAL_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("DIPOLE_PORTAL_CACHE", None)
    else:
        os.environ["DIPOLE_PORTAL_CACHE"] = old


def selected_signal(tmp_path, scenario: str, mass: float, seed: int, events: int, measured_direction: bool = False):
    """A signal sample (exact law) at the scenario's first energy point, selected with its decay volume (and the
    measured direction); returns (selection, volume, selected sample, CM photons, lab N) for independent checks."""
    import uproot
    import vector

    from dipole_portal.core.config import get_scenario
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import SignalSpec
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.decay_volume import DecayVolume
    from dipole_portal.selections.detector_response import DetectorResponse
    from dipole_portal.selections.process import SelectedSample, process_sample

    sc = get_scenario(scenario)
    point = sc.points[0]
    vol = DecayVolume(**sc.detector.decay_volume)
    sel = build_selection(sc, point)
    path = generate_to_root(
        SignalSpec(point.beams, mass, decay_model="exact"), tmp_path / "s.root", seed=seed, events=events
    )
    res = SelectedSample.from_result(
        process_sample(path, "signal", sel, response=DetectorResponse(vol, measured_direction))
    )
    with uproot.open(path) as f:
        a = f["events"].arrays(library="np")
    photon = vector.array({k: a[f"photon_{k}"].astype(float) for k in ("px", "py", "pz", "E")})
    n = vector.array(
        {
            "px": a["N_px"].astype(float),
            "py": a["N_py"].astype(float),
            "pz": a["N_pz"].astype(float),
            "mass": np.full(len(photon), mass),
        }
    ).boostZ(beta=sel.beta)
    return sel, vol, res, photon, n
