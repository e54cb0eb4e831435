"""Named, composable photon cuts (SPEC section 3) acting on plain columns.

Every code path (the MC selection, the histograms, the deterministic reference integration) calls the
same functions, so a photon exactly on a boundary is treated alike everywhere. Convention: a photon passes
a threshold only strictly above it (``E > E_cut``), and an angular window only strictly inside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dipole_portal.core.config import (
    BELLE2_SELECTIONS,
    BES3_SELECTIONS,
    SINGLE_PHOTON_SELECTIONS,
    EnergyPoint,
    Scenario,
)
from dipole_portal.core.errors import InputError
from dipole_portal.samples.kinematics import PhaseSpaceRegion
from dipole_portal.selections import geometry as geo


@dataclass(frozen=True)
class PhotonColumns:
    """Photon kinematics as numpy arrays: CM energy (GeV), CM and lab polar angles (rad)."""

    E: np.ndarray
    theta_cm: np.ndarray
    theta_lab: np.ndarray

    @property
    def cos_cm(self) -> np.ndarray:
        return np.cos(self.theta_cm)


Cut = Callable[[PhotonColumns], np.ndarray]


@dataclass(frozen=True)
class Selection:
    """An ordered list of named cuts at one energy point; the event passes if every cut passes."""

    name: str
    sqrt_s: float
    beta: float
    cuts: tuple[tuple[str, Cut], ...]

    @property
    def cut_names(self) -> list[str]:
        return [n for n, _ in self.cuts]

    def masks(self, cols: PhotonColumns) -> dict[str, np.ndarray]:
        return {name: np.asarray(cut(cols), dtype=bool) for name, cut in self.cuts}

    def passed(self, cols: PhotonColumns) -> np.ndarray:
        mask = np.ones(np.shape(cols.E), dtype=bool)
        for _, cut in self.cuts:
            mask &= cut(cols)
        return mask

    def region(self, n_grid: int = 1500) -> PhaseSpaceRegion:
        """A CM (E, cos theta) box that contains every accepted photon (for nu nubar gamma generation).

        Found by scanning the cuts on a fine grid and widening the accepted bounding box by two cells,
        so the box is a safe superset; tests check that nothing outside it is accepted.
        """
        half = self.sqrt_s / 2
        E = np.linspace(0, half, n_grid + 1)[1:]
        cth = np.linspace(-1, 1, n_grid + 1)[1:-1]
        EE, CC = np.meshgrid(E, cth, indexing="ij")
        theta = np.arccos(CC)
        # the lab angle depends on the CM angle only: boost one row, not the whole grid
        theta_lab = np.broadcast_to(geo.cm_to_lab_theta_rad(theta[0], self.beta), theta.shape)
        ok = self.passed(PhotonColumns(EE, theta, theta_lab))
        if not ok.any():
            raise InputError(f"selection {self.name} at sqrt(s)={self.sqrt_s:g} GeV accepts no photon")
        ie = np.nonzero(ok.any(axis=1))[0]
        ic = np.nonzero(ok.any(axis=0))[0]
        dE, dc = half / n_grid, 2.0 / n_grid
        return PhaseSpaceRegion(
            E_min=max(E[ie[0]] - 2 * dE, 1e-4 * half),
            E_max=half,
            cos_min=max(cth[ic[0]] - 2 * dc, -1 + 1e-9),
            cos_max=min(cth[ic[-1]] + 2 * dc, 1 - 1e-9),
        ).validate(self.sqrt_s)


# -- cut builders ---------------------------------------------------------------------------------------------


def belle2_basic(theta_lab_deg: tuple[float, float]) -> Cut:
    lo, hi = np.radians(theta_lab_deg[0]), np.radians(theta_lab_deg[1])
    return lambda c: (c.theta_lab > lo) & (c.theta_lab < hi)


def ecl_gap_veto(gaps_deg: list[list[float]]) -> Cut:
    gaps = [(np.radians(a), np.radians(b)) for a, b in gaps_deg]

    def cut(c: PhotonColumns) -> np.ndarray:
        keep = np.ones(np.shape(c.theta_lab), dtype=bool)
        for a, b in gaps:
            keep &= ~((c.theta_lab >= a) & (c.theta_lab <= b))
        return keep

    return cut


def bbg(sqrt_s: float, t1_deg: float, t2_deg: float) -> Cut:
    return lambda c: c.E > geo.bbg_energy_GeV(c.theta_cm, sqrt_s, t1_deg, t2_deg)


def angular_window(coeffs: dict[str, tuple[float, float, float]]) -> Cut:
    def cut(c: PhotonColumns) -> np.ndarray:
        th = np.degrees(c.theta_lab)
        return (th > geo.quadratic_deg(c.E, *coeffs["min"])) & (th < geo.quadratic_deg(c.E, *coeffs["max"]))

    return cut


def bes3_basic(barrel: dict, endcap: dict) -> Cut:
    def cut(c: PhotonColumns) -> np.ndarray:
        a = np.abs(c.cos_cm)
        in_barrel = (a < barrel["cos_max"]) & (c.E > barrel["E_min_GeV"])
        in_endcap = (a > endcap["cos_min"]) & (a < endcap["cos_max"]) & (c.E > endcap["E_min_GeV"])
        return in_barrel | in_endcap

    return cut


def advanced(sqrt_s: float, cos_theta_b: float) -> Cut:
    return lambda c: c.E > geo.advanced_energy_GeV(c.theta_cm, sqrt_s, cos_theta_b)


def polar_acceptance(cos_max: float) -> Cut:
    """|cos theta| < cos_max in the CM frame (the energy frontier's symmetric beams: the lab frame)."""
    return lambda c: np.abs(c.cos_cm) < cos_max


def energy_threshold(e_min_GeV: float) -> Cut:
    return lambda c: c.E > e_min_GeV


def veto_pt_GeV(sqrt_s: float, electron_veto_mrad: float) -> float:
    """The photon pT above which the particles it recoils against cannot all escape below ``electron_veto_mrad``:
    sqrt(s) sin(theta_v) / (1 + sin(theta_v)) (an electron at theta_v taking the rest of the energy).

    >>> round(veto_pt_GeV(200.0, 25.0), 2)
    4.88
    """
    sin_v = math.sin(electron_veto_mrad * 1e-3)
    return sqrt_s * sin_v / (1 + sin_v)


def pt_threshold(pt_min_GeV: float) -> Cut:
    """E sin(theta) > pt_min: a photon that recoils against particles seen, not against ones lost along the beams."""
    return lambda c: c.E * np.sin(c.theta_cm) > pt_min_GeV


def recoil_veto(sqrt_s: float, window_GeV: tuple[float, float]) -> Cut:
    """Reject recoil masses M_rec = sqrt(s - 2 sqrt(s) E) inside ``window_GeV`` (the radiative return to the Z).

    >>> cut = recoil_veto(240.0, (80.0, 100.0))
    >>> e_return = (240.0**2 - 91.19**2) / (2 * 240.0)   # the photon of e+e- -> Z gamma
    >>> cut(PhotonColumns(np.array([e_return, 30.0]), np.zeros(2), np.zeros(2))).tolist()
    [False, True]
    """
    lo2, hi2 = window_GeV[0] ** 2, window_GeV[1] ** 2
    s = sqrt_s * sqrt_s

    def cut(c: PhotonColumns) -> np.ndarray:
        m2 = s - 2 * sqrt_s * c.E
        return ~((m2 > lo2) & (m2 < hi2))

    return cut


def build_selection(scenario: Scenario, point: EnergyPoint, veto_gaps: bool | None = None) -> Selection:
    """The cut list of a scenario at one energy point."""
    p = scenario.detector.params
    sel = scenario.selection
    beta = point.beams.beta
    cuts: list[tuple[str, Cut]] = []
    if sel in BELLE2_SELECTIONS:
        theta = tuple(p["theta_lab_deg"])
        cuts.append(("basic", belle2_basic(theta)))
        veto = p.get("veto_ecl_gaps", False) if veto_gaps is None else veto_gaps
        if veto:
            cuts.append(("ecl_gap_veto", ecl_gap_veto(p["ecl_gaps_lab_deg"])))
        if sel == "bbg":
            t1, t2 = geo.ecl_edges_cm_deg(beta, theta)
            cuts.append(("bbg", bbg(point.sqrt_s, t1, t2)))
        elif sel == "lowmass":
            cuts.append(("lowmass", angular_window(geo.LOWMASS)))
        elif sel == "highmass":
            cuts.append(("highmass", angular_window(geo.HIGHMASS)))
    elif sel in BES3_SELECTIONS:
        cuts.append(("basic", bes3_basic(p["barrel"], p["endcap"])))
        if sel == "advanced":
            cuts.append(("advanced", advanced(point.sqrt_s, p["cos_theta_b"])))
    elif sel in SINGLE_PHOTON_SELECTIONS:
        acc = p["single_photon"]
        cuts.append(("acceptance", polar_acceptance(float(acc["cos_max"]))))
        cuts.append(("energy", energy_threshold(float(acc["E_min_GeV"]))))
        if "electron_veto_mrad" in acc:
            cuts.append(("pt", pt_threshold(veto_pt_GeV(point.sqrt_s, float(acc["electron_veto_mrad"])))))
        lo, hi = p.get("recoil_veto_GeV", (0.0, 0.0))
        if sel == "single-photon-recoil" and point.sqrt_s > hi:  # below it there is no return to veto
            cuts.append(("recoil_veto", recoil_veto(point.sqrt_s, (float(lo), float(hi)))))
    else:  # pragma: no cover - the schema rejects other names
        raise InputError(f"selection {sel!r} unknown")
    if not math.isclose(point.beams.sqrt_s, point.sqrt_s, rel_tol=1e-4):
        raise InputError(f"energy point {point.sqrt_s} GeV contradicts its beams ({point.beams.sqrt_s:.4f} GeV)")
    return Selection(f"{scenario.name}:{sel}", point.sqrt_s, beta, tuple(cuts))
