"""The nu nubar (gamma) background at any energy: its limits (four-fermion, Breit-Wigner), its closed forms against
numerical integrals, the radiative return to the Z, and beam polarisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from dipole_portal.core.constants import DEFAULT_CONSTANTS as C
from dipole_portal.samples import electroweak_background as bg
from dipole_portal.samples import electroweak_physics as ew
from dipole_portal.samples import nunugamma_physics

MZ, GZ, MW = ew.Z_BOSON.mass_GeV, ew.Z_BOSON.width_GeV, ew.W_BOSON.mass_GeV
ENERGIES = [1.0, 4.0, 10.583, 50.0, 91.1876, 130.0, 189.0, 240.0, 500.0, 3000.0]


@pytest.mark.parametrize("sqrt_s", ENERGIES)
@pytest.mark.parametrize("pol", [ew.UNPOLARISED, ew.BeamPolarisation(-0.8, 0.3)])
def test_total_born_is_the_integral_of_the_differential(sqrt_s, pol):
    inputs = ew.Electroweak(pol=pol)
    integral, _ = integrate.quad(
        lambda z: float(bg.nunu_born_dsigma_dz_pb(z, sqrt_s, inputs)), -1, 1, epsabs=0, epsrel=1e-12, limit=200
    )
    assert float(bg.nunu_born_xsec_pb(sqrt_s**2, inputs)) == pytest.approx(integral, rel=1e-10)


@pytest.mark.parametrize("sqrt_s", [0.5, 1.0, 4.0, 10.583])
def test_low_energy_limit_is_the_four_fermion_interaction(sqrt_s):
    """sigma_0 and the radiative cross section approach SPEC section 2's within O(s / M_W^2)."""
    s = sqrt_s**2
    ratio = float(bg.nunu_born_xsec_pb(s)) / float(nunugamma_physics.sigma0_pb(s))
    assert abs(ratio - 1) < 3 * s / MW**2
    E, z = np.array([0.1, 0.3, 0.45]) * sqrt_s, np.array([-0.7, 0.1, 0.85])
    ours = bg.nunugamma_d2sigma_dE_dz_pb(E, z, sqrt_s)
    spec = nunugamma_physics.d2sigma_dE_dz_pb(E, z, sqrt_s)
    assert np.max(np.abs(ours / spec - 1)) < 3 * s / MW**2


def test_z_pole_is_the_breit_wigner_and_nu_e_adds_its_w_term():
    """At sqrt(s) = M_Z, nu_mu and nu_tau give 12 pi Gamma_ee Gamma_nunu / (M_Z^2 Gamma_Z^2) each (Gamma_nunu =
    G_F M_Z^3 / (12 sqrt(2) pi)); nu_e exceeds it by its W term alone (Re Z(M_Z^2) = 0: no interference), I2 / (8/3
    (g_L^2 + g_R^2) |Z|^2), about 0.4%."""
    s = MZ**2
    gamma_nunu = C.G_F * MZ**3 / (12 * math.sqrt(2) * math.pi)
    bw = 12 * math.pi * ew.z_width_to_ee_GeV() * gamma_nunu / (MZ**2 * GZ**2) * C.gev2_to_pb
    mu = float(bg.nunu_born_xsec_pb(s, flavours=(bg.Flavour.MU,)))
    assert mu == pytest.approx(bw, rel=1e-12)
    e = float(bg.nunu_born_xsec_pb(s, flavours=(bg.Flavour.E,)))
    g_l, g_r = ew.z_couplings()
    _, i2 = bg.w_moments(s)
    expected_excess = float(i2[0]) / (8 / 3 * (g_l**2 + g_r**2) * (MZ / GZ) ** 2)
    assert e / mu - 1 == pytest.approx(expected_excess, rel=1e-6)
    assert 0 < e / mu - 1 < 0.01
    assert float(bg.nunu_born_xsec_pb(s)) == pytest.approx(2 * bw + e, rel=1e-12)


def test_a_right_handed_electron_beam_has_no_w_exchange():
    """With P(e-) = +1 only e-_R e+_L collide: the W t-channel is gone and nu_e = nu_mu at every energy."""
    right = ew.BeamPolarisation(1.0, 0.0)
    for sqrt_s in (10.0, 189.0, 500.0):
        e = bg.nunu_born_xsec_pb(sqrt_s**2, ew.Electroweak(pol=right), (bg.Flavour.E,))
        mu = bg.nunu_born_xsec_pb(sqrt_s**2, ew.Electroweak(pol=right), (bg.Flavour.MU,))
        assert float(e) == pytest.approx(float(mu), rel=1e-12)
        left = bg.nunu_born_xsec_pb(sqrt_s**2, ew.Electroweak(pol=ew.BeamPolarisation(-1.0, 0.0)))
        assert float(left) > 3 * float(bg.nunu_born_xsec_pb(sqrt_s**2, ew.Electroweak(pol=right)))


@pytest.mark.parametrize("sqrt_s", [130.0, 189.0, 240.0, 365.0])
def test_radiative_return_peaks_at_the_z(sqrt_s):
    """Above the pole the photon spectrum (|cos theta| < 0.7) peaks where the recoil mass is M_Z, within Gamma_Z."""
    E = np.linspace(0.2, sqrt_s / 2 * 0.999, 20001)
    z = np.linspace(-0.7, 0.7, 29)
    spectrum = np.trapezoid(bg.nunugamma_d2sigma_dE_dz_pb(E[:, None], z[None, :], sqrt_s), z, axis=1)
    region = E > 0.1 * sqrt_s  # away from the soft-photon pole
    E_peak = E[region][np.argmax(spectrum[region])]
    recoil = math.sqrt(sqrt_s**2 - 2 * sqrt_s * E_peak)
    assert recoil == pytest.approx(MZ, abs=GZ)
    assert (sqrt_s**2 - MZ**2) / (2 * sqrt_s) == pytest.approx(E_peak, abs=GZ)


def test_w_moments_against_quadrature_on_both_sides_of_the_switch():
    for sqrt_s in (20.0, 100.0, 2 * MW / math.sqrt(2) * 0.999, 2 * MW / math.sqrt(2) * 1.001, 300.0, 3000.0):
        s = sqrt_s**2
        a = 2 * MW**2 / s
        for power, value in zip((1, 2), bg.w_moments(s), strict=True):
            ref, _ = integrate.quad(
                lambda z, p=power, a=a: (1 + z) ** 2 * (a / (a + 1 - z)) ** p, -1, 1, epsabs=0, epsrel=1e-13
            )
            assert float(value[0]) == pytest.approx(ref, rel=1e-11)


def test_the_invisible_width_at_the_pole_is_l3s_measured_one():
    """Data: L3's single-photon measurement at the Z (Phys. Lett. B 431 (1998) 199, 100 pb^-1, 2091 candidates)
    gives Gamma_inv = 498 +- 12 (stat) +- 12 (sys) MeV. The background's normalisation at the pole, read back as the
    invisible width that its three flavours' Breit-Wigner peak implies (nu_e without its W term), lies within one
    standard deviation of it."""
    s = MZ**2
    peak = float(bg.nunu_born_xsec_pb(s, flavours=(bg.Flavour.MU, bg.Flavour.TAU))) * 3 / 2
    gamma_inv = peak / C.gev2_to_pb * MZ**2 * GZ**2 / (12 * math.pi * ew.z_width_to_ee_GeV())
    assert abs(gamma_inv - 0.498) < math.hypot(0.012, 0.012)
    assert gamma_inv == pytest.approx(0.4977, abs=5e-4)  # 3 G_F M_Z^3 / (12 sqrt(2) pi)
