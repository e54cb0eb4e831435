"""The electroweak dipole portal: e+e- -> (gamma*, Z*) -> N nubar (+ Nbar nu) with polarised beams; N and Z decays.

    L = d_gamma Nbar sigma^{mu nu} P_L nu F_{mu nu} + d_Z Nbar sigma^{mu nu} P_L nu Z_{mu nu} + h.c.

Conventions: the fermions couple through D_mu = d_mu - i e Q A_mu - i g_Z (T3 - Q s_W^2) Z_mu, with
A = s_W W3 + c_W B and Z = c_W W3 - s_W B. The photon's coupling is e = sqrt(4 pi alpha) with the paper's
alpha = 1/137.036 (the running to alpha(s), +7% in e^2 at the Z pole, is not applied); the Z's is in the G_F scheme,
g_Z^2 = e^2 / (s_W^2 c_W^2) = 4 sqrt(2) G_F M_Z^2 (0.5486, against 0.5159 from alpha(0)), so that the Z couples to
the signal as it does to the nu nubar gamma background, whose low-energy limit is G_F's four-fermion interaction.
A dipole of the hypercharge field alone (``hypercharge``) then gives d_Z = -tan(theta_W) d_gamma, one of the SU(2)
field alone (``weak-isospin``) d_Z = +cot(theta_W) d_gamma; ``photon`` is the paper's d_Z = 0. Energies and
masses in GeV, d in GeV^-1, cross sections in pb, widths in GeV.
The Z propagator has the s-dependent width (LEP's): 1 / (s - M_Z^2 + i s Gamma_Z / M_Z).

For one electron helicity h (massless beams: e-_L e+_R or e-_R e+_L) the photon and Z amplitudes have the same
Lorentz structure, so the amplitude is the photon-only one with d_gamma replaced by the complex

    d_h(s) = d_gamma - d_Z (g_Z / e) g_h s / (s - M_Z^2 + i s Gamma_Z / M_Z),  g_L = -1/2 + s_W^2,  g_R = s_W^2,

and each helicity has its own angular law. With z = cos(theta_N) to the e- beam:

    dsigma_h / dz = n_modes alpha |d_h|^2 (s - m^2)^2 g_h(z) / (2 s^3)  (100% polarised beams),
    g_L = (1 - z^2) s + m^2 (1 + z)^2,  g_R = (1 - z^2) s + m^2 (1 - z)^2,

the s (1 - z^2) term from N of helicity +1/2, the m^2 term from helicity -1/2. Beams of polarisations P_e-, P_e+
(+1: right-handed) weight them by w_L = (1 - P_e-)(1 + P_e+) / 4 and w_R = (1 + P_e-)(1 - P_e+) / 4; unpolarised
photon-only beams give the paper's eq. 2: (g_L + g_R) / 2 = (1 - z^2) s + (1 + z^2) m^2.

>>> ew = ElectroweakDipole(1e-5)   # photon only: eq. 3 (alpha d^2 / 3 per mode at m = 0), in fb
>>> round(production_xsec_pb(4.0, 0.0, ew, n_modes=1) * 1e3, 5)
0.09471
>>> round(dz_over_dgamma(Operator.HYPERCHARGE), 4), round(dz_over_dgamma(Operator.WEAK_ISOSPIN), 4)
(-0.5484, 1.8235)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.core.options import Operator


@dataclass(frozen=True)
class ZBoson:
    """Z mass and total width in GeV (PDG 2024: 91.1876 +- 0.0021, 2.4955 +- 0.0023)."""

    mass_GeV: float = 91.1876
    width_GeV: float = 2.4955


Z_BOSON = ZBoson()


def dz_over_dgamma(
    operator: Operator, constants: PhysicsConstants = DEFAULT_CONSTANTS, ratio: float | None = None
) -> float:
    """d_Z / d_gamma of an operator: 0, -tan(theta_W), +cot(theta_W), or ``ratio`` for ``free``."""
    if (operator is Operator.FREE) != (ratio is not None):
        raise InputError(f"operator {operator.value}: a ratio d_Z/d_gamma is given with 'free' and only with it")
    tan_w = math.sqrt(constants.sin2_theta_w / (1 - constants.sin2_theta_w))
    return {Operator.PHOTON: 0.0, Operator.HYPERCHARGE: -tan_w, Operator.WEAK_ISOSPIN: 1 / tan_w}.get(
        operator, ratio if ratio is not None else 0.0
    )


@dataclass(frozen=True)
class ElectroweakDipole:
    """The couplings d_gamma and d_Z in GeV^-1 (:meth:`of_operator` for an operator's ratio)."""

    d_gamma: float
    d_z: float = 0.0

    @classmethod
    def of_operator(
        cls,
        d_gamma: float,
        operator: Operator,
        constants: PhysicsConstants = DEFAULT_CONSTANTS,
        ratio: float | None = None,
    ) -> ElectroweakDipole:
        """d_gamma and the d_Z its operator implies.

        >>> ElectroweakDipole.of_operator(1e-5, Operator.PHOTON)
        ElectroweakDipole(d_gamma=1e-05, d_z=0.0)
        """
        return cls(d_gamma, dz_over_dgamma(operator, constants, ratio) * d_gamma)


@dataclass(frozen=True)
class BeamPolarisation:
    """Longitudinal polarisations of the e- and e+ beams in [-1, 1] (+1: right-handed)."""

    electron: float = 0.0
    positron: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("electron", self.electron), ("positron", self.positron)):
            if not (math.isfinite(value) and -1 <= value <= 1):
                raise InputError(f"beam polarisation {name}={value!r}: expected a number in [-1, 1]")

    def helicity_weights(self) -> tuple[float, float]:
        """(w_L, w_R): the shares of e-_L e+_R and e-_R e+_L collisions; 1/4 each unpolarised.

        >>> BeamPolarisation(-0.8, 0.3).helicity_weights()
        (0.585, 0.035)
        """
        p_e, p_p = self.electron, self.positron
        return round((1 - p_e) * (1 + p_p) / 4, 15), round((1 + p_e) * (1 - p_p) / 4, 15)


