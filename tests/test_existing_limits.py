"""Existing limits (HNLimits): units converted from the file headers, every region finite, one set per flavour."""

from __future__ import annotations

import numpy as np
import pytest

from dipole_portal.core.errors import InputError
from dipole_portal.plotting.existing import BOHR_MAGNETON_GEV_INV, FLAVOURS, data_folder, load_regions, read_contour


def test_units_from_headers():
    m, d, header = read_contour(data_folder() / "LEPgz_d.dat")  # header: m4 [MeV]
    assert "[MeV]" in header and 80 < m.max() < 100  # up to the Z pole, in GeV
    m, d, header = read_contour(data_folder() / "SN1987A_muB_top.dat")  # header: [\mu_B]
    raw = np.loadtxt(data_folder() / "SN1987A_muB_top.dat", comments="#")
    assert np.allclose(d, raw[:, 1] * BOHR_MAGNETON_GEV_INV)
    assert BOHR_MAGNETON_GEV_INV == pytest.approx(296.3, rel=1e-3)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_regions_per_flavour(flavour):
    regions = load_regions(flavour)
    labels = {r.label for r in regions}
    assert {"Borexino", "XENON1T", "LEP", "SN1987A", "BBN", "Super-K"} <= labels
    specific = {"e": "LSND", "mu": "CHARM-II", "tau": "DONUT"}
    assert specific[flavour] in labels
    assert all(other not in labels for f, other in specific.items() if f != flavour)
    for r in regions:
        assert np.all(np.isfinite(r.mass_GeV)) and np.all(r.mass_GeV > 0)
        assert np.all(np.isfinite(r.d_GeV_inv)) and np.all(r.d_GeV_inv > 0)
        assert "arXiv" in r.source or "SK" in r.label or "Super-K" in r.label


def test_unknown_flavour():
    with pytest.raises(InputError, match="flavour 'sterile'"):
        load_regions("sterile")
