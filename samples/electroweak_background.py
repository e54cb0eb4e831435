"""SM e+e- -> nu nubar (gamma) at any energy: Z s-channel for three flavours, W t-channel for nu_e, ISR as a radiator.

Born, massless fermions, improved Born in the G_F scheme (both propagators normalised to G_F at zero momentum, so
the low-energy limit is SPEC section 2's four-fermion interaction). With z = cos(theta) of the neutrino to the e-
beam, t = -s (1 - z) / 2 and, per flavour and electron helicity,

    A_L = g_L Z(s) + [nu_e] W(t),  A_R = g_R Z(s),
    Z(s) = M_Z^2 / (M_Z^2 - s - i s Gamma_Z / M_Z),  W(t) = M_W^2 / (M_W^2 - t),
    dsigma / dz = (G_F^2 s / (16 pi)) 4 [w_L |A_L|^2 (1 + z)^2 + w_R |A_R|^2 (1 - z)^2],

w_L, w_R the beams' helicity weights (1/4 each unpolarised). At s << M_W^2 the three flavours give
G_F^2 s K / (24 pi), K = 3 - 4 s_W^2 + 24 s_W^4; at the Z pole nu_mu and nu_tau give the Breit-Wigner
12 pi Gamma_ee Gamma_nunu / (M_Z^2 Gamma_Z^2) exactly, and nu_e adds its W term (W-Z interference vanishes there).

The photon: initial-state radiation in the radiator (structure-function) form of SPEC section 2, exact at O(alpha)
for a contact interaction, here with the Born cross section at the reduced energy s' = s (1 - x), x = 2 E / sqrt(s):

    d^2 sigma / (dx dz) = (2 alpha / pi) [(1 - x/2)^2 + x^2 z^2 / 4] / (x (1 - z^2)) sigma_0(s (1 - x)).

It brings the radiative return to the Z: above the pole the photon spectrum peaks at E = (s - M_Z^2) / (2 sqrt(s)).
It neglects: photon emission off the W (the nu_e t-channel; some per cent of the nu_e part at LEP2 and above),
interference of initial- and final-state-like terms, O(alpha^2) and exponentiated soft radiation (the radiator is
first order: near the Z peak and for soft photons higher orders change the rate by several per cent), the running
of alpha, and beamstrahlung. Energies in GeV, cross sections in pb.

>>> round(float(nunu_born_xsec_pb(16.0)) * 1e3, 2)   # sqrt(s) = 4 GeV, three flavours, fb: the four-fermion 37.75
37.73
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from dipole_portal.samples.electroweak_physics import DEFAULT_EW, W_BOSON, Electroweak, WBoson, ZBoson, z_couplings


class Flavour(StrEnum):
    E = "e"
    MU = "mu"
    TAU = "tau"


ALL_FLAVOURS = (Flavour.E, Flavour.MU, Flavour.TAU)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)


def z_propagator(s: ArrayLike, z_boson: ZBoson) -> np.ndarray:
    """Z(s) = M_Z^2 / (M_Z^2 - s - i s Gamma_Z / M_Z): the s-dependent width (LEP's), so Z(0) = 1 exactly."""
    m2 = z_boson.mass_GeV**2
    s = np.asarray(s, dtype=float)
    out: np.ndarray = m2 / (m2 - s - 1j * s * z_boson.width_GeV / z_boson.mass_GeV)
    return out


def w_moments(s: ArrayLike, w_boson: WBoson = W_BOSON) -> tuple[np.ndarray, np.ndarray]:
    """(I1, I2) = integrals over z in [-1, 1] of (1 + z)^2 W(t) and (1 + z)^2 W(t)^2 (8/3 each at s = 0).

    With a = 2 M_W^2 / s and b = a + 2: I1 = a [b^2 ln(b/a) - 2 b (b - a) + (b^2 - a^2) / 2] and
    I2 = a^2 [b^2 (1/a - 1/b) - 2 b ln(b/a) + b - a], used for a < 1; for a >= 1 (the closed forms cancel) a 64-point
    Gauss-Legendre rule, exact to rounding there (W's pole lies a beyond the interval).

    >>> [round(float(v[0]), 6) for v in w_moments(1e-6)]
    [2.666667, 2.666667]
    """
    s = np.asarray(s, dtype=float).ravel()  # flat: the callers reshape
    a = 2 * w_boson.mass_GeV**2 / np.maximum(s, 1e-300)
    small = a < 1
    a_s = np.where(small, a, 0.5)
    b = a_s + 2
    log = np.log(b / a_s)
    i1_closed = a_s * (b * b * log - 2 * b * (b - a_s) + (b * b - a_s * a_s) / 2)
    i2_closed = a_s**2 * (b * b * (1 / a_s - 1 / b) - 2 * b * log + b - a_s)
    w = a[:, None] / (a[:, None] + 1 - _GL_NODES[None, :])
    one_plus_z2 = (1 + _GL_NODES) ** 2
    i1_rule = np.sum(_GL_WEIGHTS * one_plus_z2 * w, axis=1)
    i2_rule = np.sum(_GL_WEIGHTS * one_plus_z2 * w * w, axis=1)
    return np.where(small, i1_closed, i1_rule), np.where(small, i2_closed, i2_rule)


def nunu_born_dsigma_dz_pb(
    z: ArrayLike, sqrt_s: float, ew: Electroweak = DEFAULT_EW, flavours: Sequence[Flavour] = ALL_FLAVOURS
) -> np.ndarray:
    """dsigma/dz (pb) of e+e- -> nu nubar, summed over ``flavours``, z = cos(theta_nu) to the e- beam."""
    z = np.asarray(z, dtype=float)
    s = sqrt_s**2
    g_l, g_r = z_couplings(ew.constants)
    w_l, w_r = ew.pol.helicity_weights()
    zs = complex(z_propagator(s, ew.z_boson))
    w_t = ew.w_boson.mass_GeV**2 / (ew.w_boson.mass_GeV**2 + s * (1 - z) / 2)
    total = np.zeros_like(z)
    for flavour in flavours:
        a_l = g_l * zs + (w_t if flavour is Flavour.E else 0.0)
        total = total + 4 * (w_l * np.abs(a_l) ** 2 * (1 + z) ** 2 + w_r * abs(g_r * zs) ** 2 * (1 - z) ** 2)
    out: np.ndarray = ew.constants.G_F**2 * s / (16 * math.pi) * total * ew.constants.gev2_to_pb
    return out


def nunu_born_xsec_pb(
    s: ArrayLike, ew: Electroweak = DEFAULT_EW, flavours: Sequence[Flavour] = ALL_FLAVOURS
) -> np.ndarray:
    """sigma_0(s) in pb (s in GeV^2, any shape): the integral of :func:`nunu_born_dsigma_dz_pb` in closed form."""
    s_arr = np.asarray(s, dtype=float)
    g_l, g_r = z_couplings(ew.constants)
    w_l, w_r = ew.pol.helicity_weights()
    zs = z_propagator(s_arr, ew.z_boson)
    i1, i2 = (np.reshape(v, s_arr.shape) for v in w_moments(s_arr, ew.w_boson))
    per_flavour = 8 / 3 * (w_l * g_l**2 + w_r * g_r**2) * np.abs(zs) ** 2
    n_e = sum(1 for f in flavours if f is Flavour.E)
    total = len(flavours) * per_flavour + n_e * w_l * (2 * g_l * zs.real * i1 + i2)
    out: np.ndarray = ew.constants.G_F**2 * s_arr / (16 * math.pi) * 4 * total * ew.constants.gev2_to_pb
    return out


def nunugamma_d2sigma_dE_dz_pb(
    E: ArrayLike, z: ArrayLike, sqrt_s: float, ew: Electroweak = DEFAULT_EW, flavours: Sequence[Flavour] = ALL_FLAVOURS
) -> np.ndarray:
    """d^2 sigma / (dE dz) in pb/GeV of e+e- -> nu nubar gamma (radiator x sigma_0(s (1 - x))), photon energy E and
    z = cos(theta_gamma) in the CM frame; zero outside 0 < E < sqrt(s)/2, |z| < 1."""
    E = np.asarray(E, dtype=float)
    z = np.asarray(z, dtype=float)
    inside = (E > 0) & (E < sqrt_s / 2) & (np.abs(z) < 1)
    x = 2 * np.where(inside, E, 1.0) / sqrt_s
    zz = np.where(inside, z, 0.0)
    alpha = ew.constants.alpha
    radiator = 2 * alpha / math.pi * ((1 - x / 2) ** 2 + x * x * zz * zz / 4) / (x * (1 - zz * zz))
    val = radiator * nunu_born_xsec_pb(sqrt_s**2 * (1 - x), ew, flavours) * 2 / sqrt_s
    out: np.ndarray = np.where(inside, val, 0.0)
    return out