UNPOLARISED = BeamPolarisation()


@dataclass(frozen=True)
class WBoson:
    """W mass in GeV (PDG 2024: 80.3692 +- 0.0133)."""

    mass_GeV: float = 80.3692


W_BOSON = WBoson()


@dataclass(frozen=True)
class Electroweak:
    """A collision's electroweak inputs: the beams' polarisation, the constants and the Z and W bosons."""

    pol: BeamPolarisation = UNPOLARISED
    constants: PhysicsConstants = DEFAULT_CONSTANTS
    z_boson: ZBoson = Z_BOSON
    w_boson: WBoson = W_BOSON


DEFAULT_EW = Electroweak()


def z_couplings(constants: PhysicsConstants = DEFAULT_CONSTANTS) -> tuple[float, float]:
    """The electron's (g_L, g_R) = (T3 - Q s_W^2) for each chirality: (-1/2 + s_W^2, s_W^2)."""
    s2 = constants.sin2_theta_w
    return -0.5 + s2, s2


def z_coupling_squared(constants: PhysicsConstants = DEFAULT_CONSTANTS, z_boson: ZBoson = Z_BOSON) -> float:
    """g_Z^2 = 4 sqrt(2) G_F M_Z^2 (the G_F scheme; e^2 / (s_W^2 c_W^2) at tree level).

    >>> round(z_coupling_squared(), 4)
    0.5486
    """
    return 4 * math.sqrt(2) * constants.G_F * z_boson.mass_GeV**2


def effective_couplings(sqrt_s: float, dipole: ElectroweakDipole, ew: Electroweak = DEFAULT_EW) -> np.ndarray:
    """(d_L, d_R): the complex couplings that replace d_gamma for each electron helicity (module docstring)."""
    s, mz, gz = sqrt_s**2, ew.z_boson.mass_GeV, ew.z_boson.width_GeV
    gz_over_e = math.sqrt(z_coupling_squared(ew.constants, ew.z_boson) / (4 * math.pi * ew.constants.alpha))
    propagator_ratio = s / complex(s - mz * mz, s * gz / mz)
    couplings = z_couplings(ew.constants)
    return np.array([dipole.d_gamma - dipole.d_z * gz_over_e * g * propagator_ratio for g in couplings])


def helicity_shapes(z: ArrayLike, sqrt_s: float, mass: float) -> tuple[np.ndarray, np.ndarray]:
    """(g_L(z), g_R(z)) in GeV^2: the angular law of N for e-_L and e-_R beams (module docstring)."""
    z = np.asarray(z, dtype=float)
    s, m2 = sqrt_s**2, mass**2
    return (1 - z * z) * s + m2 * (1 + z) ** 2, (1 - z * z) * s + m2 * (1 - z) ** 2


def _helicity_rates(sqrt_s: float, dipole: ElectroweakDipole, ew: Electroweak) -> np.ndarray:
    """2 w_h |d_h|^2 for h = L, R (GeV^-2): each helicity's share of the rate, in units of the photon-only d^2."""
    d_h = effective_couplings(sqrt_s, dipole, ew)
    rates: np.ndarray = 2 * np.asarray(ew.pol.helicity_weights()) * np.abs(d_h) ** 2
    return rates


