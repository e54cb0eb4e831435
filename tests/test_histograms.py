"""Histograms: Weight storage to ROOT TH2D and UHI JSON and back; vector lab angles equal the closed-form boost."""

from __future__ import annotations

import numpy as np
import pytest
import uproot

from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.samples.kinematics import Beams
from dipole_portal.selections import histograms
from dipole_portal.selections.reader import iterate_photons, photon_columns


def test_round_trip_root_and_json(tmp_path):
    rng = np.random.default_rng(1)
    h = histograms.make_histogram(10.583)
    histograms.fill(h, rng.uniform(0, 5.3, 10_000), rng.uniform(0.2, 2.8, 10_000), rng.exponential(1e-3, 10_000))
    histograms.write_root(tmp_path / "h.root", {"signal_10.583GeV": h})
    histograms.write_json(tmp_path / "h.json", {"signal_10.583GeV": h})
    with uproot.open(tmp_path / "h.root") as f:
        assert f["signal_10.583GeV"].classname == "TH2D"
    for back in (histograms.read_root(tmp_path / "h.root"), histograms.read_json(tmp_path / "h.json")):
        g = back["signal_10.583GeV"]
        assert np.allclose(g.values(flow=True), h.values(flow=True), rtol=1e-12)
        assert np.allclose(g.variances(flow=True), h.variances(flow=True), rtol=1e-12)
        assert [a.name for a in g.axes] == ["E_gamma", "theta_gamma"]
        assert np.allclose(g.axes[0].edges, h.axes[0].edges)


def test_vector_lab_angles_match_closed_form_boost(tmp_path):
    """The selection's lab angle (vector's boost of the stored CM photon) equals the closed-form boost
    E' = gamma (E + beta pz), pz' = gamma (pz + beta E) of the same branches; the files store no lab branches."""
    from dipole_portal.core.beams import boost_z

    spec = SignalSpec(Beams(7.0, 4.0), 2.0)
    path = generate_to_root(spec, tmp_path / "s.root", seed=3, events=50_000)
    chunk = next(iterate_photons(path))
    cols = photon_columns(chunk, spec.beams.beta)
    with uproot.open(path) as f:
        a = f["events"].arrays(["photon_E", "photon_px", "photon_py", "photon_pz"], library="np")
        assert not any(k.endswith("_lab") for k in f["events"].keys())
    _, pz_lab = boost_z(a["photon_E"].astype(float), a["photon_pz"].astype(float), spec.beams.beta)
    theta_gen = np.arctan2(np.hypot(a["photon_px"], a["photon_py"]), pz_lab)
    assert np.allclose(cols.theta_lab, theta_gen, atol=2e-6)
    assert not np.allclose(cols.theta_lab, cols.theta_cm, atol=1e-2)  # the boost matters


def test_missing_branch_is_named(tmp_path):
    from dipole_portal.core.errors import InputError
    from dipole_portal.samples.rootio import write_events

    data = {"photon_E": np.ones(10), "weight": np.ones(10)}
    path = write_events(tmp_path / "x.root", iter([data]), {"process": "signal"})
    with pytest.raises(InputError, match="branch 'photon_px' missing"):
        next(iterate_photons(path))
