"""SM background e+e- -> nu nubar gamma (three flavours) at sqrt(s) << M_Z (SPEC section 2).

d^2 sigma / (dE dz) = alpha G_F^2 K (s - 2 sqrt(s) E) ((sqrt(s) - E)^2 + E^2 z^2) / (12 pi^2 s E (1 - z^2))
in GeV^-3 (converted to pb/GeV here), E = E_gamma and z = cos(theta_gamma) in the CM frame, 0 < E < sqrt(s)/2.

>>> round(float(sigma0_pb(16.0)) * 1e3, 3)   # e+e- -> nu nubar at sqrt(s) = 4 GeV, in fb
37.749
>>> x = d2sigma_dE_dz_pb(1.0, 0.3, 4.0); y = factorised_d2sigma_dE_dz_pb(1.0, 0.3, 4.0)
>>> bool(abs(x / y - 1) < 1e-12)
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants


def sigma0_pb(s: ArrayLike, constants: PhysicsConstants = DEFAULT_CONSTANTS) -> np.ndarray:
    """sigma(e+e- -> nu nubar), three flavours: G_F^2 s K / (24 pi), in pb (s in GeV^2)."""
    s = np.asarray(s, dtype=float)
    return constants.G_F**2 * s * constants.k_factor / (24 * np.pi) * constants.gev2_to_pb


def d2sigma_dE_dz_pb(
    E: ArrayLike, z: ArrayLike, sqrt_s: float, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """Double-differential cross section in pb/GeV; zero outside 0 < E < sqrt(s)/2, |z| < 1."""
    E = np.asarray(E, dtype=float)
    z = np.asarray(z, dtype=float)
    s = sqrt_s**2
    inside = (E > 0) & (E < sqrt_s / 2) & (np.abs(z) < 1)
    Es = np.where(inside, E, 1.0)
    zs = np.where(inside, z, 0.0)
    num = constants.alpha * constants.G_F**2 * constants.k_factor * (s - 2 * sqrt_s * Es)
    num = num * ((sqrt_s - Es) ** 2 + Es**2 * zs**2)
    val = num / (12 * np.pi**2 * s * Es * (1 - zs**2)) * constants.gev2_to_pb
    return np.where(inside, val, 0.0)


def factorised_d2sigma_dE_dz_pb(
    E: ArrayLike, z: ArrayLike, sqrt_s: float, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """The same cross section written as radiator x sigma_0(s (1 - x)), x = 2E/sqrt(s) (a cross-check)."""
    E = np.asarray(E, dtype=float)
    z = np.asarray(z, dtype=float)
    x = 2 * E / sqrt_s
    radiator = 2 * constants.alpha / np.pi * ((1 - x / 2) ** 2 + x**2 * z**2 / 4) / (x * (1 - z**2))
    out: np.ndarray = radiator * sigma0_pb(sqrt_s**2 * (1 - x), constants) * 2 / sqrt_s
    return out