def production_dsigma_dz_pb(
    z: ArrayLike,
    sqrt_s: float,
    mass: float,
    dipole: ElectroweakDipole,
    ew: Electroweak = DEFAULT_EW,
    n_modes: int = 2,
) -> np.ndarray:
    """dsigma/dz_N in pb for ``n_modes`` charge-conjugate modes, z_N = cos(theta_N) to the e- beam."""
    s, m2 = sqrt_s**2, mass**2
    rates = _helicity_rates(sqrt_s, dipole, ew)
    g_l, g_r = helicity_shapes(z, sqrt_s, mass)
    val = n_modes * ew.constants.alpha * (s - m2) ** 2 * (rates[0] * g_l + rates[1] * g_r) / (4 * s**3)
    out: np.ndarray = val * ew.constants.gev2_to_pb
    return out


def production_xsec_pb(
    sqrt_s: float,
    mass: float,
    dipole: ElectroweakDipole,
    ew: Electroweak = DEFAULT_EW,
    n_modes: int = 2,
) -> float:
    """Total cross section in pb: n_modes alpha (s - m^2)^2 (s + 2 m^2) / (3 s^3) sum_h 2 w_h |d_h|^2
    (both shapes integrate to 4 (s + 2 m^2) / 3)."""
    if not 0 <= mass < sqrt_s:
        return 0.0
    s, m2 = sqrt_s**2, mass**2
    rate = float(_helicity_rates(sqrt_s, dipole, ew).sum())
    c = ew.constants
    return float(n_modes * c.alpha * rate * (s - m2) ** 2 * (s + 2 * m2) / (3 * s**3) * c.gev2_to_pb)


def n_polarisation(
    z: ArrayLike,
    sqrt_s: float,
    mass: float,
    dipole: ElectroweakDipole,
    ew: Electroweak = DEFAULT_EW,
) -> tuple[np.ndarray, np.ndarray]:
    """N polarisation (P_L, P_T) along its flight direction and along d n / d theta_N, from the same amplitudes.

    Each helicity h contributes incoherently with rate r_h = 2 w_h |d_h|^2: P_L D = sum_h r_h [(1 - z^2) s -
    m^2 (1 +- z)^2] and P_T D = sum_h r_h (+-) 2 sqrt(s) m sqrt(1 - z^2) (1 +- z), D = sum_h r_h g_h(z) (upper
    signs for e-_L). Photon-only unpolarised beams give ``signal_physics.polarisation`` (P_T D = 2 sqrt(s) m z
    sqrt(1 - z^2)); the decay law is then D [1 - P_L cos(theta*) - P_T sin(theta*) cos(psi)] as today.
    """
    z = np.asarray(z, dtype=float)
    s, m2 = sqrt_s**2, mass**2
    r_l, r_r = _helicity_rates(sqrt_s, dipole, ew)
    g_l, g_r = helicity_shapes(z, sqrt_s, mass)
    sin_n = np.sqrt(np.maximum(0.0, 1 - z * z))
    longitudinal = r_l * ((1 - z * z) * s - m2 * (1 + z) ** 2) + r_r * ((1 - z * z) * s - m2 * (1 - z) ** 2)
    transverse = 2 * sqrt_s * mass * sin_n * (r_l * (1 + z) - r_r * (1 - z))
    total = r_l * g_l + r_r * g_r
    return longitudinal / total, transverse / total


def event_weights(
    angles: tuple[ArrayLike, ArrayLike, ArrayLike],
    sqrt_s: float,
    mass: float,
    dipole: ElectroweakDipole,
    ew: Electroweak = DEFAULT_EW,
) -> np.ndarray:
    """Weights that turn a photon-only, unpolarised sample with isotropic decays (the samples ``run`` makes) into
    this dipole's production and exact decay law: the electroweak sigma is then the sample's sigma times the
    weights' mean, which is sum_h 2 w_h |d_h|^2 / d_ref^2 in expectation (all three shapes integrate alike).

    ``angles`` = (z, cos theta*, cos psi) of each event (``samples.reweight.decay_angles``). The weight is
    [D_ew (1 - P_L cos theta* - P_T sin theta* cos psi)] / D_photon with D_ew = sum_h r_h g_h(z) (``n_polarisation``)
    and D_photon = (g_L + g_R) / 2, divided by sum_h r_h: mean 1 for a photon-only dipole of any strength, and in
    [0, 4] for any dipole and polarisation (g_h <= 2 D_photon, |P| <= 1).
    """
    z, cos_star, cos_psi = (np.asarray(a, dtype=float) for a in angles)
    rates = _helicity_rates(sqrt_s, dipole, ew)
    p_l, p_t = n_polarisation(z, sqrt_s, mass, dipole, ew)
    g_l, g_r = helicity_shapes(z, sqrt_s, mass)
    sin_star = np.sqrt(np.maximum(0.0, 1 - cos_star * cos_star))
    law = (rates[0] * g_l + rates[1] * g_r) * (1 - p_l * cos_star - p_t * sin_star * cos_psi)
    weights: np.ndarray = law / ((g_l + g_r) / 2) / rates.sum()
    return weights


