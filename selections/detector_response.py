"""What the calorimeter sees of a photon (issue 16): where it meets the calorimeter, and how well it is measured.

The paper cuts on the photon's true direction and energy. A calorimeter measures a cluster: its position, seen
from the collision point, and its energy, each with a resolution. For an N decaying at a displaced vertex the
measured direction (collision point -> impact point on the calorimeter's inner surface) differs from the photon's
flight direction; the energy is what the crystals collect. :class:`DetectorResponse` turns true lab photons (and,
for the signal, the N decay point) into the measured photon columns the cuts act on.

Resolutions scale as 1/sqrt(E/GeV) from their 1 GeV values, the form the experiments quote:

>>> r = RegionResolution(energy_rel_at_1GeV=0.025, position_mm_at_1GeV=6.0)
>>> round(float(r.energy_rel(np.array([0.25]))[0]), 4), round(float(r.position_m(np.array([4.0]))[0]), 4)
(0.05, 0.003)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import vector

from dipole_portal.core.errors import InputError
from dipole_portal.selections.cuts import PhotonColumns
from dipole_portal.selections.decay_volume import TRUE_DIRECTION_EDGES, U_EDGES, DecayVolume, impact_points_m


@dataclass(frozen=True)
class RegionResolution:
    """One calorimeter region: relative energy resolution and position resolution (mm) at 1 GeV."""

    energy_rel_at_1GeV: float
    position_mm_at_1GeV: float

    def __post_init__(self) -> None:
        for name in ("energy_rel_at_1GeV", "position_mm_at_1GeV"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"calorimeter resolution {name} = {v!r}: expected a finite non-negative number")

    def energy_rel(self, E_GeV: np.ndarray) -> np.ndarray:
        """sigma_E / E at E (GeV)."""
        return self.energy_rel_at_1GeV / np.sqrt(np.maximum(E_GeV, 1e-6))

    def position_m(self, E_GeV: np.ndarray) -> np.ndarray:
        """Position resolution (m) on the calorimeter surface at E (GeV)."""
        return 1e-3 * self.position_mm_at_1GeV / np.sqrt(np.maximum(E_GeV, 1e-6))


@dataclass(frozen=True)
class CalorimeterResolution:
    """Barrel and endcap resolutions (a photon's region is where it meets the calorimeter's inner surface)."""

    barrel: RegionResolution
    endcap: RegionResolution

    @classmethod
    def from_config(cls, regions: dict[str, dict[str, float]]) -> CalorimeterResolution:
        """From ``Detector.calorimeter_resolution``: {"barrel": {...}, "endcap": {...}} at 1 GeV."""
        return cls(RegionResolution(**regions["barrel"]), RegionResolution(**regions["endcap"]))

    def max_energy_rel(self, E_GeV: float) -> float:
        return float(max(r.energy_rel(np.array([E_GeV]))[0] for r in (self.barrel, self.endcap)))

    def max_position_m(self, E_GeV: float) -> float:
        return float(max(r.position_m(np.array([E_GeV]))[0] for r in (self.barrel, self.endcap)))


def smear(
    impact_m: np.ndarray,
    on_barrel: np.ndarray,
    E_GeV: np.ndarray,
    resolution: CalorimeterResolution,
    normals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Impact points (n, 3) and lab energies smeared with ``resolution``, from standard normals (n, 2): along z on
    the barrel, radially on an endcap face (the polar angle is what the cuts use), and E by sigma_E."""

    def pick(f):
        return np.where(on_barrel, f(resolution.barrel), f(resolution.endcap))

    e_rel = pick(lambda r: r.energy_rel(E_GeV))
    pos = pick(lambda r: r.position_m(E_GeV))
    out = np.array(impact_m, dtype=float, copy=True)
    out[:, 2] += np.where(on_barrel, pos * normals[:, 0], 0.0)
    rho = np.hypot(out[:, 0], out[:, 1])
    radial = np.maximum(rho + pos * normals[:, 0], 0.0) / np.where(rho > 0, rho, 1.0)
    scale = np.where(on_barrel | (rho == 0), 1.0, radial)
    out[:, :2] *= scale[:, None]
    return out, np.maximum(E_GeV * (1.0 + e_rel * normals[:, 1]), 0.0)


def measured_columns(E_lab_GeV: np.ndarray, direction: np.ndarray, beta: float) -> PhotonColumns:
    """Photon columns for the cuts from a lab energy and a measured lab direction (n, 3): the CM energy and angle
    follow from vector's boost by -beta, as the experiment would compute them."""
    unit = direction / np.linalg.norm(direction, axis=1)[:, None]
    lab: Any = vector.array(
        {"px": E_lab_GeV * unit[:, 0], "py": E_lab_GeV * unit[:, 1], "pz": E_lab_GeV * unit[:, 2], "E": E_lab_GeV}
    )
    cm = lab.boostZ(beta=-beta) if beta else lab
    return PhotonColumns(
        np.asarray(cm.E, dtype=float), np.asarray(cm.theta, dtype=float), np.arccos(np.clip(unit[:, 2], -1.0, 1.0))
    )


@dataclass(frozen=True)
class DetectorResponse:
    """The realistic detector's steps for one detector: the decay volume, whether the cuts see the measured
    direction, and the calorimeter resolution (None: perfect). ``seed`` makes the smearing reproducible."""

    volume: DecayVolume
    measured_direction: bool = False
    resolution: CalorimeterResolution | None = None
    seed: int = 0

    @property
    def u_edges(self) -> tuple[float, ...]:
        """Decay-position intervals (fractions of the path to the calorimeter face) the cuts are evaluated in."""
        return U_EDGES if self.measured_direction else TRUE_DIRECTION_EDGES

    def photon_columns(
        self,
        g: np.ndarray,
        E_lab: np.ndarray,
        beta: float,
        normals: np.ndarray | None,
        n_dir: np.ndarray | None = None,
        *,
        path_m: np.ndarray | None = None,
        u: float = 0.0,
    ) -> PhotonColumns:
        """Measured columns of lab photons (unit directions ``g`` (n, 3), energies (n,)) from an N decay at
        u x ``path_m`` along ``n_dir`` (signal) or from the collision point (``n_dir`` None)."""
        if n_dir is None or not self.measured_direction:
            n_dir, path_m, u = g, np.zeros(len(g)), 0.0
        if path_m is None:
            raise ValueError("photon_columns: a decay direction needs its path lengths (path_m)")
        impact, barrel = impact_points_m(self.volume, n_dir, path_m, u, g)
        if self.resolution is None:
            return measured_columns(E_lab, impact, beta)
        if normals is None:
            raise ValueError("photon_columns: smearing needs the standard normal draws (normals)")
        impact, E = smear(impact, barrel, E_lab, self.resolution, normals)
        return measured_columns(E, impact, beta)
