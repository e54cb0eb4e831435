"""The exact decay model against an independent matrix element computed with Dirac traces.

e+e- -> gamma* -> N nubar, N -> nu gamma (and the charge conjugate) with dipole vertices sigma^{mu nu} q_nu,
massless chiral neutrinos, the on-shell N propagator numerator (p-slash +- m) and the photon polarisation sum
-g_{alpha beta}, all written here with explicit 4x4 Dirac matrices. Nothing is taken from the generator: the
reference events are flat in phase space (N direction, photon direction in the N rest frame), made with the
general Lorentz boost written below, and weighted with the traced |M|^2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dipole_portal.core.beams import boost_z
from dipole_portal.core.config import get_scenario
from dipole_portal.samples.generators import SignalSpec, generate_signal_chunk
from dipole_portal.samples.kinematics import Beams
from dipole_portal.samples.reweight import decay_angles, model_weights
from dipole_portal.samples.signal_physics import angular_weight
from dipole_portal.selections.cuts import PhotonColumns, build_selection
from tests.dirac import GAMMA, METRIC, P_L, P_R, SIGMA


def slash(p: np.ndarray) -> np.ndarray:
    """gamma^mu p_mu for four-vectors p (B, 4), contravariant components."""
    return np.einsum("bm,m,mij->bij", p, METRIC, GAMMA)


def sigma_dot(q: np.ndarray) -> np.ndarray:
    """sigma^{mu rho} q_rho, shape (B, 4 [mu], 4, 4)."""
    return np.einsum("mrij,r,br->bmij", SIGMA, METRIC, q)


def dirac_bar(x: np.ndarray) -> np.ndarray:
    return GAMMA[0] @ np.conj(np.swapaxes(x, -1, -2)) @ GAMMA[0]


def msq_traces(p_minus, p_plus, p_N, mass, k_gamma, k_nu, p_spectator, anti: bool = False) -> np.ndarray:
    """Spin-summed |M|^2 (arbitrary normalisation) by traces.

    N nubar: ubar(k_nu) P_R sigma.k (p-slash + m) sigma.q P_L v(p_nubar), photon from N -> nu gamma.
    Nbar nu: ubar(p_nu) P_R sigma.q (p-slash - m) sigma.k P_L v(k_nubar), photon from Nbar -> nubar gamma.
    """
    q = p_minus + p_plus
    sq, sk = sigma_dot(q), sigma_dot(k_gamma)
    prop = slash(p_N) + (-mass if anti else mass) * np.eye(4)
    lepton = np.einsum("bij,mjk,bkl,nli->bmn", slash(p_plus), GAMMA, slash(p_minus), GAMMA, optimize=True)
    lepton = lepton * np.outer(METRIC, METRIC)  # L_{mu nu}, indices lowered
    used = np.nonzero(np.abs(lepton).max(axis=(0, 2)) > 1e-12 * np.abs(lepton).max())[0]  # skip zero components
    lepton = lepton[:, used][:, :, used]
    sq = sq[:, used]
    if not anti:
        prod, dec = sq @ P_L, P_R @ sk
        outer, inner = slash(k_nu), slash(p_spectator)
        x = dec[:, :, None] @ prop[:, None, None] @ prod[:, None, :]  # [b, alpha, mu]
    else:
        prod, dec = P_R @ sq, sk @ P_L
        outer, inner = slash(p_spectator), slash(k_nu)
        x = prod[:, None, :] @ prop[:, None, None] @ dec[:, :, None]
    y = outer[:, None, None] @ x
    z = inner[:, None, None] @ dirac_bar(x)
    w = np.einsum("bmn,banij->bamij", lepton, z)
    # photon polarisation sum: -g_{alpha beta}
    return -np.real(np.einsum("a,bamij,bamji->b", METRIC, y, w))


def lorentz_boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """General boost of four-vectors p (B, 4) by velocities beta (B, 3)."""
    b2 = np.sum(beta * beta, axis=1)
    gamma = 1 / np.sqrt(1 - b2)
    bp = np.sum(beta * p[:, 1:], axis=1)
    coef = np.where(b2 > 0, (gamma - 1) * bp / np.where(b2 > 0, b2, 1), 0.0) + gamma * p[:, 0]
    return np.column_stack([gamma * (p[:, 0] + bp), p[:, 1:] + coef[:, None] * beta])


def reference_events(rng: np.random.Generator, n: int, sqrt_s: float, mass: float) -> dict[str, np.ndarray]:
    """Flat phase space: N isotropic in the CM, photon isotropic in the N rest frame; massless e+- along z."""
    z, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
    st = np.sqrt(1 - z * z)
    n_hat = np.column_stack([st * np.cos(phi), st * np.sin(phi), z])
    E_N = (sqrt_s**2 + mass**2) / (2 * sqrt_s)
    p_N = (sqrt_s**2 - mass**2) / (2 * sqrt_s)
    N = np.column_stack([np.full(n, E_N), p_N * n_hat])
    spectator = np.column_stack([np.full(n, p_N), -p_N * n_hat])
    c, a = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
    s = np.sqrt(1 - c * c)
    k_rest = np.column_stack([np.full(n, mass / 2), mass / 2 * s * np.cos(a), mass / 2 * s * np.sin(a), mass / 2 * c])
    k = lorentz_boost(k_rest, N[:, 1:] / E_N)
    beams = (np.tile([sqrt_s / 2, 0, 0, sqrt_s / 2], (n, 1)), np.tile([sqrt_s / 2, 0, 0, -sqrt_s / 2], (n, 1)))
    w = msq_traces(*beams, N, mass, k, N - k, spectator)
    return {"N": N, "k": k, "nu": N - k, "spectator": spectator, "beams": beams, "weight": w / w.mean()}


CONFIGS = [(2.0, 0.3), (2.0, 1.0), (2.0, 1.9), (10.583, 1.0), (10.583, 5.0), (10.583, 10.3)]


@pytest.mark.parametrize(("sqrt_s", "mass"), CONFIGS)
def test_traced_matrix_element_is_the_spec_law_point_by_point(sqrt_s, mass):
    """|M|^2 from traces / D (1 - P_L cos - P_T sin cos psi) is one constant over phase space, for N nubar and
    Nbar nu alike (the charge-conjugate modes are identical event by event)."""
    ev = reference_events(np.random.default_rng(3), 2000, sqrt_s, mass)
    four = ("E", "px", "py", "pz")
    z, c, cpsi = decay_angles(dict(zip(four, ev["N"].T, strict=True)), dict(zip(four, ev["k"].T, strict=True)))
    ratio = ev["weight"] / angular_weight("exact", z, c, cpsi, sqrt_s, mass)
    assert np.std(ratio) / np.mean(ratio) < 1e-10
    anti = msq_traces(*ev["beams"], ev["N"], mass, ev["k"], ev["nu"], ev["spectator"], anti=True)
    direct = msq_traces(*ev["beams"], ev["N"], mass, ev["k"], ev["nu"], ev["spectator"])
    assert np.max(np.abs(anti / direct - 1)) < 1e-10
    # helicity drops the P_T term: it is *not* the traced law (the check above can fail)
    hel = ev["weight"] / angular_weight("helicity", z, c, cpsi, sqrt_s, mass)
    assert np.std(hel) / np.mean(hel) > 0.01


def _compare(gen: np.ndarray, ref: np.ndarray, ref_w: np.ndarray, edges) -> float:
    """p-value of the chi2 between a unit-weight histogram and a weighted one, both normalised to unit area."""
    if isinstance(edges, tuple):
        g, _, _ = np.histogram2d(gen[0], gen[1], edges)
        r, _, _ = np.histogram2d(ref[0], ref[1], edges, weights=ref_w)
        r2, _, _ = np.histogram2d(ref[0], ref[1], edges, weights=ref_w**2)
        g, r, r2 = g.ravel(), r.ravel(), r2.ravel()
    else:
        g, _ = np.histogram(gen, edges)
        r, _ = np.histogram(ref, edges, weights=ref_w)
        r2, _ = np.histogram(ref, edges, weights=ref_w**2)
    keep = (g > 0) | (r > 0)
    ng, nr = g.sum(), r.sum()
    var = g / ng**2 + r2 / nr**2
    chi2 = float(np.sum(((g / ng - r / nr) ** 2 / var)[keep]))
    return float(stats.chi2.sf(chi2, keep.sum() - 1))


def _generated(model: str, sqrt_s: float, mass: float, n: int, seed: int) -> dict[str, np.ndarray]:
    spec = SignalSpec(Beams.symmetric_at(sqrt_s), mass, decay_model=model)
    return generate_signal_chunk(np.random.default_rng(seed), n, spec, n)


N_REF, N_GEN = 40_000, 400_000


@pytest.fixture(scope="module")
def references():
    return {cfg: reference_events(np.random.default_rng(11 + i), N_REF, *cfg) for i, cfg in enumerate(CONFIGS)}


@pytest.mark.parametrize(("sqrt_s", "mass"), CONFIGS)
def test_generator_distributions_match_the_traced_reference(references, sqrt_s, mass):
    """cos(theta_gamma), E_gamma and their joint distribution (CM) of the exact model against the reference."""
    ref = references[(sqrt_s, mass)]
    ev = _generated("exact", sqrt_s, mass, N_GEN, 5)
    E, cos = ev["photon_E"].astype(float), ev["photon_pz"].astype(float) / ev["photon_E"].astype(float)
    rE, rcos = ref["k"][:, 0], ref["k"][:, 3] / ref["k"][:, 0]
    e_edges = np.linspace(min(E.min(), rE.min()), max(E.max(), rE.max()) * (1 + 1e-9), 21)
    c_edges = np.linspace(-1, 1, 21)
    for p in (
        _compare(cos, rcos, ref["weight"], c_edges),
        _compare(E, rE, ref["weight"], e_edges),
        _compare((E, cos), (rE, rcos), ref["weight"], (e_edges[::2], c_edges[::2])),
    ):
        assert p > 1e-3


def test_helicity_model_fails_the_same_comparison(references):
    """The helicity approximation (no P_T) fails the angular comparison that the exact model passes."""
    sqrt_s, mass = 2.0, 1.0
    ref = references[(sqrt_s, mass)]
    rcos = ref["k"][:, 3] / ref["k"][:, 0]
    edges = np.linspace(-1, 1, 21)
    p = {}
    for model in ("exact", "helicity"):
        ev = _generated(model, sqrt_s, mass, N_GEN, 6)
        p[model] = _compare(ev["photon_pz"] / ev["photon_E"], rcos, ref["weight"], edges)
    assert p["exact"] > 1e-3 and p["helicity"] < 1e-6


def _efficiency_error(passed: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted efficiency and its binomial-like MC error: var = sum w^2 (pass - eff)^2 / (sum w)^2."""
    eff = float(np.sum(w * passed) / np.sum(w))
    return eff, float(math.sqrt(np.sum(w**2 * (passed - eff) ** 2)) / np.sum(w))


