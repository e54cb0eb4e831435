"""nu nubar gamma generator: the weighted integral against deterministic quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from dipole_portal.samples.generators import NuNuGammaSpec, generate_chunks
from dipole_portal.samples.kinematics import Beams, PhaseSpaceRegion
from dipole_portal.samples.nunugamma_physics import d2sigma_dE_dz_pb, factorised_d2sigma_dE_dz_pb


def quadrature_pb(sqrt_s, e_lo, e_hi, c_lo, c_hi):
    val, err = integrate.dblquad(
        lambda z, E: float(d2sigma_dE_dz_pb(E, z, sqrt_s)), e_lo, e_hi, c_lo, c_hi, epsrel=1e-9
    )
    return val


def test_weighted_integral_matches_quadrature():
    region = PhaseSpaceRegion(0.5, 1.9, -0.8, 0.8)
    spec = NuNuGammaSpec(Beams.symmetric_at(4.0), region)
    total = sum(c["weight"].sum() for c in generate_chunks(spec, seed=3, events=1_000_000))
    assert total == pytest.approx(quadrature_pb(4.0, 0.5, 1.9, -0.8, 0.8), rel=5e-3)


def test_factorised_form_agrees():
    E = np.linspace(0.1, 1.9, 13)[:, None]
    z = np.linspace(-0.95, 0.95, 11)[None, :]
    assert np.allclose(d2sigma_dE_dz_pb(E, z, 4.0), factorised_d2sigma_dE_dz_pb(E, z, 4.0), rtol=1e-12)


def test_region_must_be_inside_phase_space():
    from dipole_portal.core.errors import InputError

    with pytest.raises(InputError, match="E_min"):
        NuNuGammaSpec(Beams.symmetric_at(4.0), PhaseSpaceRegion(0.5, 2.5, -0.8, 0.8))
    with pytest.raises(InputError, match="cos"):
        NuNuGammaSpec(Beams.symmetric_at(4.0), PhaseSpaceRegion(0.5, 1.5, -1.0, 0.8))
