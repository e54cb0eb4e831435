"""Signal generator: normalisation, N angular law and the rest-frame photon law of each decay model."""

from __future__ import annotations

import numpy as np
import pytest
import vector
from scipy import integrate

from dipole_portal.samples.generators import DECAY_MODELS, SignalSpec, generate_chunks, generate_signal_chunk
from dipole_portal.samples.kinematics import Beams
from dipole_portal.samples.signal_physics import signal_dsigma_dz_pb
from tests.conftest import chi2_pvalue

P_MIN = 1e-3  # fixed seeds: a correct generator passes, a wrong law fails by orders of magnitude


@pytest.mark.parametrize("sqrt_s", [4.0, 10.583])
@pytest.mark.parametrize("mass", [0.01, 1.0, 3.5])
def test_sum_of_weights_is_twice_eq3(sqrt_s, mass):
    beams = Beams(7.0, 4.0) if sqrt_s > 10 else Beams.symmetric_at(sqrt_s)
    spec = SignalSpec(beams, mass, d_ref=1e-5)
    total = sum(c["weight"].sum() for c in generate_chunks(spec, seed=11, events=1_000_000))
    # independent of eq. 3: integrate eq. 2 numerically for one mode, times two modes
    one_mode, _ = integrate.quad(lambda z: signal_dsigma_dz_pb(z, beams.sqrt_s, mass, 1e-5, n_modes=1), -1, 1)
    assert total == pytest.approx(2 * one_mode, rel=3e-3)


@pytest.mark.parametrize("mass", [0.01, 1.0, 3.5])
def test_n_polar_angle_follows_eq2(mass):
    spec = SignalSpec(Beams.symmetric_at(4.0), mass)
    ev = generate_signal_chunk(np.random.default_rng(5), 400_000, spec, 400_000)
    z = ev["N_pz"].astype(float) / np.hypot(np.hypot(ev["N_px"], ev["N_py"]), ev["N_pz"]).astype(float)
    edges = np.linspace(-1, 1, 41)
    counts, _ = np.histogram(z, edges)
    cdf = [integrate.quad(lambda x: signal_dsigma_dz_pb(x, 4.0, mass, 1.0), -1, e)[0] for e in edges]
    expected = np.diff(cdf) / cdf[-1] * len(z)
    assert chi2_pvalue(counts, expected) > P_MIN


def _rest_frame_cos(ev: dict) -> np.ndarray:
    """cos(theta*) recovered with vector: boost the photon into the N rest frame, angle to the N flight."""
    g = vector.array(
        {
            k: ev[f"photon_{c}"].astype(float)
            for k, c in zip(("px", "py", "pz", "E"), ("px", "py", "pz", "E"), strict=True)
        }
    )
    n = vector.array(
        {k: ev[f"N_{c}"].astype(float) for k, c in zip(("px", "py", "pz", "E"), ("px", "py", "pz", "E"), strict=True)}
    )
    g_rest = g.boost_beta3(-n.to_beta3())
    return np.asarray(g_rest.to_Vector3D().unit().dot(n.to_Vector3D().unit()))


LAWS = {
    "backward": lambda c: (1 - c) / 2,
    "forward": lambda c: (1 + c) / 2,
    "isotropic": lambda c: np.full_like(c, 0.5),
}


@pytest.mark.parametrize("model", DECAY_MODELS)
def test_rest_frame_photon_law(model):
    mass, sqrt_s = 3.5, 4.0
    spec = SignalSpec(Beams.symmetric_at(sqrt_s), mass, decay_model=model)
    ev = generate_signal_chunk(np.random.default_rng(21), 300_000, spec, 300_000)
    c = _rest_frame_cos(ev)
    edges = np.linspace(-1, 1, 31)
    if model == "helicity":
        # per helicity: +1 -> backward, -1 -> forward; and the mixture fraction s/(s + 2 m^2)
        frac = np.mean(ev["helicity"] > 0)
        expected_frac = sqrt_s**2 / (sqrt_s**2 + 2 * mass**2)
        assert abs(frac - expected_frac) < 5 * np.sqrt(expected_frac * (1 - expected_frac) / len(c))
        groups = [(c[ev["helicity"] > 0], LAWS["backward"]), (c[ev["helicity"] < 0], LAWS["forward"])]
    elif model == "exact":
        # summed over z and psi, the exact law leaves (1 - k c)/2 with k = <P_L D>/<D> = (s - 2 m^2)/(s + 2 m^2)
        k = (sqrt_s**2 - 2 * mass**2) / (sqrt_s**2 + 2 * mass**2)
        groups = [(c, lambda x: (1 - k * x) / 2)]
    else:
        groups = [(c, LAWS[model])]
    for values, law in groups:
        counts, _ = np.histogram(values, edges)
        mids = 0.5 * (edges[1:] + edges[:-1])
        expected = law(mids) * np.diff(edges) * len(values)  # linear laws: midpoint rule is exact
        assert chi2_pvalue(counts, expected) > P_MIN


def test_photon_is_massless_and_energy_matches_two_body():
    spec = SignalSpec(Beams(7.0, 4.0), 1.0)
    ev = generate_signal_chunk(np.random.default_rng(2), 100_000, spec, 100_000)
    g = vector.array(
        {
            "px": ev["photon_px"].astype(float),
            "py": ev["photon_py"].astype(float),
            "pz": ev["photon_pz"].astype(float),
            "E": ev["photon_E"].astype(float),
        }
    )
    # float32 storage: m^2 / E^2 vanishes to float32 precision (a few 1e-7)
    assert np.max(np.abs(g.mass2) / g.E**2) < 2e-6
    # vector's boost of the CM photon equals the closed-form boost (the selection uses vector)
    from dipole_portal.core.beams import boost_z

    lab = g.boostZ(beta=spec.beams.beta)
    E_lab, pz_lab = boost_z(g.E, g.pz, spec.beams.beta)
    assert np.allclose(lab.E, E_lab, rtol=1e-12)
    assert np.allclose(lab.pz, pz_lab, rtol=1e-12, atol=1e-12)
    assert not any(k.endswith("_lab") for k in ev)


def test_bad_signal_inputs():
    from dipole_portal.core.errors import InputError

    with pytest.raises(InputError, match="mass"):
        SignalSpec(Beams.symmetric_at(4.0), 4.0)
    with pytest.raises(InputError, match="mass"):
        SignalSpec(Beams.symmetric_at(4.0), float("nan"))
    with pytest.raises(InputError, match="decay model"):
        SignalSpec(Beams.symmetric_at(4.0), 1.0, decay_model="sideways")
