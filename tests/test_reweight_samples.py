"""One isotropic signal sample, reweighted in the selection, stands for every decay model and counting.

Checked against samples generated natively in each model: the selected efficiencies agree within their MC errors
(weighted errors for the reweighted sample), at a moderate mass and for an ultra-relativistic N, where the
rest-frame angles can no longer be recomputed from float32 four-vectors and are read from their branches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import uproot

from dipole_portal.core.config import get_scenario
from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.samples.reweight import decay_angles
from dipole_portal.selections.cuts import build_selection
from dipole_portal.selections.process import SelectedSample, process_sample

EVENTS = 60_000
MODELS = ("exact", "helicity", "backward", "forward")


@pytest.mark.parametrize(("scenario", "mass"), [("belle2-lowmass", 1.0), ("stcf-4gev", 0.005)])
def test_reweighted_isotropic_sample_matches_native_samples(tmp_path, scenario, mass):
    sc = get_scenario(scenario)
    point = sc.points[0]
    sel = build_selection(sc, point)
    base = generate_to_root(
        SignalSpec(point.beams, mass, decay_model="isotropic"), tmp_path / "iso.root", seed=1, events=EVENTS
    )
    pulls = {}
    for model in MODELS:
        native = SelectedSample.from_result(
            process_sample(
                generate_to_root(
                    SignalSpec(point.beams, mass, decay_model=model), tmp_path / f"{model}.root", seed=2, events=EVENTS
                ),
                "signal",
                sel,
            )
        )
        rew = SelectedSample.from_result(process_sample(base, "signal", sel, decay_model=model))
        assert rew.xsec_total_pb == pytest.approx(native.xsec_total_pb, rel=1e-12)  # the sample keeps sigma
        pulls[model] = (rew.efficiency - native.efficiency) / math.hypot(rew.efficiency_err, native.efficiency_err)
    assert all(abs(p) < 4 for p in pulls.values()), pulls
    # the models differ here by many sigma, so agreement is not trivial
    effs = [
        SelectedSample.from_result(process_sample(base, "signal", sel, decay_model=m)).efficiency
        for m in ("backward", "forward")
    ]
    assert abs(effs[0] - effs[1]) > 0.02


def test_weighted_efficiency_error_is_the_spread_over_seeds(tmp_path):
    """The quoted error of a reweighted efficiency equals the spread of the efficiency over independent samples:
    with 24 samples the ratio of the two is within [0.6, 1.4] with probability > 0.99 (chi2 with 23 dof)."""
    sc = get_scenario("belle2-lowmass")
    point = sc.points[0]
    sel = build_selection(sc, point)
    effs, errs = [], []
    for seed in range(24):
        path = generate_to_root(
            SignalSpec(point.beams, 2.0, decay_model="isotropic"), tmp_path / f"{seed}.root", seed=seed, events=4_000
        )
        r = SelectedSample.from_result(process_sample(path, "signal", sel, decay_model="forward"))
        effs.append(r.efficiency)
        errs.append(r.efficiency_err)
    ratio = np.std(effs, ddof=1) / np.mean(errs)
    assert 0.6 < ratio < 1.4, ratio


def test_counting_scales_the_cross_section_only(tmp_path):
    sc = get_scenario("stcf-2gev")
    point = sc.points[0]
    sel = build_selection(sc, point)
    path = generate_to_root(
        SignalSpec(point.beams, 1.0, decay_model="isotropic"), tmp_path / "s.root", seed=3, events=20_000
    )
    two = process_sample(path, "signal", sel, decay_model="exact", n_modes=2)
    one = process_sample(path, "signal", sel, decay_model="exact", n_modes=1)
    assert one.cutflow.sumw[0] == pytest.approx(two.cutflow.sumw[0] / 2, rel=1e-12)
    assert one.efficiency == pytest.approx(two.efficiency, rel=1e-12)
    assert np.allclose(one.histogram.values(), two.histogram.values() / 2)
    assert np.allclose(one.histogram.variances(), two.histogram.variances() / 4)
    assert one.metadata["n_cc_modes"] == 1 and one.metadata["reweighted_from"]["decay_model"] == "isotropic"


def test_stored_rest_frame_angles_equal_the_recomputed_ones(tmp_path):
    """At m_N = 1 GeV the angles recomputed from the four-vectors (vector boosts) equal the stored ones."""
    spec = SignalSpec(get_scenario("belle2-bbg").points[0].beams, 1.0, decay_model="exact")
    path = generate_to_root(spec, tmp_path / "s.root", seed=4, events=20_000)
    with uproot.open(path) as f:
        a = f["events"].arrays(library="np")
    four = {p: {k: a[f"{p}_{k}"] for k in ("E", "px", "py", "pz")} for p in ("N", "photon")}
    z, c_star, cos_psi = decay_angles(four["N"], four["photon"])
    assert np.allclose(c_star, a["cos_theta_star"], atol=2e-3)
    ok = np.abs(c_star) < 0.99  # the azimuth is undefined along n
    assert np.allclose(cos_psi[ok], a["cos_psi"][ok], atol=2e-2)