@pytest.mark.parametrize(
    ("scenario", "sqrt_s", "mass", "beams", "helicity_off"),
    [
        ("stcf-2gev", 2.0, 1.0, None, True),  # helicity 8% above exact: > 10 sigma here
        ("stcf-4gev", 4.0, 1.0, None, False),  # 5% above: about 5 sigma with this reference, not asserted
        ("belle2-lowmass", 10.583, 1.0, (7.0, 4.0), False),  # 2% above
    ],
)
def test_efficiency_under_real_cuts(references, scenario, sqrt_s, mass, beams, helicity_off):
    """The generator's exact efficiency equals the traced reference's within the MC errors; helicity's does not."""
    sc = get_scenario(scenario)
    sel = build_selection(sc, sc.points[0])
    ref = references.get((sqrt_s, mass)) or reference_events(np.random.default_rng(21), N_REF, sqrt_s, mass)
    k = ref["k"]
    beta = 0.0 if beams is None else (beams[0] - beams[1]) / (beams[0] + beams[1])
    k_lab = lorentz_boost(k, np.tile([0.0, 0.0, beta], (len(k), 1)))
    theta_cm = np.arccos(k[:, 3] / k[:, 0])
    cols = PhotonColumns(k[:, 0], theta_cm, np.arccos(k_lab[:, 3] / k_lab[:, 0]))
    eff_ref, err_ref = _efficiency_error(sel.passed(cols), ref["weight"])
    effs = {}
    for model in ("exact", "helicity"):
        spec = SignalSpec(Beams(*beams) if beams else Beams.symmetric_at(sqrt_s), mass, decay_model=model)
        ev = generate_signal_chunk(np.random.default_rng(8), N_GEN, spec, N_GEN)
        E, pz = ev["photon_E"].astype(float), ev["photon_pz"].astype(float)
        E_lab, pz_lab = boost_z(E, pz, spec.beams.beta)
        theta_lab = np.arccos(np.clip(pz_lab / E_lab, -1, 1))
        passed = sel.passed(PhotonColumns(E, np.arccos(np.clip(pz / E, -1, 1)), theta_lab))
        effs[model] = (passed.mean(), math.sqrt(passed.mean() * (1 - passed.mean()) / N_GEN))
    sigma = math.hypot(err_ref, effs["exact"][1])
    assert abs(effs["exact"][0] - eff_ref) < 4 * sigma
    if helicity_off:
        assert abs(effs["helicity"][0] - eff_ref) > 5 * sigma


