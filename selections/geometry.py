"""Detector geometry in the CM frame, computed with vector's boosts (no hand-written boost formulas here).

>>> t1, t2 = ecl_edges_cm_deg(3 / 11, (12.4, 155.1))
>>> round(t1, 2), round(t2, 2)
(16.36, 161.05)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import vector


def lab_to_cm_theta_deg(theta_lab_deg: np.ndarray | float, beta: float) -> np.ndarray:
    """CM polar angle (deg) of a massless photon seen at ``theta_lab_deg`` in the lab (CM velocity beta).

    The CM frame moves with +beta along z in the lab, so the lab photon is boosted by -beta.
    """
    th = np.radians(np.atleast_1d(np.asarray(theta_lab_deg, dtype=float)))
    photon: Any = vector.array({"px": np.sin(th), "py": np.zeros_like(th), "pz": np.cos(th), "E": np.ones_like(th)})
    return np.degrees(np.asarray(photon.boostZ(beta=-beta).theta))


def cm_to_lab_theta_deg(theta_cm_deg: np.ndarray | float, beta: float) -> np.ndarray:
    """Lab polar angle (deg) of a massless photon at ``theta_cm_deg`` in the CM frame (boost by +beta)."""
    return lab_to_cm_theta_deg(theta_cm_deg, -beta)


def cm_to_lab_theta_rad(theta_cm: np.ndarray, beta: float) -> np.ndarray:
    """Lab polar angle (rad) of photons at CM angles ``theta_cm`` (rad, any shape); the identity when beta = 0."""
    theta_cm = np.asarray(theta_cm, dtype=float)
    if beta == 0.0:
        return theta_cm
    return np.radians(cm_to_lab_theta_deg(np.degrees(theta_cm.ravel()), beta)).reshape(theta_cm.shape)


def ecl_edges_cm_deg(beta: float, theta_lab_deg: tuple[float, float]) -> tuple[float, float]:
    """CM images (deg) of the calorimeter's lab-frame polar edges."""
    lo, hi = lab_to_cm_theta_deg(np.asarray(theta_lab_deg), beta)
    return float(lo), float(hi)


def bbg_energy_GeV(theta_cm: np.ndarray, sqrt_s: float, t1_deg: float, t2_deg: float) -> np.ndarray:
    """E_m(theta) of eq. 8 (all angles CM, theta in rad), capped at sqrt(s)/2.

    Outside (t1, t2), or where the denominator is not positive, E_m is sqrt(s)/2 (nothing passes there).
    """
    t1, t2 = np.radians(t1_deg), np.radians(t2_deg)
    A = (np.sin(t1) - np.sin(t2)) / (np.cos(t1) - np.cos(t2))
    theta = np.asarray(theta_cm, dtype=float)
    denom = A * (np.cos(t1) - np.cos(theta)) - (np.sin(theta) + np.sin(t1))
    num = sqrt_s * (A * np.cos(t1) - np.sin(t1))
    with np.errstate(divide="ignore", invalid="ignore"):
        em = np.where(denom != 0, num / denom, np.inf)
    em = np.where((em > 0) & np.isfinite(em), em, np.inf)
    return np.minimum(em, sqrt_s / 2)


def quadratic_deg(E: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """a E^2 + b E + c in degrees (E in GeV): the fitted Belle II angular windows (eqs. 10-13)."""
    return (a * E + b) * E + c


LOWMASS = {"min": (5.399, -58.82, 195.71), "max": (-7.982, 87.77, -120.6)}
HIGHMASS = {"min": (3.3133, -33.58, 108.79), "max": (-5.9133, 54.119, -13.781)}


def advanced_energy_GeV(theta: np.ndarray, sqrt_s: float, cos_theta_b: float) -> np.ndarray:
    """E_b(theta) = sqrt(s) / (1 + sin(theta)/sin(theta_b)) of eq. 14 (theta in rad)."""
    sin_b = np.sqrt(1.0 - cos_theta_b**2)
    return sqrt_s / (1.0 + np.sin(np.asarray(theta, dtype=float)) / sin_b)
