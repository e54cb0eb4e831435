"""Existing limits on the dipole portal from the HNLimits package (SPEC 6), as excluded regions in (m_N, d).

The files under ``HNLimits/include/data/dipole/`` are digitised contours: the first header line names the
units (m_N in GeV or MeV; d in GeV^-1 or the magnetic moment in Bohr magnetons) and the source. Some regions
come in two files (lower and upper edge); they are joined into one polygon. Flavour-universal limits sit in
the top folder and go on every panel; ``e/``, ``mu/`` and ``tau/`` hold the flavour-specific ones.

>>> round(BOHR_MAGNETON_GEV_INV, 1)   # e / (2 m_e) in GeV^-1
296.3
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from dipole_portal.core.errors import InputError

ALPHA = 1 / 137.035999
M_E_GEV = 0.51099895e-3
BOHR_MAGNETON_GEV_INV = math.sqrt(4 * math.pi * ALPHA) / (2 * M_E_GEV)
FLAVOURS = ("e", "mu", "tau")

# label, files (joined lower edge + upper edge when two), flavour ("" = all panels). The list follows SPEC 6.
REGIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Borexino", ("Borexino_d.dat",), ""),
    ("Borexino + SK", ("Borexino_SK_d.dat",), ""),
    ("XENON1T", ("Xenon1T_d.dat",), ""),
    ("LEP", ("LEPgz_d.dat",), ""),
    ("SN1987A", ("SN1987A_muB_bottom.dat", "SN1987A_muB_top.dat"), ""),
    ("BBN", ("BBN_muB.dat",), ""),
    ("LSND", ("e/LSND_de.dat",), "e"),
    ("Super-K", ("e/SK_atm_de.dat",), "e"),
    ("CHARM-II", ("mu/CHARMII_dmu.dat",), "mu"),
    ("MiniBooNE", ("mu/MiniBooNE_dmu.dat",), "mu"),
    ("NOMAD", ("mu/NOMAD_dmu.dat",), "mu"),
    ("Super-K", ("mu/SK_atm_dmu.dat",), "mu"),
    ("DONUT", ("tau/DONUT_dtau.dat",), "tau"),
    ("Super-K", ("tau/SK_atm_dtau.dat", "tau/SK_atm_dtau_top.dat"), "tau"),
)


@dataclass(frozen=True)
class ExcludedRegion:
    """A polygon in (m_N GeV, d GeV^-1) excluded by an experiment; ``source`` is the file's header line."""

    label: str
    flavour: str
    mass_GeV: np.ndarray
    d_GeV_inv: np.ndarray
    source: str


def data_folder() -> Path:
    try:
        return Path(str(resources.files("HNLimits") / "include" / "data" / "dipole"))
    except ModuleNotFoundError:
        raise InputError("the HNLimits package is not installed: pip install HNLimits") from None


def read_contour(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(m_N in GeV, d in GeV^-1, header) of one HNLimits file, converted from the units its header names."""
    try:
        header = path.read_text().splitlines()[0].lstrip("# ").strip()
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError, IndexError) as exc:
        raise InputError(f"{path}: cannot read a two-column contour ({exc})") from None
    if data.shape[1] < 2 or not np.all(np.isfinite(data[:, :2])):
        raise InputError(f"{path}: expected two finite columns (m_N, d)")
    mass, d = data[:, 0].copy(), data[:, 1].copy()
    if re.search(r"[\[(]MeV[\])]", header):
        mass /= 1000.0
    if "mu_B" in header:
        d *= BOHR_MAGNETON_GEV_INV
    return mass, d, header


def load_regions(flavour: str, folder: Path | None = None) -> list[ExcludedRegion]:
    """The regions for one panel (``flavour`` in e, mu, tau): flavour-universal ones plus that flavour's."""
    if flavour not in FLAVOURS:
        raise InputError(f"flavour {flavour!r}: expected one of {', '.join(FLAVOURS)}")
    folder = folder or data_folder()
    out = []
    for label, files, fl in REGIONS:
        if fl not in ("", flavour):
            continue
        parts = [read_contour(folder / f) for f in files]
        mass, d, header = parts[0]
        if len(parts) == 2:  # lower edge, then the upper edge run backwards: one closed polygon
            m2, d2, _ = parts[1]
            order = slice(None, None, -1) if m2[0] < m2[-1] else slice(None)
            mass, d = np.concatenate([mass, m2[order]]), np.concatenate([d, d2[order]])
        out.append(ExcludedRegion(label, fl, mass, d, header))
    return out
