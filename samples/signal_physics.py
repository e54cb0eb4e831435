"""Signal physics: e+e- -> gamma* -> N nubar (+ Nbar nu), N -> nu gamma (SPEC section 1, paper eqs. 2-7).

Energies and masses in GeV, the coupling d in GeV^-1, cross sections in pb, lengths in m.

>>> round(signal_xsec_pb(4.0, 0.0, 1e-5, n_modes=1) * 1e3, 5)   # alpha d^2 / 3 in fb
0.09471
>>> round(n_energy_GeV(4.0, 1.0), 4), round(n_momentum_GeV(4.0, 1.0), 4)
(2.125, 1.875)
>>> f"{float(decay_length_m(4.0, 1.0, 1e-5)):.4e}"    # 4 pi p / (d^2 m^4) * hbar c
'4.6494e-05'
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants


def n_energy_GeV(sqrt_s: float, mass: float) -> float:
    """E_N = (s + m^2) / (2 sqrt(s)) in the CM frame."""
    return (sqrt_s**2 + mass**2) / (2.0 * sqrt_s)


def n_momentum_GeV(sqrt_s: float, mass: float) -> float:
    """|p_N| = (s - m^2) / (2 sqrt(s)) in the CM frame."""
    return (sqrt_s**2 - mass**2) / (2.0 * sqrt_s)


def signal_dsigma_dz_pb(
    z: ArrayLike,
    sqrt_s: float,
    mass: float,
    d: float,
    n_modes: int = 2,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> np.ndarray:
    """dsigma/dz_N in pb (eq. 2) times the number of charge-conjugate modes, z_N = cos(theta_N)."""
    z = np.asarray(z, dtype=float)
    s, m2 = sqrt_s**2, mass**2
    val = d**2 * constants.alpha * (s - m2) ** 2 * ((1 - z**2) * s + (1 + z**2) * m2) / (4 * s**3)
    return n_modes * val * constants.gev2_to_pb


def signal_xsec_pb(
    sqrt_s: float, mass: float, d: float, n_modes: int = 2, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> float:
    """Total cross section in pb: eq. 3 per mode times ``n_modes`` (2 for a Dirac N: N nubar and Nbar nu)."""
    s, m2 = sqrt_s**2, mass**2
    per_mode = constants.alpha * d**2 * (s - m2) ** 2 * (s + 2 * m2) / (3 * s**3)
    return float(n_modes * per_mode * constants.gev2_to_pb)


def helicity_plus_fraction(sqrt_s: float, mass: float) -> float:
    """Fraction of N produced by the s(1 - z^2) term (helicity +1/2): s / (s + 2 m^2)."""
    s = sqrt_s**2
    return s / (s + 2 * mass**2)


def polarisation(z: ArrayLike, sqrt_s: float, mass: float) -> tuple[np.ndarray, np.ndarray]:
    """N polarisation (P_L, P_T) along its flight direction n and along theta_hat = dn/dtheta_N (SPEC section 1).

    The spin-summed |M|^2 of e+e- -> gamma* -> N nubar, N -> nu gamma is proportional to
    D(z) [1 - P_L cos(theta*) - P_T sin(theta*) cos(psi)], with D = (1 - z^2) s + (1 + z^2) m^2,
    P_L = [(1 - z^2) s - (1 + z^2) m^2] / D and P_T = 2 sqrt(s) m z sqrt(1 - z^2) / D; |P| <= 1 everywhere
    (D^2 (1 - |P|^2) = 4 s m^2 (1 - z^2)).

    >>> pl, pt = polarisation(0.5, 4.0, 1.0)   # D = 12 + 1.25: P_L = 10.75 / D, P_T = 8 * 0.5 * sqrt(0.75) / D
    >>> round(float(pl), 4), round(float(pt), 4)
    (0.8113, 0.2614)
    >>> bool(np.all(np.hypot(*polarisation(np.linspace(-1, 1, 101), 4.0, 3.9)) <= 1 + 1e-12))
    True
    """
    z = np.asarray(z, dtype=float)
    s, m2 = sqrt_s**2, mass**2
    a, b = (1 - z * z) * s, (1 + z * z) * m2
    D = a + b
    return (a - b) / D, 2 * sqrt_s * mass * z * np.sqrt(np.maximum(0.0, 1 - z * z)) / D


def angular_weight(
    model: str, z: ArrayLike, cos_star: ArrayLike, cos_psi: ArrayLike, sqrt_s: float, mass: float
) -> np.ndarray:
    """The joint density of (z, cos theta*, psi), up to a constant, for each decay model (SPEC section 1).

    ``exact``: D (1 - P_L c - P_T sin c cos psi); ``helicity``: D (1 - P_L c) (the P_T interference dropped);
    ``backward``: D (1 - c); ``forward``: D (1 + c); ``isotropic``: D. Every model has the same D(z), the
    production law of eq. 2, so the ratio of two models' weights reweights one sample to another event by event.
    """
    z = np.asarray(z, dtype=float)
    c = np.asarray(cos_star, dtype=float)
    s, m2 = sqrt_s**2, mass**2
    D: np.ndarray = (1 - z * z) * s + (1 + z * z) * m2
    law: np.ndarray
    if model == "isotropic":
        law = np.ones_like(c)
    elif model == "backward":
        law = 1 - c
    elif model == "forward":
        law = 1 + c
    elif model in ("helicity", "exact"):
        pl, pt = polarisation(z, sqrt_s, mass)
        law = 1 - pl * c
        if model == "exact":
            law = law - pt * np.sqrt(np.maximum(0.0, 1 - c * c)) * np.asarray(cos_psi, dtype=float)
    else:
        raise ValueError(f"decay model {model!r} unknown")
    weight: np.ndarray = D * law
    return weight


def decay_width_GeV(mass: float, d: ArrayLike) -> np.ndarray:
    """Gamma(N -> nu gamma) = d^2 m^3 / (4 pi) in GeV (eq. 4)."""
    return np.asarray(d, dtype=float) ** 2 * mass**3 / (4 * np.pi)


def decay_length_m(
    sqrt_s: ArrayLike, mass: float, d: ArrayLike, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """Lab decay length l_dec = 4 pi p_N / (d^2 m^4) in m (eq. 6), at the CM momentum of N (per energy when
    ``sqrt_s`` is an array)."""
    p_n = n_momentum_GeV(sqrt_s, mass)  # type: ignore[arg-type]  # elementwise on arrays too
    return decay_length_at_momentum_m(p_n, mass, d, constants)


def decay_length_at_momentum_m(
    p_GeV: ArrayLike, mass: float, d: ArrayLike, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> np.ndarray:
    """Decay length 4 pi p / (d^2 m^4) in m of an N of momentum ``p_GeV`` (width d^2 m^3 / 4 pi, eq. 4)."""
    d = np.asarray(d, dtype=float)
    length: np.ndarray = 4 * np.pi * np.asarray(p_GeV, dtype=float) / (d**2 * mass**4) * constants.hbarc_GeV_m
    return length


def decay_probability(
    sqrt_s: ArrayLike,
    mass: float,
    d: ArrayLike,
    length_m: ArrayLike,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> np.ndarray:
    """P_dec = 1 - exp(-l_D / l_dec) (eq. 5), computed with expm1 so that tiny values keep full precision."""
    ratio = np.asarray(length_m, dtype=float) / decay_length_m(sqrt_s, mass, d, constants)
    p_dec: np.ndarray = -np.expm1(-ratio)
    return p_dec
