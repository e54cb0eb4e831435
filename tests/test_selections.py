"""Selections: MC efficiencies and backgrounds against deterministic quadrature; geometry; boundaries."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from dipole_portal.analysis.tasks import yields_for
from dipole_portal.core.config import EnergyPoint, get_scenario
from dipole_portal.samples.kinematics import Beams
from dipole_portal.samples.rootio import write_events
from dipole_portal.selections import geometry as geo
from dipole_portal.selections import reference
from dipole_portal.selections.cuts import build_selection
from dipole_portal.selections.process import process_sample
from dipole_portal.selections.reader import photon_columns

EVENTS = 200_000  # efficiency MC error <= 0.0011; background MC error well below 1%


def bes3_point_418():
    return EnergyPoint(4.18, 3189.0 / 1000, Beams.symmetric_at(4.18))


@pytest.mark.parametrize("decay_model", ["helicity", "backward"])
def test_bes3_advanced_418_against_quadrature(tmp_path, decay_model):
    import dataclasses

    from dipole_portal.analysis.tasks import YieldsRequest, selected_sample
    from dipole_portal.core.cache import Cache

    sc, pt = get_scenario("bes3"), bes3_point_418()
    one = dataclasses.replace(sc, points=(pt,))
    cache = Cache(tmp_path)
    ((_, sig_job, bkg_job),) = YieldsRequest(one, 1.0, decay_model=decay_model, events=EVENTS, seed=5).jobs(cache)
    sel = build_selection(sc, pt)
    # the isotropic sample, reweighted
    sig = selected_sample(sig_job, one, pt, "signal", cache, decay_model=decay_model)
    assert sig.efficiency == pytest.approx(reference.signal_efficiency(sel, 1.0, decay_model), abs=0.01)
    if decay_model == "helicity":
        bkg = selected_sample(bkg_job, one, pt, "nunugamma", cache)
        ref = reference.background_xsec_pb(sel)
        assert bkg.xsec_pb == pytest.approx(ref, rel=0.02)
        assert bkg.xsec_err_pb / bkg.xsec_pb < 0.005


@pytest.mark.parametrize("name", ["belle2-lowmass", "belle2-highmass", "belle2-bbg"])
def test_belle2_against_quadrature(tmp_path, name):
    sc = get_scenario(name)
    y = yields_for(sc, 1.0, decay_model="helicity", events=EVENTS, seed=7, cache=tmp_path)
    ch = y.channels[0]
    sel = build_selection(sc, sc.points[0])
    assert ch.efficiency == pytest.approx(reference.signal_efficiency(sel, 1.0, "helicity"), abs=0.01)
    assert ch.background_xsec_pb == pytest.approx(reference.background_xsec_pb(sel), rel=0.02)


def test_ecl_edges_in_cm():
    t1, t2 = geo.ecl_edges_cm_deg(3 / 11, (12.4, 155.1))
    assert t1 == pytest.approx(16.36, abs=0.005) and t2 == pytest.approx(161.05, abs=0.005)


def test_bbg_boundary_continuous_and_capped():
    sqrt_s = 10.583
    t1, t2 = geo.ecl_edges_cm_deg(3 / 11, (12.4, 155.1))
    theta = np.radians(np.linspace(t1 + 1e-6, t2 - 1e-6, 200_001))
    em = geo.bbg_energy_GeV(theta, sqrt_s, t1, t2)
    assert np.all(np.isfinite(em)) and np.all(em <= sqrt_s / 2) and np.all(em > 0)
    assert np.max(np.abs(np.diff(em))) < 1e-3  # no jumps on a 0.0007 deg grid
    assert em[0] == sqrt_s / 2  # capped near the forward edge
    assert em.min() == pytest.approx(2.46, abs=0.02)


def test_region_contains_every_accepted_photon():
    for name in ("belle2-lowmass", "belle2-bbg", "belle2-highmass", "stcf-4gev"):
        sc = get_scenario(name)
        sel = build_selection(sc, sc.points[0])
        reg = sel.region()
        rng = np.random.default_rng(0)
        E = rng.uniform(1e-3, sel.sqrt_s / 2, 2_000_000)
        cth = rng.uniform(-0.99999, 0.99999, 2_000_000)
        outside = (E < reg.E_min) | (cth < reg.cos_min) | (cth > reg.cos_max)
        theta = np.arccos(cth)
        lab = np.radians(geo.cm_to_lab_theta_deg(np.degrees(theta), sel.beta)) if sel.beta else theta
        from dipole_portal.selections.cuts import PhotonColumns

        assert not np.any(sel.passed(PhotonColumns(E, theta, lab)) & outside)


def _boundary_photons(sel, n=2000):
    """Photons placed on each energy boundary of the selection (rounded to float32 like stored samples)."""
    theta = np.radians(np.linspace(20, 150, n))
    if sel.beta:
        t1, t2 = geo.ecl_edges_cm_deg(sel.beta, (12.4, 155.1))
        E = geo.bbg_energy_GeV(theta, sel.sqrt_s, t1, t2)
    else:
        E = geo.advanced_energy_GeV(theta, sel.sqrt_s, 0.95)
        E = np.concatenate([E, np.full(n, 0.025)])
        theta = np.concatenate([theta, np.arccos(np.linspace(-0.79, 0.79, n))])
    phi = np.linspace(0, 2 * np.pi, len(E))
    f32 = np.float32
    return {
        "photon_E": E.astype(f32),
        "photon_px": (E * np.sin(theta) * np.cos(phi)).astype(f32),
        "photon_py": (E * np.sin(theta) * np.sin(phi)).astype(f32),
        "photon_pz": (E * np.cos(theta)).astype(f32),
        "weight": np.ones(len(E)),
    }


@pytest.mark.parametrize("name", ["belle2-bbg", "bes3"])
def test_boundary_photons_same_on_every_path(tmp_path, name):
    sc = get_scenario(name)
    pt = sc.points[0] if name != "bes3" else bes3_point_418()
    sel = build_selection(sc, pt)
    data = _boundary_photons(sel)
    meta = {"process": "nunugamma", "sqrt_s_GeV": sel.sqrt_s}
    path = write_events(tmp_path / "b.root", iter([data]), meta)
    # path 1: ROOT file -> uproot.iterate -> awkward/vector -> cut-flow and histogram
    res = process_sample(path, "nunugamma", sel)
    # path 2: in-memory awkward arrays through the same column builder
    photon = ak.zip(
        {k: np.asarray(data[f"photon_{k}"], np.float64) for k in ("px", "py", "pz", "E")}, with_name="Momentum4D"
    )
    cols = photon_columns(ak.zip({"photon": photon, "weight": data["weight"]}, depth_limit=1), sel.beta)
    mask = sel.passed(cols)
    assert res.cutflow.events[-1] == int(mask.sum())
    assert res.histogram.values(flow=True).sum() == pytest.approx(mask.sum())
    assert 0 < mask.sum() < len(mask)  # rounding puts some photons on each side; all paths agree


def test_yields_scale_with_luminosity_and_gap_background(tmp_path):
    low = yields_for(get_scenario("belle2-lowmass"), 1.0, events=20_000, cache=tmp_path)
    assert low.channels[0].gap_background_events == pytest.approx(300 * 50000 / 20)
    assert low.background_events == pytest.approx(low.background_irreducible_events + 750000)
    bbg = yields_for(get_scenario("belle2-bbg"), 1.0, events=20_000, cache=tmp_path)
    assert bbg.background_events == bbg.background_irreducible_events


def test_mass_above_every_energy_is_an_input_error(tmp_path):
    from dipole_portal.core.errors import InputError

    with pytest.raises(InputError, match="cannot be produced"):
        yields_for(get_scenario("stcf-2gev"), 2.5, events=1000, cache=tmp_path)
    y = yields_for(get_scenario("bes3"), 4.5, events=2000, cache=tmp_path)
    assert min(c.sqrt_s for c in y.channels) > 4.5  # lower energies skipped


def test_scenarios_with_different_cuts_are_different_keys(tmp_path):
    """Memoised selections are keyed by the scenario: a changed cut must not hit the other scenario's entry."""
    import json

    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import DEFAULT_SCENARIOS, load_scenarios

    cfg = json.loads(DEFAULT_SCENARIOS.read_text())
    cfg["detectors"]["stcf"]["barrel"]["cos_max"] = 0.75
    (tmp_path / "bes3_datasets.csv").write_text((DEFAULT_SCENARIOS.parent / "bes3_datasets.csv").read_text())
    (tmp_path / "tight.json").write_text(json.dumps(cfg))
    a = load_scenarios()["stcf-2gev"]
    b = load_scenarios(tmp_path / "tight.json")["stcf-2gev"]
    assert a != b
    ya = yields_for(a, 1.0, events=20_000, cache=tmp_path)
    yb = yields_for(b, 1.0, events=20_000, cache=tmp_path)
    assert yb.background_events < ya.background_events


QUADRATURE_ERR = 2e-4  # the 300 x 300 x 48 grid against one twice as fine: |difference| < 1e-4 at three points


@pytest.mark.parametrize(
    ("name", "mass"), [("stcf-2gev", 1.0), ("stcf-7gev", 0.3), ("belle2-bbg", 5.0), ("belle2-lowmass", 1.0)]
)
def test_default_yields_reproduce_the_exact_matrix_element_efficiency(tmp_path, name, mass):
    """The default model is exact, and its yields reproduce the quadrature of the traced matrix element's law
    (tests/test_spin_correlation.py checks that law against Dirac traces) within the MC error."""
    import math

    sc = get_scenario(name)
    ch = yields_for(sc, mass, events=100_000, cache=tmp_path).channels[0]
    ref = reference.signal_efficiency(build_selection(sc, sc.points[0]), mass, "exact")
    assert abs(ch.efficiency - ref) < 4 * math.hypot(ch.efficiency_err, QUADRATURE_ERR)