def test_one_sample_reweighted_to_exact(references):
    """Item 4 of the reweighting plan: an isotropic sample, reweighted event by event from its stored four-vectors,
    gives the exact model's efficiency (against the traced reference) within the MC errors."""
    sqrt_s, mass = 2.0, 1.0
    sc = get_scenario("stcf-2gev")
    sel = build_selection(sc, sc.points[0])
    ev = _generated("isotropic", sqrt_s, mass, N_GEN, 9)
    four = ("E", "px", "py", "pz")
    z, c, cpsi = decay_angles({k: ev[f"N_{k}"] for k in four}, {k: ev[f"photon_{k}"] for k in four})
    w = model_weights("exact", "isotropic", z, c, cpsi, sqrt_s=sqrt_s, mass=mass)
    assert np.mean(w) == pytest.approx(1.0, abs=5 * np.std(w) / math.sqrt(N_GEN))
    E, pz = ev["photon_E"].astype(float), ev["photon_pz"].astype(float)
    theta = np.arccos(np.clip(pz / E, -1, 1))
    eff_rw, err_rw = _efficiency_error(sel.passed(PhotonColumns(E, theta, theta)), w)
    ref = references[(sqrt_s, mass)]
    k = ref["k"]
    th = np.arccos(k[:, 3] / k[:, 0])
    eff_ref, err_ref = _efficiency_error(sel.passed(PhotonColumns(k[:, 0], th, th)), ref["weight"])
    assert abs(eff_rw - eff_ref) < 4 * math.hypot(err_rw, err_ref)
