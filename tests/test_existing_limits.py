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


def _crossings(m: np.ndarray, d: np.ndarray, x: float, closed: bool) -> list[float]:
    """log d where the file's boundary (its segments in log-log; the closing one too for an island) crosses
    log m = x, ascending."""
    lm, ld = np.log(m), np.log(d)
    if closed:
        lm, ld = np.append(lm, lm[0]), np.append(ld, ld[0])
    out = []
    for (x1, y1), (x2, y2) in zip(zip(lm, ld, strict=True), zip(lm[1:], ld[1:], strict=True), strict=False):
        if x1 != x2 and min(x1, x2) <= x < max(x1, x2):
            out.append(y1 + (y2 - y1) * (x - x1) / (x2 - x1))
    return sorted(out)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_region_shades_exactly_what_its_file_excludes(flavour):
    """At masses across each file's range, points just above and below the file's edges are inside or outside
    the drawn region as the file implies: above an upper-limit curve up to the figure's top (LEP's top-left
    corner, above DONUT's plateau), between the edges of an island and nowhere outside them, and for Super-K's
    d_e and d_mu below the top of the source's figure only."""
    from dipole_portal.plotting.existing import ABOVE, ISLAND, SOURCE_TOP

    checked = 0
    for r in load_regions(flavour):
        lm = np.log(r.mass_GeV)
        for x in np.linspace(lm.min(), lm.max(), 9)[1:-1]:
            cross = _crossings(r.mass_GeV, r.d_GeV_inv, x, closed=r.closure == ISLAND)
            if not cross:
                continue
            m = float(np.exp(x))
            below, above = float(np.exp(cross[0] - 0.3)), float(np.exp(cross[-1] + 0.3))
            assert not r.contains(m, below), (r.label, m, below)
            if r.closure == ABOVE:
                assert r.contains(m, above) and r.contains(m, 1e2), (r.label, m)
            elif r.closure == SOURCE_TOP:
                top = float(r.d_GeV_inv.max())
                assert not r.contains(m, top * 1.5), (r.label, m)
                if above < top:
                    assert r.contains(m, above), (r.label, m, above)
            else:
                assert not r.contains(m, above), (r.label, m, above)
            if len(cross) >= 2 and cross[1] - cross[0] > 0.2:
                assert r.contains(m, float(np.exp((cross[0] + cross[1]) / 2))), (r.label, m)
            checked += 1
        if r.label == "LEP":  # the region runs from 1 MeV to the Z pole: its top-left corner is excluded
            assert r.contains(1.5e-3, 1e-3) and r.contains(1.5e-3, 1e-1)
        if r.label == "DONUT":  # flat at 6.5e-5 up to 0.3 GeV, then vertical: a band, not a wedge
            assert r.contains(0.25, 1e-4) and r.contains(2e-3, 1e-3) and not r.contains(0.5, 1e-3)
    assert checked > 40
