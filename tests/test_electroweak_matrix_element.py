"""The electroweak dipole portal against amplitudes computed here with explicit 4x4 Dirac matrices and spinors.

Nothing is taken from ``samples.electroweak_physics`` but its answers. Spinors u, v of any mass in the Dirac
representation (completeness sum u ubar = p-slash + m checked), vertices written from the Lagrangian

    L = d_gamma Nbar sigma^{mu nu} P_L nu F_{mu nu} + d_Z Nbar sigma^{mu nu} P_L nu Z_{mu nu} + h.c.,

(a vector boson of momentum q into the vertex gives 2 d sigma^{mu nu} q_nu), the electron's currents e Q gamma^mu and
g_Z gamma^mu (g_L P_L + g_R P_R) (g_Z^2 = 4 sqrt(2) G_F M_Z^2), explicit polarisation vectors (two for a photon, three
for a Z), and every spin state summed amplitude by amplitude: the production cross section per beam helicity and with
polarised beams, the full 2 -> 3 process with the N propagator and its decay (which tests the N polarisation), and the
widths of N -> nu gamma, N -> nu Z, Z -> N nubar and Z -> e+e-. Energies from 4 to 500 GeV, masses up to 80 GeV.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dipole_portal.core.constants import DEFAULT_CONSTANTS as C
from dipole_portal.samples import electroweak_physics as ew
from dipole_portal.samples import signal_physics
from dipole_portal.samples.reweight import decay_angles
from tests.dirac import GAMMA, METRIC, P_L, P_R, PAULI, SIGMA

E_CHARGE = math.sqrt(4 * math.pi * C.alpha)
G_L, G_R = -0.5 + C.sin2_theta_w, C.sin2_theta_w
MZ, GZ = ew.Z_BOSON.mass_GeV, ew.Z_BOSON.width_GeV
G_Z = math.sqrt(4 * math.sqrt(2) * C.G_F) * MZ


def four(E: float, p3: np.ndarray) -> np.ndarray:
    return np.concatenate([[E], p3])


def spinors(p: np.ndarray, mass: float, anti: bool) -> np.ndarray:
    """The two spinors u(p, s) (or v(p, s)), shape (2, 4): [sqrt(E + m) chi, sigma.p chi / sqrt(E + m)]."""
    sp = np.einsum("i,ijk->jk", p[1:], PAULI)
    norm = math.sqrt(p[0] + mass)
    out = []
    for chi in np.eye(2, dtype=complex):
        upper, lower = norm * chi, sp @ chi / norm
        out.append(np.concatenate([lower, upper]) if anti else np.concatenate([upper, lower]))
    return np.array(out)


def bar(x: np.ndarray) -> np.ndarray:
    return np.conj(x) @ GAMMA[0]


def slash(p: np.ndarray) -> np.ndarray:
    return np.einsum("m,m,mij->ij", p, METRIC, GAMMA)


def dipole_vertex(q: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """2 sigma^{mu nu} eps_mu q_nu (indices lowered with the metric): a boson (q, eps) at the dipole vertex."""
    return 2 * np.einsum("mnij,m,n->ij", SIGMA, METRIC * eps, METRIC * q)


def polarisations(k: np.ndarray, mass: float) -> list[np.ndarray]:
    """Two transverse polarisation vectors of a boson of momentum k, and the longitudinal one if it is massive."""
    kh = k[1:] / np.linalg.norm(k[1:])
    a = np.array([1.0, 0, 0]) if abs(kh[0]) < 0.9 else np.array([0, 1.0, 0])
    e1 = np.cross(kh, a)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(kh, e1)
    eps = [four(0.0, e1).astype(complex), four(0.0, e2).astype(complex)]
    if mass > 0:
        eps.append(four(np.linalg.norm(k[1:]) / mass, k[0] / mass * kh).astype(complex))
    return eps


def test_spinors_are_complete():
    p = four(math.sqrt(3.0**2 + 1.2**2 + 0.4**2 + 2.0**2), np.array([1.2, -0.4, 2.0]))
    u, v = spinors(p, 3.0, anti=False), spinors(p, 3.0, anti=True)
    assert np.allclose(sum(np.outer(x, bar(x)) for x in u), slash(p) + 3.0 * np.eye(4))
    assert np.allclose(sum(np.outer(x, bar(x)) for x in v), slash(p) - 3.0 * np.eye(4))


def beams(sqrt_s: float) -> tuple[np.ndarray, np.ndarray]:
    return four(sqrt_s / 2, np.array([0, 0, sqrt_s / 2])), four(sqrt_s / 2, np.array([0, 0, -sqrt_s / 2]))


def lepton_currents(sqrt_s: float, projector: np.ndarray) -> np.ndarray:
    """vbar(e+) gamma^mu P u(e-) for all four beam spin states, shape (4 spins, 4 mu)."""
    k1, k2 = beams(sqrt_s)
    return np.array(
        [
            [bar(v) @ GAMMA[m] @ projector @ u for m in range(4)]
            for u in spinors(k1, 0, False)
            for v in spinors(k2, 0, True)
        ]
    )


def coupling(helicity: str, sqrt_s: float, dipole: ew.ElectroweakDipole) -> complex:
    """Sum over gamma and Z of (electron coupling) x propagator x dipole coupling, for one beam chirality."""
    s = sqrt_s**2
    g = G_L if helicity == "L" else G_R
    return -E_CHARGE * dipole.d_gamma / s + G_Z * g * dipole.d_z / complex(s - MZ**2, s * GZ / MZ)


def n_direction(z: float, phi: float = 0.3) -> np.ndarray:
    st = math.sqrt(1 - z * z)
    return np.array([st * math.cos(phi), st * math.sin(phi), z])


def production_msq(helicity: str, sqrt_s: float, mass: float, z: float, dipole: ew.ElectroweakDipole) -> float:
    """sum over all spins of |M(e-_h e+ -> N nubar)|^2 for 100% polarised beams of chirality h."""
    q = sum(beams(sqrt_s))
    p_n = (sqrt_s**2 - mass**2) / (2 * sqrt_s)
    n = n_direction(z)
    pN, pnu = four(math.hypot(p_n, mass), p_n * n), four(p_n, -p_n * n)
    J = lepton_currents(sqrt_s, P_L if helicity == "L" else P_R)
    total = 0.0
    for uN in spinors(pN, mass, False):
        for vnu in spinors(pnu, 0, True):
            H = np.array([bar(uN) @ (2 * np.einsum("nij,n->ij", SIGMA[m], METRIC * q)) @ P_L @ vnu for m in range(4)])
            amp = coupling(helicity, sqrt_s, dipole) * (J * METRIC) @ H
            total += float(np.sum(np.abs(amp) ** 2))
    return total


def dsigma_dz_spinors(sqrt_s, mass, z, dipole, pol: ew.BeamPolarisation) -> float:
    """w_L dsigma_L/dz + w_R dsigma_R/dz in GeV^-2 for one mode: 2 pi |M|^2 p_f / (64 pi^2 s p_i)."""
    w_l, w_r = (1 - pol.electron) * (1 + pol.positron) / 4, (1 + pol.electron) * (1 - pol.positron) / 4
    flux = 2 * math.pi / (64 * math.pi**2 * sqrt_s**2) * ((sqrt_s**2 - mass**2) / sqrt_s**2)
    return flux * sum(w * production_msq(h, sqrt_s, mass, z, dipole) for h, w in (("L", w_l), ("R", w_r)))


TAN_W = math.sqrt(C.sin2_theta_w / (1 - C.sin2_theta_w))
POINTS = [(4.0, 1.0), (10.583, 5.0), (91.1876, 30.0), (161.0, 80.0), (240.0, 60.0), (500.0, 0.5), (500.0, 80.0)]
RATIOS = [0.0, -TAN_W, 1 / TAN_W, 2.5]
POLS = [
    ew.BeamPolarisation(),
    ew.BeamPolarisation(-0.8, 0.3),
    ew.BeamPolarisation(0.8, -0.3),
    ew.BeamPolarisation(-1, 0),
]


@pytest.mark.parametrize(("sqrt_s", "mass"), POINTS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_production_cross_section_is_the_spinor_one(sqrt_s, mass, ratio):
    """dsigma/dz from the formula equals the spinor amplitudes', for every helicity mix, gamma and Z, point by
    point in z; the total is its integral."""
    dipole = ew.ElectroweakDipole(1e-5, ratio * 1e-5)
    zs = np.array([-0.95, -0.4, 0.0, 0.3, 0.9])
    for pol in POLS:
        ref = [dsigma_dz_spinors(sqrt_s, mass, z, dipole, pol) * C.gev2_to_pb for z in zs]
        ours = ew.production_dsigma_dz_pb(zs, sqrt_s, mass, dipole, ew.Electroweak(pol=pol), n_modes=1)
        assert ours == pytest.approx(ref, rel=1e-10)
        grid = np.linspace(-1, 1, 2001)
        integral = np.trapezoid(
            ew.production_dsigma_dz_pb(grid, sqrt_s, mass, dipole, ew.Electroweak(pol=pol), n_modes=1), grid
        )
        assert ew.production_xsec_pb(sqrt_s, mass, dipole, ew.Electroweak(pol=pol), n_modes=1) == pytest.approx(
            integral, rel=1e-6
        )


@pytest.mark.parametrize(("sqrt_s", "mass"), [(2.0, 1.0), (10.583, 1.0), (10.583, 10.3)])
def test_photon_only_is_todays_law(sqrt_s, mass):
    """d_Z = 0 and unpolarised beams give the paper's eq. 2 and 3 and today's N polarisation exactly; the B and W
    operators change the 10.58 GeV cross section by about s / M_Z^2 (per mille), not more."""
    photon = ew.ElectroweakDipole(2e-5)
    zs = np.linspace(-1, 1, 41)
    assert ew.production_dsigma_dz_pb(zs, sqrt_s, mass, photon) == pytest.approx(
        signal_physics.signal_dsigma_dz_pb(zs, sqrt_s, mass, 2e-5), rel=1e-13
    )
    assert ew.production_xsec_pb(sqrt_s, mass, photon) == pytest.approx(
        signal_physics.signal_xsec_pb(sqrt_s, mass, 2e-5), rel=1e-13
    )
    for ours, today in zip(
        ew.n_polarisation(zs, sqrt_s, mass, photon), signal_physics.polarisation(zs, sqrt_s, mass), strict=True
    ):
        assert ours == pytest.approx(today, abs=1e-13)
    for op in (ew.Operator.HYPERCHARGE, ew.Operator.WEAK_ISOSPIN):
        dipole = ew.ElectroweakDipole.of_operator(2e-5, op)
        shift = ew.production_xsec_pb(sqrt_s, mass, dipole) / ew.production_xsec_pb(sqrt_s, mass, photon) - 1
        assert 0 < abs(shift) < 3 * sqrt_s**2 / MZ**2


def _three_body(sqrt_s, mass, z, c_star, psi, dipole, pol) -> float:
    """|M|^2 of e+e- -> N nubar, N -> nu gamma with the N propagator's numerator, all spins and the photon's two
    polarisations summed, beams weighted by helicity: the N polarisation in its full effect."""
    q = sum(beams(sqrt_s))
    p_n = (sqrt_s**2 - mass**2) / (2 * sqrt_s)
    n = n_direction(z)
    pN, pnu = four(math.hypot(p_n, mass), p_n * n), four(p_n, -p_n * n)
    # photon direction in the N rest frame from (theta*, psi) about n, psi from theta_hat = dn/dtheta_N
    t_hat = np.array([z * math.cos(0.3), z * math.sin(0.3), -math.sqrt(1 - z * z)])
    p_hat = np.cross(n, t_hat)
    s_star = math.sqrt(1 - c_star**2)
    k_rest = mass / 2 * (c_star * n + s_star * (math.cos(psi) * t_hat + math.sin(psi) * p_hat))
    beta = pN[1:] / pN[0]
    gam = pN[0] / mass
    k_par = np.dot(k_rest, beta) / np.dot(beta, beta) * beta
    k = four(gam * (mass / 2 + np.dot(beta, k_rest)), k_rest + (gam - 1) * k_par + gam * beta * mass / 2)
    knu = pN - k
    numerator = slash(pN) + mass * np.eye(4)
    w_l, w_r = (1 - pol.electron) * (1 + pol.positron) / 4, (1 + pol.electron) * (1 - pol.positron) / 4
    total = 0.0
    for h, w in (("L", w_l), ("R", w_r)):
        J = lepton_currents(sqrt_s, P_L if h == "L" else P_R) * METRIC
        for unu in spinors(knu, 0, False):
            for vnu in spinors(pnu, 0, True):
                for eps in polarisations(k, 0.0):
                    dec = bar(unu) @ P_R @ dipole_vertex(k, np.conj(eps)) @ numerator
                    H = np.array(
                        [dec @ (2 * np.einsum("nij,n->ij", SIGMA[m], METRIC * q)) @ P_L @ vnu for m in range(4)]
                    )
                    total += w * float(np.sum(np.abs(coupling(h, sqrt_s, dipole) * J @ H) ** 2))
    return total, pN, k


@pytest.mark.parametrize(("sqrt_s", "mass"), [(10.583, 5.0), (91.1876, 30.0), (240.0, 60.0)])
@pytest.mark.parametrize("ratio", [0.0, 1 / TAN_W])
def test_decay_law_follows_the_n_polarisation_of_the_same_amplitudes(sqrt_s, mass, ratio):
    """|M|^2 of production and decay over D (1 - P_L cos theta* - P_T sin theta* cos psi) is one constant over
    phase space, with D and P from ``n_polarisation``: for polarised beams and the Z too (where the helicities no
    longer enter equally). The photon-only polarisation fails it when the Z matters (the check can fail)."""
    dipole = ew.ElectroweakDipole(1e-5, ratio * 1e-5)
    pol = ew.BeamPolarisation(-0.8, 0.3)
    rng = np.random.default_rng(4)
    ratios, photon_only = [], []
    for z, c, psi in zip(
        rng.uniform(-0.95, 0.95, 12), rng.uniform(-1, 1, 12), rng.uniform(0, 2 * np.pi, 12), strict=True
    ):
        msq, pN, k = _three_body(sqrt_s, mass, z, c, psi, dipole, pol)
        names = ("E", "px", "py", "pz")
        zz, cc, cpsi = decay_angles(
            dict(zip(names, pN[:, None], strict=True)), dict(zip(names, k[:, None], strict=True))
        )
        assert (float(zz[0]), float(cc[0])) == pytest.approx((z, c), abs=1e-9)
        p_l, p_t = ew.n_polarisation(zz, sqrt_s, mass, dipole, ew.Electroweak(pol=pol))
        dsig = ew.production_dsigma_dz_pb(zz, sqrt_s, mass, dipole, ew.Electroweak(pol=pol))
        sin_c = np.sqrt(1 - cc**2)
        ratios.append(msq / float(dsig[0] * (1 - p_l[0] * cc[0] - p_t[0] * sin_c[0] * cpsi[0])))
        q_l, q_t = signal_physics.polarisation(zz, sqrt_s, mass)
        photon_only.append(msq / float(dsig[0] * (1 - q_l[0] * cc[0] - q_t[0] * sin_c[0] * cpsi[0])))
    assert np.std(ratios) / np.mean(ratios) < 1e-9
    assert np.std(photon_only) / np.mean(photon_only) > 1e-3


def _two_body_width(parent: np.ndarray, parent_mass: float, msq_sum: float, spin_states: int) -> float:
    p_star = float(np.linalg.norm(parent[1:]))
    return p_star / (8 * math.pi * parent_mass**2) * msq_sum / spin_states


def _n_decay_width(mass: float, boson_mass: float, d: float) -> float:
    """Gamma(N -> nu V) from spinors in the N rest frame (N spin averaged, V polarisations summed), Dirac N."""
    p_star = (mass**2 - boson_mass**2) / (2 * mass)
    k = four(math.hypot(p_star, boson_mass), p_star * n_direction(0.37))
    knu = four(p_star, -p_star * n_direction(0.37))
    pN = four(mass, np.zeros(3))
    total = sum(
        abs(bar(unu) @ P_R @ (d * dipole_vertex(k, np.conj(eps))) @ uN) ** 2
        for uN in spinors(pN, mass, False)
        for unu in spinors(knu, 0, False)
        for eps in polarisations(k, boson_mass)
    )
    return _two_body_width(k, mass, total, 2)


@pytest.mark.parametrize("mass", [0.1, 5.0, 80.0, 95.0, 150.0, 400.0])
def test_n_widths_are_the_spinor_ones(mass):
    dipole = ew.ElectroweakDipole(3e-6, 1.7 * 3e-6)
    assert ew.width_nu_gamma_GeV(mass, dipole) == pytest.approx(_n_decay_width(mass, 0.0, 3e-6), rel=1e-10)
    if mass > MZ:
        assert ew.width_nu_z_GeV(mass, dipole) == pytest.approx(_n_decay_width(mass, MZ, 1.7 * 3e-6), rel=1e-10)
        assert 0 < ew.branching_nu_gamma(mass, dipole) < 1
    else:
        assert ew.width_nu_z_GeV(mass, dipole) == 0 and ew.branching_nu_gamma(mass, dipole) == 1


def _z_decay_msq(mass: float, vertex) -> float:
    """sum over Z polarisations and final spins of |ubar(p1) vertex(eps) v(p2)|^2, Z at rest to f(mass) fbar(0)."""
    p_star = (MZ**2 - mass**2) / (2 * MZ)
    p1, p2 = four(math.hypot(p_star, mass), p_star * n_direction(-0.21)), four(p_star, -p_star * n_direction(-0.21))
    q = four(MZ, np.zeros(3))
    return sum(
        abs(bar(u) @ vertex(q, eps) @ v) ** 2
        for u in spinors(p1, mass, False)
        for v in spinors(p2, 0, True)
        for eps in (four(0.0, e).astype(complex) for e in np.eye(3))
    ), p1


@pytest.mark.parametrize("mass", [0.0, 10.0, 45.0, 80.0])
def test_z_widths_and_the_z_pole_cross_section(mass):
    """Gamma(Z -> N nubar) and Gamma(Z -> e+e-) from spinors equal the formulae, and at sqrt(s) = M_Z with d_gamma = 0
    the cross section is the Breit-Wigner peak 12 pi Gamma_ee Gamma(Z -> N nubar + c.c.) / (M_Z^2 Gamma_Z^2)."""
    d_z = 2e-6
    msq, p1 = _z_decay_msq(mass, lambda q, eps: d_z * dipole_vertex(q, eps) @ P_L)
    gamma_n = _two_body_width(p1, MZ, msq, 3)
    assert ew.z_width_to_n_nu_GeV(mass, d_z, n_modes=1) == pytest.approx(gamma_n, rel=1e-10)
    current = lambda q, eps: G_Z * np.einsum("m,m,mij->ij", eps, METRIC, GAMMA) @ (G_L * P_L + G_R * P_R)  # noqa: E731
    msq_e, pe = _z_decay_msq(0.0, current)
    gamma_ee = _two_body_width(pe, MZ, msq_e, 3)
    assert ew.z_width_to_ee_GeV() == pytest.approx(gamma_ee, rel=1e-10)
    peak = ew.production_xsec_pb(MZ, mass, ew.ElectroweakDipole(0.0, d_z))
    breit_wigner = 12 * math.pi * gamma_ee * 2 * gamma_n / (MZ**2 * GZ**2) * C.gev2_to_pb
    assert peak == pytest.approx(breit_wigner, rel=1e-10)


@pytest.mark.parametrize(("sqrt_s", "mass"), [(10.583, 3.0), (91.1876, 30.0), (240.0, 60.0)])
def test_a_generated_photon_sample_reweighted_is_the_electroweak_law(sqrt_s, mass):
    """The generator's photon-only sample (isotropic decays), weighted by ``event_weights``, has the electroweak
    law's N forward-backward asymmetry and the exact decay's photon asymmetry along the N, within their MC errors
    (mean weight times the photon sigma is the electroweak sigma by construction: a weight of mean 1 is tested)."""
    from dipole_portal.samples.generators import SignalSpec, generate_signal_chunk
    from dipole_portal.samples.kinematics import Beams

    dipole = ew.ElectroweakDipole.of_operator(1e-5, ew.Operator.WEAK_ISOSPIN)
    collision = ew.Electroweak(pol=ew.BeamPolarisation(-0.8, 0.3))
    n = 200_000
    spec = SignalSpec(Beams.symmetric_at(sqrt_s), mass, decay_model="isotropic")
    events = generate_signal_chunk(np.random.default_rng(9), n, spec, n)
    names = ("E", "px", "py", "pz")
    N = {k: events[f"N_{k}"].astype(float) for k in names}
    photon = {k: events[f"photon_{k}"].astype(float) for k in names}
    z, c, cpsi = decay_angles(N, photon)
    w = ew.event_weights((z, c, cpsi), sqrt_s, mass, dipole, collision)
    assert w.min() >= 0 and w.max() <= 4
    assert w.mean() == pytest.approx(1.0, abs=4 * w.std() / math.sqrt(n))
    grid = np.linspace(-1, 1, 4001)
    density = ew.production_dsigma_dz_pb(grid, sqrt_s, mass, dipole, collision)
    afb = np.trapezoid(np.sign(grid) * density, grid) / np.trapezoid(density, grid)
    ours = np.sum(w * np.sign(z)) / np.sum(w)
    err = np.std(w * np.sign(z) - ours * w) / np.mean(w) / math.sqrt(n)
    assert ours == pytest.approx(afb, abs=5 * err)
    assert abs(afb) > 10 * err  # the polarised Z makes N go forward or backward: the check has something to see
    # the photon's mean cos theta* along N is -<P_L> / 3 under the exact law
    p_l, _ = ew.n_polarisation(z, sqrt_s, mass, dipole, collision)
    expected = -np.sum(w * p_l) / np.sum(w) / 3
    measured = np.sum(w * c) / np.sum(w)
    assert measured == pytest.approx(expected, abs=5 * np.std(w * c) / np.mean(w) / math.sqrt(n))