def width_nu_gamma_GeV(mass: float, dipole: ElectroweakDipole) -> float:
    """Gamma(N -> nu gamma) = d_gamma^2 m^3 / (4 pi) (Dirac N; paper eq. 4)."""
    return dipole.d_gamma**2 * mass**3 / (4 * math.pi)


def width_nu_z_GeV(mass: float, dipole: ElectroweakDipole, z_boson: ZBoson = Z_BOSON) -> float:
    """Gamma(N -> nu Z) = d_Z^2 m^3 (1 - r)^2 (1 + r / 2) / (4 pi), r = M_Z^2 / m^2, above M_Z (Dirac N)."""
    r = (z_boson.mass_GeV / mass) ** 2 if mass > 0 else math.inf
    return 0.0 if r >= 1 else dipole.d_z**2 * mass**3 * (1 - r) ** 2 * (1 + r / 2) / (4 * math.pi)


def branching_nu_gamma(mass: float, dipole: ElectroweakDipole, z_boson: ZBoson = Z_BOSON) -> float:
    """Br(N -> nu gamma) = Gamma_gamma / (Gamma_gamma + Gamma_Z): 1 below M_Z."""
    g_gamma = width_nu_gamma_GeV(mass, dipole)
    return g_gamma / (g_gamma + width_nu_z_GeV(mass, dipole, z_boson))


def z_width_to_n_nu_GeV(mass: float, d_z: float, n_modes: int = 2, z_boson: ZBoson = Z_BOSON) -> float:
    """Gamma(Z -> N nubar) times ``n_modes``: d_Z^2 M_Z^3 (1 - x)^2 (1 + 2 x) / (12 pi), x = m^2 / M_Z^2."""
    x = (mass / z_boson.mass_GeV) ** 2
    return 0.0 if x >= 1 else n_modes * d_z**2 * z_boson.mass_GeV**3 * (1 - x) ** 2 * (1 + 2 * x) / (12 * math.pi)


def z_width_to_ee_GeV(constants: PhysicsConstants = DEFAULT_CONSTANTS, z_boson: ZBoson = Z_BOSON) -> float:
    """Born Gamma(Z -> e+e-) = g_Z^2 M_Z (g_L^2 + g_R^2) / (24 pi) (83.4 MeV; PDG 83.9 MeV).

    >>> round(z_width_to_ee_GeV() * 1e3, 1)
    83.4
    """
    g_l, g_r = z_couplings(constants)
    return z_coupling_squared(constants, z_boson) * z_boson.mass_GeV * (g_l**2 + g_r**2) / (24 * math.pi)


@dataclass(frozen=True)
class ElectroweakSignal:
    """The signal law of one data set with Z exchange: the dipole at the reference coupling and the collision's
    electroweak inputs (polarisation). It turns the photon-only samples ``run`` makes into this law:
    :meth:`weights` per event (mean 1), :meth:`xsec_pb` and :meth:`branching` for the rate."""

    dipole: ElectroweakDipole
    ew: Electroweak = DEFAULT_EW

    def weights(
        self, angles: tuple[ArrayLike, ArrayLike, ArrayLike], sqrt_s: float, mass: float, exact_decay: bool = True
    ) -> np.ndarray:
        """Per-event weights from an isotropic photon-only sample: production and exact decay
        (:func:`event_weights`), or production alone (``exact_decay`` False: the decay law is reweighted apart)."""
        if exact_decay:
            return event_weights(angles, sqrt_s, mass, self.dipole, self.ew)
        z = np.asarray(angles[0], dtype=float)
        rates = _helicity_rates(sqrt_s, self.dipole, self.ew)
        g_l, g_r = helicity_shapes(z, sqrt_s, mass)
        out: np.ndarray = (rates[0] * g_l + rates[1] * g_r) / ((g_l + g_r) / 2) / rates.sum()
        return out

    def xsec_pb(self, sqrt_s: float, mass: float, n_modes: int = 2) -> float:
        """sigma(e+e- -> N nubar (+ c.c.)) in pb (:func:`production_xsec_pb`)."""
        return production_xsec_pb(sqrt_s, mass, self.dipole, self.ew, n_modes)

    def branching(self, mass: float) -> float:
        """Br(N -> nu gamma): 1 below M_Z (:func:`branching_nu_gamma`)."""
        return branching_nu_gamma(mass, self.dipole, self.ew.z_boson)

    def as_dict(self) -> dict[str, float]:
        """What a selected sample records of it (couplings in GeV^-1)."""
        return {
            "d_gamma_GeV_inv": self.dipole.d_gamma,
            "d_z_GeV_inv": self.dipole.d_z,
            "polarisation_e_minus": self.ew.pol.electron,
            "polarisation_e_plus": self.ew.pol.positron,
        }
