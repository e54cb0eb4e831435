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
