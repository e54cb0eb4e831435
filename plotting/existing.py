"""Existing limits on the dipole portal from the HNLimits package (SPEC 6), as excluded regions in (m_N, d).

The files under ``HNLimits/include/data/dipole/`` are digitised contours: the first header line names the
units (m_N in GeV or MeV; d in GeV^-1 or the magnetic moment in Bohr magnetons) and the source. Some regions
come in two files (lower and upper edge); they are joined into one polygon. Flavour-universal limits sit in
the top folder and go on every panel; ``e/``, ``mu/`` and ``tau/`` hold the flavour-specific ones.

Each file's points bound its region in one of three ways (``REGIONS``): an upper-limit curve (everything above
it excluded, closed along the figure's top edge), a closed island, or edges that reach the top of the source's
own figure (closed there). ``ExcludedRegion.polygon`` gives exactly the excluded region, and ``contains`` tests
a point against it.

Confidence levels are harmonised to 95% where the conversion is standard: for the scattering limits (nu-e
scattering: Borexino, Borexino + SK, CHARM-II, DONUT; nuclear recoil: XENON1T) the rate grows as d^2, so a
90% C.L. limit on the rate
becomes a 95% one by the ratio of one-sided Gaussian quantiles, d95 = d90 sqrt(1.6449 / 1.2816) = 1.133 d90
(background-free Poisson counting, sqrt(3.00 / 2.30) = 1.142, differs by 0.8%). The astrophysical and
cosmological bounds (SN1987A, BBN), the decay-in-detector limits (NOMAD, Super-K) have no such single rule
and keep the confidence level they were published at, which their label states.

>>> round(BOHR_MAGNETON_GEV_INV, 1)   # e / (2 m_e) in GeV^-1
296.3
>>> round(CL90_TO_95_RATE_D2, 4)
1.1329
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from dipole_portal.core.constants import DEFAULT_CONSTANTS
from dipole_portal.core.errors import InputError

ALPHA = DEFAULT_CONSTANTS.alpha
M_E_GEV = 0.51099895e-3
BOHR_MAGNETON_GEV_INV = math.sqrt(4 * math.pi * ALPHA) / (2 * M_E_GEV)
FLAVOURS = ("e", "mu", "tau")
CL90_TO_95_RATE_D2 = math.sqrt(1.6448536269514722 / 1.2815515655446004)  # d95 / d90 when the rate ~ d^2

TOP_D_GEV_INV = 1e3  # "above the curve" regions close along this d, above any figure's top edge

# How each file's points bound its region (the files are digitised contours, not closed polygons):
ABOVE = "above"  # an upper-limit curve: everything above it is excluded; it closes along the figure's top edge
ISLAND = "island"  # a closed region: one file whose last point returns to its first, or a lower and an upper edge
SOURCE_TOP = "source_top"  # a lower and right edge that reach the top of the source's figure (the highest d in the
# file) with no upper edge given: closed along that highest d, claiming nothing above the source's figure


@dataclass(frozen=True)
class RegionSource:
    """One excluded region of HNLimits: label, files (a lower then an upper edge when two), flavour ("" = every
    panel), how the points close (``ABOVE``, ``ISLAND``, ``SOURCE_TOP``) and, for a limit on a scattering rate
    ~ d^2 that may be converted from 90% to 95% C.L., the process it counts (None: no conversion)."""

    label: str
    files: tuple[str, ...]
    flavour: str
    closure: str
    rate_process: str | None = None


REGIONS: tuple[RegionSource, ...] = (  # SPEC 6
    RegionSource("Borexino", ("Borexino_d.dat",), "", ABOVE, "nu-e scattering"),
    RegionSource("Borexino + SK", ("Borexino_SK_d.dat",), "", ABOVE, "nu-e scattering"),
    RegionSource("XENON1T", ("Xenon1T_d.dat",), "", ABOVE, "nuclear recoil"),
    RegionSource("LEP", ("LEPgz_d.dat",), "", ABOVE),
    RegionSource("SN1987A", ("SN1987A_muB_bottom.dat", "SN1987A_muB_top.dat"), "", ISLAND),
    RegionSource("BBN", ("BBN_muB.dat",), "", ISLAND),
    RegionSource("LSND", ("e/LSND_de.dat",), "e", ABOVE),
    RegionSource("Super-K", ("e/SK_atm_de.dat",), "e", SOURCE_TOP),
    RegionSource("CHARM-II", ("mu/CHARMII_dmu.dat",), "mu", ABOVE, "nu-e scattering"),
    RegionSource("MiniBooNE", ("mu/MiniBooNE_dmu.dat",), "mu", ABOVE),
    RegionSource("NOMAD", ("mu/NOMAD_dmu.dat",), "mu", ISLAND),
    RegionSource("Super-K", ("mu/SK_atm_dmu.dat",), "mu", SOURCE_TOP),
    RegionSource("DONUT", ("tau/DONUT_dtau.dat",), "tau", ABOVE, "nu-e scattering"),
    RegionSource("Super-K", ("tau/SK_atm_dtau.dat", "tau/SK_atm_dtau_top.dat"), "tau", ISLAND),
)


@dataclass(frozen=True)
class ExcludedRegion:
    """A polygon in (m_N GeV, d GeV^-1) excluded by an experiment; ``source`` is the file's header line.

    ``cl_published``: the confidence level (%) the source states; ``cl``: the one drawn (95 when converted).
    """

    label: str
    flavour: str
    mass_GeV: np.ndarray
    d_GeV_inv: np.ndarray
    source: str
    cl_published: int | None = None
    cl: int | None = None
    closure: str = ISLAND
    rate_process: str | None = None

    @property
    def converted(self) -> bool:
        return self.cl != self.cl_published

    def polygon(self) -> tuple[np.ndarray, np.ndarray]:
        """The closed boundary (m_N GeV, d GeV^-1) of exactly the excluded region: the file's points, closed along
        the figure's top (``ABOVE``), along the source figure's top (``SOURCE_TOP``), or as they are (``ISLAND``).
        """
        m, d = self.mass_GeV, self.d_GeV_inv
        if self.closure == ABOVE:
            top = TOP_D_GEV_INV
        elif self.closure == SOURCE_TOP:
            top = float(d.max())
        else:
            return m, d
        return np.concatenate([m, [m[-1], m[0]]]), np.concatenate([d, [top, top]])

    def contains(self, mass_GeV: float, d_GeV_inv: float) -> bool:
        """Whether (m_N, d) lies inside the excluded region (in log-log coordinates, as drawn)."""
        from matplotlib.path import Path as MplPath

        m, d = self.polygon()
        return bool(
            MplPath(np.column_stack([np.log(m), np.log(d)])).contains_point((math.log(mass_GeV), math.log(d_GeV_inv)))
        )


def confidence_level(header: str) -> int | None:
    """The C.L. in percent a contour's header states (``90%CL``, ``95% C.L.``), or None.

    >>> confidence_level("d_gamma [1/GeV] at 90%CL from Borexino data"), confidence_level("no level")
    (90, None)
    """
    m = re.search(r"(\d{2})\s*%\s*C\.?\s*L", header)
    return int(m.group(1)) if m else None


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


def load_regions(flavour: str, folder: Path | None = None, harmonise: bool = True) -> list[ExcludedRegion]:
    """The regions for one panel (``flavour`` in e, mu, tau): flavour-universal ones plus that flavour's.

    ``harmonise``: convert the 90% C.L. nu-e scattering limits to 95% (see the module docstring).
    """
    if flavour not in FLAVOURS:
        raise InputError(f"flavour {flavour!r}: expected one of {', '.join(FLAVOURS)}")
    folder = folder or data_folder()
    out = []
    for src in REGIONS:
        if src.flavour not in ("", flavour):
            continue
        parts = [read_contour(folder / f) for f in src.files]
        mass, d, header = parts[0]
        if len(parts) == 2:  # lower edge, then the upper edge run backwards: one closed polygon
            m2, d2, _ = parts[1]
            order = slice(None, None, -1) if m2[0] < m2[-1] else slice(None)
            mass, d = np.concatenate([mass, m2[order]]), np.concatenate([d, d2[order]])
        cl = confidence_level(header) or next((c for p in parts if (c := confidence_level(p[2]))), None)
        drawn = cl
        if harmonise and src.rate_process and cl == 90:
            d, drawn = d * CL90_TO_95_RATE_D2, 95
        out.append(ExcludedRegion(src.label, src.flavour, mass, d, header, cl, drawn, src.closure, src.rate_process))
    return out
