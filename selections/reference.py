"""Deterministic reference integrals (no Monte Carlo) to validate the MC efficiencies and backgrounds.

The signal efficiency is a midpoint-rule quadrature over the analytic joint density of the N polar angle
(eq. 2), the rest-frame photon angle and its azimuth about the N direction (the decay model's law).
The background is a midpoint quadrature of d^2 sigma/(dE dz) in (ln E, artanh z) over a box much wider than
any selection. Both apply the same cut functions as the MC path; lab angles come from vector's boosts.
"""

from __future__ import annotations

import numpy as np

from dipole_portal.samples.nunugamma_physics import d2sigma_dE_dz_pb
from dipole_portal.samples.signal_physics import angular_weight, n_energy_GeV, n_momentum_GeV
from dipole_portal.selections import geometry as geo
from dipole_portal.selections.cuts import PhotonColumns, Selection


def _midpoints(n: int, lo: float = -1.0, hi: float = 1.0) -> tuple[np.ndarray, float]:
    h = (hi - lo) / n
    return lo + h * (np.arange(n) + 0.5), h


def signal_efficiency(
    selection: Selection, mass: float, decay_model: str, n: tuple[int, int, int] = (300, 300, 48)
) -> float:
    """Fraction of signal photons passing ``selection`` (eps_cuts), by 3D quadrature.

    The integrand is the model's joint density of (z = cos theta_N, cos theta*, psi)
    (``samples.signal_physics.angular_weight``), normalised on the same grid.
    """
    sqrt_s = selection.sqrt_s
    E_N, p_N = n_energy_GeV(sqrt_s, mass), n_momentum_GeV(sqrt_s, mass)
    z, _ = _midpoints(n[0])
    c, _ = _midpoints(n[1])
    psi, _ = _midpoints(n[2], 0.0, 2 * np.pi)
    E = 0.5 * (E_N + p_N * c)
    p_par = 0.5 * (p_N + E_N * c)
    p_perp = 0.5 * mass * np.sqrt(1 - c**2)
    passed = total = 0.0
    for iz in range(len(z)):
        sin_t = np.sqrt(1 - z[iz] ** 2)
        w = angular_weight(decay_model, z[iz], c[:, None], np.cos(psi)[None, :], sqrt_s, mass)
        pz = p_par[:, None] * z[iz] - p_perp[:, None] * np.cos(psi)[None, :] * sin_t
        w = np.broadcast_to(w, pz.shape)
        EE = np.broadcast_to(E[:, None], pz.shape)
        theta_cm = np.arccos(np.clip(pz / EE, -1, 1))
        ok = selection.passed(PhotonColumns(EE, theta_cm, geo.cm_to_lab_theta_rad(theta_cm, selection.beta)))
        passed += float(np.sum(w * ok))
        total += float(np.sum(w))
    return passed / total


def background_xsec_pb(selection: Selection, n: int = 2000, e_frac_min: float = 1e-3, cos_max: float = 0.9999) -> float:
    """Accepted nu nubar gamma cross section (pb) by 2D quadrature over a wide box."""
    sqrt_s = selection.sqrt_s
    lo_l, hi_l = np.log(e_frac_min * sqrt_s), np.log(sqrt_s / 2)
    u, hu = _midpoints(n, lo_l, hi_l)
    a, ha = _midpoints(n, -np.arctanh(cos_max), np.arctanh(cos_max))
    E = np.exp(u)[:, None]
    zz = np.tanh(a)[None, :]
    g = d2sigma_dE_dz_pb(E, zz, sqrt_s) * E * (1 - zz**2)
    EE, ZZ = np.broadcast_arrays(E, zz)
    theta = np.arccos(ZZ)
    ok = selection.passed(PhotonColumns(EE, theta, geo.cm_to_lab_theta_rad(theta, selection.beta)))
    return float(np.sum(g * ok) * hu * ha)
