"""The energy frontier through the pipeline: the colliders configuration and its gate, the electroweak nu nubar gamma
generator, the single-photon selections, the signal with Z exchange and polarised beams in the yields, and a run.

The physics itself (amplitudes, widths, the background's law) is tested against explicit Dirac algebra in
``test_electroweak_matrix_element`` and ``test_electroweak_background``; here every number is checked where the
pipeline uses it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dipole_portal.core.config import (
    PACKAGED_CONFIGURATIONS,
    ElectroweakSetting,
    EnergyPoint,
    get_scenario,
    load_scenarios,
    parse_scenarios,
)
from dipole_portal.core.constants import DEFAULT_CONSTANTS
from dipole_portal.core.errors import InputError
from dipole_portal.core.options import Operator
from dipole_portal.samples.electroweak_physics import (
    BeamPolarisation,
    ElectroweakDipole,
    production_xsec_pb,
    width_nu_gamma_GeV,
    width_nu_z_GeV,
    z_width_to_ee_GeV,
    z_width_to_n_nu_GeV,
)
from dipole_portal.samples.kinematics import Beams
from tests.conftest import empty_report_parts

COLLIDERS = PACKAGED_CONFIGURATIONS["colliders"]
MZ, GZ = 91.1876, 2.4955


def colliders_raw() -> dict:
    return json.loads(COLLIDERS.read_text())


def parsed(raw: dict, tmp_path: Path):
    """Parse ``raw`` as if it were a file beside the packaged one (its CSV tables resolve)."""
    return parse_scenarios(raw, COLLIDERS.parent / "edited.json")


# -- the configuration -----------------------------------------------------------------------------------------


def test_the_colliders_configuration_names_every_collider_operator_and_source():
    sc = load_scenarios("colliders")
    ew = {n: s for n, s in sc.items() if s.electroweak is not None}
    assert {n.rsplit("-", 1)[0] for n in ew} == {"lep1", "lep2", "cepc", "fccee", "ilc250"}
    for collider in ("lep1", "lep2", "cepc", "fccee", "ilc250"):
        assert {sc[f"{collider}-{op}"].electroweak.operator for op in ("photon", "btype", "wtype")} == {
            Operator.PHOTON,
            Operator.HYPERCHARGE,
            Operator.WEAK_ISOSPIN,
        }
    for s in ew.values():
        assert "source" in s.detector.params["single_photon"] and len(s.detector.params["single_photon"]["source"]) > 40
    ilc = sc["ilc250-wtype"]
    assert math.isclose(ilc.lumi_fb, 2000.0) and len({p.label for p in ilc.points}) == 4
    assert [p.lumi_fb / 2000 for p in ilc.points] == pytest.approx([0.45, 0.45, 0.05, 0.05])
    assert {"bes3", "belle2-lowmass", "stcf-4gev-30ab"} <= set(sc)  # the figure's low-energy curves
    assert "radiative Bhabha" in colliders_raw()["$comment"]


def test_photon_only_scenarios_keep_the_cache_keys_they_had():
    """A scenario without Z exchange or polarisation has neither in its definition (its cache key is unchanged);
    one with them has both."""
    for s in load_scenarios().values():
        d = s.as_dict()
        assert "electroweak" not in d and all("polarisation" not in p for p in d["points"])
    d = get_scenario("ilc250-btype", "colliders").as_dict()
    assert d["electroweak"] == {"operator": "hypercharge", "dz_over_dgamma": None}
    assert d["points"][0]["polarisation"] == [-0.8, 0.3]


def _bad_documents():
    """(what is wrong, edit of the colliders document, words the one-line error must hold)."""

    def pol_without_z(d):
        d["scenarios"]["bes3-pol"] = {**d["scenarios"]["belle2-lowmass"]}
        d["scenarios"]["bes3-pol"]["points"] = [
            {"sqrt_s_GeV": 10.583, "lumi_fb": 1.0, "polarisation": {"e_minus": 0.7, "e_plus": 0.0}}
        ]

    def edit(path, value):
        def f(d):
            node = d
            for k in path[:-1]:
                node = node[k]
            if value is None:
                del node[path[-1]]
            else:
                node[path[-1]] = value

        return f

    def duplicate(d):
        pts = d["scenarios"]["ilc250-btype"]["points"]
        pts.append(dict(pts[0]))

    return [
        ("polarisation without Z exchange", pol_without_z, ("polarised beams need Z exchange", "scenarios/bes3-pol")),
        ("free without its ratio", edit(("scenarios", "lep1-btype", "electroweak"), {"operator": "free"}), ("free",)),
        (
            "a ratio its operator fixes",
            edit(("scenarios", "lep1-btype", "electroweak"), {"operator": "hypercharge", "dz_over_dgamma": 2.0}),
            ("hypercharge", "dz_over_dgamma"),
        ),
        ("an unknown operator", edit(("scenarios", "lep1-btype", "electroweak"), {"operator": "gluon"}), ("gluon",)),
        (
            "polarisation above 1",
            edit(("scenarios", "ilc250-btype", "points", 0, "polarisation", "e_minus"), 1.2),
            ("1.2",),
        ),
        ("the same data set twice", duplicate, ("250 GeV", "given twice")),
        ("a decreasing recoil window", edit(("detectors", "cepc", "recoil_veto_GeV"), [102.0, 80.0]), ("recoil",)),
        ("no single-photon block", edit(("detectors", "lep1", "single_photon"), None), ("single_photon", "lep1")),
        ("no recoil window", edit(("detectors", "cepc", "recoil_veto_GeV"), None), ("recoil_veto_GeV", "cepc")),
        (
            "an electron veto of zero",
            edit(("detectors", "ilc", "single_photon", "electron_veto_mrad"), 0),
            ("electron_veto_mrad",),
        ),
    ]


@pytest.mark.parametrize(("what", "change", "words"), _bad_documents(), ids=[b[0] for b in _bad_documents()])
def test_a_bad_electroweak_configuration_is_refused_in_one_line(tmp_path, what, change, words):
    raw = colliders_raw()
    change(raw)
    with pytest.raises(InputError) as err:
        parsed(raw, tmp_path)
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_the_command_line_refuses_a_bad_electroweak_file_with_exit_code_2(tmp_path):
    raw = colliders_raw()
    raw["scenarios"]["lep1-btype"]["electroweak"] = {"operator": "free"}
    raw["scenarios"]["bes3"]["points_csv"] = str(COLLIDERS.parent / "bes3_datasets.csv")
    bad = tmp_path / "colliders_bad.json"
    bad.write_text(json.dumps(raw))
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "run", "--scenarios", str(bad), "--output", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2, res.stderr
    assert "lep1-btype/electroweak" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o").exists()


def test_a_packaged_configuration_is_found_by_name_unless_a_file_of_that_name_exists(tmp_path, monkeypatch):
    from dipole_portal.core.config import configuration_path

    monkeypatch.chdir(tmp_path)
    assert configuration_path("colliders") == COLLIDERS
    (tmp_path / "colliders").write_text("{}")
    assert configuration_path("colliders") == Path("colliders")
    with pytest.raises(InputError, match="colliders"):
        load_scenarios("colliders")


# -- the electroweak nu nubar gamma generator ------------------------------------------------------------------


def _quadrature_pb(spec, n=(4000, 400)) -> float:
    """The law integrated over the spec's box by midpoint quadrature in (ln E, artanh z), with the radiative-return
    peak resolved (E grid refined around it)."""
    from dipole_portal.samples.electroweak_background import nunugamma_d2sigma_dE_dz_pb

    reg, rs = spec.region, spec.beams.sqrt_s
    peak = (rs**2 - MZ**2) / (2 * rs)
    edges = np.unique(
        np.concatenate(
            [
                np.geomspace(reg.E_min, reg.E_max, n[0] + 1),
                np.clip(peak + np.linspace(-40, 40, 4001) * GZ * MZ / rs / 2, reg.E_min, reg.E_max),
            ]
        )
    )
    E = 0.5 * (edges[1:] + edges[:-1])[:, None]
    dE = np.diff(edges)[:, None]
    a = np.linspace(math.atanh(reg.cos_min), math.atanh(reg.cos_max), n[1] + 1)
    z = np.tanh(0.5 * (a[1:] + a[:-1]))[None, :]
    dz = (1 - z * z) * np.diff(a)[None, :]
    return float(np.sum(nunugamma_d2sigma_dE_dz_pb(E, z, rs, spec.ew) * dE * dz))


@pytest.mark.parametrize(("sqrt_s", "pol"), [(91.19, (0.0, 0.0)), (161.0, (0.0, 0.0)), (250.0, (-0.8, 0.3))])
def test_the_electroweak_nunugamma_sample_integrates_its_law(sqrt_s, pol):
    """The weights sum to the law's integral over the box within 4 MC standard errors, the radiative-return channel
    keeps the effective sample size above a third of the events, and the same seed gives the same bits."""
    from dipole_portal.samples.generators import NuNuGammaSpec, generate_chunks
    from dipole_portal.samples.kinematics import PhaseSpaceRegion

    spec = NuNuGammaSpec(
        Beams.symmetric_at(sqrt_s),
        PhaseSpaceRegion(1.0, sqrt_s / 2 * 0.999, -0.95, 0.95),
        electroweak=BeamPolarisation(*pol),
    )
    w = np.concatenate([c["weight"] for c in generate_chunks(spec, 7, 200_000, 50_000)])
    err = w.std() * math.sqrt(len(w))
    assert abs(w.sum() - _quadrature_pb(spec)) < 4 * err, (w.sum(), _quadrature_pb(spec), err)
    assert w.sum() ** 2 / np.sum(w * w) > len(w) / 3
    again = np.concatenate([c["weight"] for c in generate_chunks(spec, 7, 200_000, 50_000)])
    assert np.array_equal(w, again)


def test_an_electroweak_sample_says_so_in_its_metadata_and_its_cache_key(tmp_path):
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import NuNuGammaSpec
    from dipole_portal.samples.kinematics import PhaseSpaceRegion
    from dipole_portal.samples.rootio import read_metadata

    box = PhaseSpaceRegion(1.0, 100.0, -0.9, 0.9)
    spec = NuNuGammaSpec(Beams.symmetric_at(240.0), box, electroweak=BeamPolarisation(0.8, 0.0))
    meta = read_metadata(generate_to_root(spec, tmp_path / "ew.root", 3, 1000))
    assert meta["background_model"] == "electroweak" and meta["polarisation"] == {"e_minus": 0.8, "e_plus": 0.0}
    old = read_metadata(generate_to_root(NuNuGammaSpec(Beams.symmetric_at(240.0), box), tmp_path / "s2.root", 3, 1000))
    assert "background_model" not in old and "polarisation" not in old


# -- the selections --------------------------------------------------------------------------------------------


def test_the_recoil_veto_acts_only_above_its_window_and_the_pt_cut_follows_the_electron_veto():
    from dipole_portal.selections.cuts import build_selection, veto_pt_GeV

    sc = get_scenario("cepc-photon", "colliders")
    names = {p.sqrt_s: build_selection(sc, p).cut_names for p in sc.points}
    assert names[91.19] == ["acceptance", "energy", "pt"]
    assert all(names[e] == ["acceptance", "energy", "pt", "recoil_veto"] for e in (160.0, 240.0, 360.0))
    # a photon at 90 deg (E = pT) and an electron at theta_v balancing its pT (E = pT / sin) share sqrt(s)
    pt = veto_pt_GeV(240.0, 30.0)
    assert pt + pt / math.sin(0.03) == pytest.approx(240.0, rel=1e-12)


def test_the_background_composition_agrees_with_the_selected_sample(tmp_path):
    """The table's quadrature of the accepted electroweak background against the MC selection of a sample, within
    4 MC standard errors and 1% for the quadrature; the recoil veto removes the radiative return at 240 GeV."""
    from dipole_portal.analysis.energy_frontier import background_composition
    from dipole_portal.analysis.tasks import background_sample
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.process import process_sample

    sc = get_scenario("ilc250-photon", "colliders")
    point = sc.points[0]
    spec, seed = background_sample(sc, point, 5)
    res = process_sample(
        generate_to_root(spec, tmp_path / "b.root", seed, 200_000), "nunugamma", build_selection(sc, point)
    )
    comp = background_composition(sc, point)
    assert abs(comp["accepted_xsec_pb"] - res.xsec_pb) < 4 * res.xsec_err_pb + 0.01 * res.xsec_pb
    assert 0.9 < comp["nu_e_share"] < 1  # e-_L beams: the W term dominates
    cepc = get_scenario("cepc-photon", "colliders")
    at_240 = background_composition(cepc, cepc.points[2])
    assert at_240["recoil_veto_removes"] > 0.4


# -- the signal with Z exchange --------------------------------------------------------------------------------


def _yields(scenario, mass, events=4000):
    from dipole_portal.analysis.tasks import YieldsRequest, compute_yields

    return compute_yields(YieldsRequest(scenario, mass, events=events, seed=11))


def test_the_photon_only_operator_at_belle_ii_reproduces_the_paper_physics_signal():
    """Z exchange with d_Z = 0 and unpolarised beams: the same signal cross section and efficiency as the paper's
    physics from the same sample (to 1e-9), and an electroweak background that differs from SPEC 2's by what the
    quadrature of the two laws says, within the MC errors."""
    from dipole_portal.selections.reference import background_xsec_pb as spec2_quadrature

    paper = get_scenario("belle2-lowmass")
    ew = dataclasses.replace(paper, name="belle2-lowmass-ew", electroweak=ElectroweakSetting(Operator.PHOTON))
    a, b = _yields(paper, 1.0).channels[0], _yields(ew, 1.0).channels[0]
    assert b.signal_xsec_pb == pytest.approx(a.signal_xsec_pb, rel=1e-9)
    assert b.efficiency == pytest.approx(a.efficiency, rel=1e-9)
    assert b.width_factor == 1.0
    from dipole_portal.analysis.energy_frontier import background_composition
    from dipole_portal.selections.cuts import build_selection

    point = paper.points[0]
    ratio_law = background_composition(ew, point, n=(2000, 800))["accepted_xsec_pb"] / spec2_quadrature(
        build_selection(paper, point)
    )
    ratio_mc = b.background_xsec_pb / a.background_xsec_pb
    err = math.hypot(b.background_xsec_err_pb / b.background_xsec_pb, a.background_xsec_err_pb / a.background_xsec_pb)
    assert abs(ratio_mc / ratio_law - 1) < 4 * err + 0.01
    assert abs(ratio_law - 1) < 0.1  # 10.58 GeV is far below M_Z: the electroweak law is SPEC 2's within O(s/M_Z^2)


def _pole_scenario(operator: Operator, ratio: float | None = None):
    sc = get_scenario("lep1-photon", "colliders")
    pole = EnergyPoint(MZ, 1.0, Beams.symmetric_at(MZ))
    return dataclasses.replace(
        sc, name=f"pole-{operator}", points=(pole,), electroweak=ElectroweakSetting(operator, ratio)
    )


def test_at_the_z_pole_the_signal_is_the_photons_plus_the_breit_wigner():
    """At sqrt(s) = M_Z the Z term is imaginary and does not interfere with the photon's: sigma = sigma_gamma(d_gamma)
    + 12 pi Gamma_ee Gamma(Z -> N nubar + c.c.) / (M_Z^2 Gamma_Z^2), which the yields carry for d_gamma = d_ref."""
    y = _yields(_pole_scenario(Operator.HYPERCHARGE), 5.0)
    ch = y.channels[0]
    tan_w = math.sqrt(DEFAULT_CONSTANTS.sin2_theta_w / (1 - DEFAULT_CONSTANTS.sin2_theta_w))
    photon = production_xsec_pb(MZ, 5.0, ElectroweakDipole(ch.d_ref))
    bw = 12 * math.pi * z_width_to_ee_GeV() * z_width_to_n_nu_GeV(5.0, -tan_w * ch.d_ref) / (MZ**2 * GZ**2)
    assert ch.signal_xsec_pb == pytest.approx(photon + bw * DEFAULT_CONSTANTS.gev2_to_pb, rel=1e-9)
    assert bw * DEFAULT_CONSTANTS.gev2_to_pb / photon > 100


def test_above_m_z_the_width_and_the_rate_carry_the_branching_ratio():
    sc = get_scenario("cepc-wtype", "colliders")
    sc = dataclasses.replace(sc, points=(sc.points[2],))  # 240 GeV
    mass = 150.0
    ch = _yields(sc, mass).channels[0]
    cot_w = math.sqrt((1 - DEFAULT_CONSTANTS.sin2_theta_w) / DEFAULT_CONSTANTS.sin2_theta_w)
    dip = ElectroweakDipole(ch.d_ref, cot_w * ch.d_ref)
    br = width_nu_gamma_GeV(mass, dip) / (width_nu_gamma_GeV(mass, dip) + width_nu_z_GeV(mass, dip))
    assert 0.2 < br < 0.6
    assert ch.width_factor == pytest.approx(1 / br, rel=1e-3)
    assert ch.signal_xsec_pb == pytest.approx(production_xsec_pb(240.0, mass, dip) * br, rel=1e-3)


def test_polarised_data_sets_are_separate_channels_with_the_photons_polarisation_law():
    """Photon-only production through helicity-conserving vertices: sigma(P-, P+) = (1 - P- P+) sigma(0, 0), for
    each of ILC's four data sets; each is its own pyhf channel."""
    from dipole_portal.stats.models import build_spec

    sc = get_scenario("ilc250-photon", "colliders")
    y = _yields(sc, 10.0)
    unpolarised = production_xsec_pb(250.0, 10.0, ElectroweakDipole(y.channels[0].d_ref))
    for ch, p in zip(y.channels, sc.points, strict=True):
        pe, pp = p.polarisation
        assert ch.signal_xsec_pb == pytest.approx((1 - pe * pp) * unpolarised, rel=1e-12)
        assert ch.label == p.label
    spec = build_spec(y, 1e-5, False)
    names = [c["name"] for c in spec["channels"]]
    assert len(set(names)) == 4 and "E250p000GeV_Pm80p30" in names
    import pyhf

    pyhf.Workspace(spec)  # valid against pyhf's schema


def test_the_polarisation_enters_the_electroweak_background():
    """Right-handed electrons switch the W term off: the accepted background drops by far more than the Z part's
    helicity weights alone (the nu_e share falls)."""
    from dipole_portal.analysis.energy_frontier import background_composition

    sc = get_scenario("ilc250-photon", "colliders")
    left, right = (background_composition(sc, p) for p in sc.points[:2])
    assert left["accepted_xsec_pb"] > 5 * right["accepted_xsec_pb"]
    assert left["nu_e_share"] > right["nu_e_share"]


def test_the_yields_file_keeps_the_polarisation(tmp_path):
    from dipole_portal.selections.yields_file import read_yields, write_yields

    sc = get_scenario("ilc250-btype", "colliders")
    y = _yields(sc, 10.0, events=2000)
    path = write_yields(tmp_path / "y.json", y, sc)
    back = read_yields(path)
    assert [c.label for c in back.channels] == [c.label for c in y.channels]
    assert back.channel_signal_events(1e-5) == pytest.approx(y.channel_signal_events(1e-5), rel=1e-12)


def test_cutflow_refuses_a_background_sample_of_the_other_law(tmp_path):
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import NuNuGammaSpec
    from dipole_portal.samples.kinematics import PhaseSpaceRegion

    spec = NuNuGammaSpec(Beams.symmetric_at(91.19), PhaseSpaceRegion(1.0, 45.0, -0.9, 0.9))
    path = generate_to_root(spec, tmp_path / "spec2.root", 1, 1000)
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "cutflow", "--input", str(path), "--scenario", "lep1-btype"]
        + ["--scenarios", "colliders"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "SPEC 2's law" in res.stderr and str(path) in res.stderr, res.stderr


# -- a run -----------------------------------------------------------------------------------------------------

FRONTIER_SCENARIOS = ("lep1-photon", "lep1-btype", "lep1-dz1", "ilc250-photon")


@pytest.fixture(scope="module")
def frontier_run(tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("frontier")
    only = [a for n in FRONTIER_SCENARIOS for a in ("--scenario", n)]
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "run", "--scenarios", "colliders", *only, "--output", str(out / "o")]
        + ["--cache", str(out / "cache"), "--workers", "2", "--hepdata-ins", "ins0000000"],
        capture_output=True,
        text=True,
        env={**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"},
    )
    assert res.returncode == 0, res.stderr
    return out / "o"


def test_a_colliders_run_writes_the_energy_frontier_table_figure_and_report(frontier_run):
    import csv

    out = frontier_run
    doc = json.loads((out / "limits" / "energy_frontier.json").read_text())
    rows = {r["scenario"]: r for r in doc["rows"]}
    assert set(rows) == set(FRONTIER_SCENARIOS)
    with (out / "limits" / "energy_frontier.csv").open() as f:
        table = {r["scenario"]: r for r in csv.DictReader(f)}
    for name, r in rows.items():
        limits = json.loads((out / "limits" / f"{name}_limits.json").read_text())
        assert limits["electroweak"] == {"operator": r["operator"], "dz_over_dgamma": r["dz_over_dgamma"]}
        best = min(row["d95_cls"] for row in limits["limits"])
        assert r["best_d95_cls"] == best and float(table[name]["best_d95_cls"]) == pytest.approx(best, rel=1e-6)
    assert rows["lep1-btype"]["dz_over_dgamma"] == pytest.approx(-0.5484, abs=1e-4)
    assert rows["ilc250-photon"]["leading_data_set"] == "E250p000GeV_Pm80p30"
    composition = {c["data_set"] for c in doc["background_composition"]}
    assert composition == {"91.190GeV"} | {p.label for p in get_scenario("ilc250-photon", "colliders").points}
    from dipole_portal.plotting.limit_figures import load_curves

    assert {c.coupling for c in load_curves(out / "limits").values()} == {"d_gamma"}  # every table has Z exchange
    report = (out / "report.md").read_text()
    assert "## The energy frontier" in report and "![The energy frontier" in report
    assert (out / "figures" / "energy_frontier.png").stat().st_size > 10_000


def test_the_report_states_the_z_pole_ratio_of_its_own_tables(frontier_run):
    """The report's 'B-type / photon-only' at LEP1 is the ratio of the two curves at 1 GeV, and the Z pole makes the
    B-type limit on d_gamma stronger by the resonance: the ratio is below 1/3."""
    import re

    doc = json.loads((frontier_run / "limits" / "energy_frontier.json").read_text())
    rows = {r["scenario"]: r for r in doc["rows"]}
    ratio = rows["lep1-btype"]["d95_cls_at"]["1"] / rows["lep1-photon"]["d95_cls_at"]["1"]
    line = next(ln for ln in (frontier_run / "report.md").read_text().splitlines() if ln.startswith("| LEP1"))
    assert re.search(rf"\| {ratio:.3f} \|", line), line
    assert ratio < 1 / 3


def test_the_z_pole_scenarios_stand_beside_the_existing_lep_bound(frontier_run):
    """The table sets LEP1's curves beside HNLimits' LEP contour (about 2.1e-5 GeV^-1 from 1 MeV to a few GeV), the
    report shows them, and d_Z = d_gamma lies within a factor two of it at 1 GeV (one experiment's expected limit
    against a bound from LEP's Z-pole data)."""
    doc = json.loads((frontier_run / "limits" / "energy_frontier.json").read_text())
    lep = doc["lep_comparison"]
    assert set(lep["curves"]) == {"lep1-photon", "lep1-btype", "lep1-dz1"}  # ilc250 is not at the pole
    i = lep["masses_GeV"].index(1.0)
    assert lep["existing"][i] == pytest.approx(2.1e-5, rel=0.02)
    assert 1 < lep["curves"]["lep1-dz1"][i] / lep["existing"][i] < 2
    report = (frontier_run / "report.md").read_text()
    assert "### Beside the existing LEP bound" in report and "from arXiv:1803.03262" in report
    assert "\t" not in report


def test_a_run_without_reproduction_targets_says_so_once_and_prints_no_empty_section(frontier_run):
    """colliders.json names no reproduction target: no conclusion, headline or qualitative section, one sentence
    saying why, and no heading or table left empty anywhere."""
    from dipole_portal.analysis.report import NO_TARGETS

    report = (frontier_run / "report.md").read_text()
    assert report.count(NO_TARGETS) == 1 and "model study" not in report
    for heading in ("## Conclusion", "## Headline limits against the paper", "## The paper's qualitative"):
        assert heading not in report
    assert empty_report_parts(report) == []


def test_the_colliders_hepdata_and_pyhf_files_open(frontier_run):
    import jsonpatch
    import pyhf
    import yaml
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    sub = frontier_run / "hepdata" / "submission"
    validator = FullSubmissionValidator()
    assert validator.validate(directory=str(sub)), validator.get_messages()
    docs = list(yaml.safe_load_all((sub / "submission.yaml").read_text()))
    described = {d["data_file"]: d["description"] for d in docs[1:]}
    assert "d_gamma (operator hypercharge: d_Z = -0.5484 d_gamma)" in described["expected_limit_lep1-btype.yaml"]
    ws_dir = frontier_run / "workspaces"
    bkg = json.loads((ws_dir / "ilc250-photon_bkgonly.json").read_text())
    patch = json.loads(next((ws_dir / "ilc250-photon_patches").glob("*.json")).read_text())
    ws = pyhf.Workspace(jsonpatch.apply_patch(bkg, patch))
    assert len(ws.channels) == 4


def test_the_command_the_provenance_gives_reproduces_the_limit_with_pyhfs_own_cli(frontier_run):
    """ILC's workspace (6.5x10^6 background events over four channels) opened with pyhf's command line as each
    provenance file says (MIGRAD): the patch at the tabulated limit gives a median expected CLs of 0.05 at three
    masses. pyhf's default scipy optimiser returns CLs near 1 there; the command names the optimiser that works."""
    import shlex

    ws_dir = frontier_run / "workspaces"
    prov = json.loads((ws_dir / "ilc250-photon_provenance.json").read_text())
    assert "--optimizer minuit" in prov["pyhf_cls"]
    patches = sorted((ws_dir / "ilc250-photon_patches").glob("*.json"))
    for patch in (patches[1], patches[len(patches) // 2], patches[-2]):
        args = shlex.split(prov["pyhf_cls"].replace("<patch>", patch.name))
        res = subprocess.run(
            [str(Path(sys.executable).parent / args[0]), *args[1:]], cwd=ws_dir, capture_output=True, text=True
        )
        assert res.returncode == 0, res.stderr[-2000:]
        assert json.loads(res.stdout)["CLs_exp"][2] == pytest.approx(0.05, rel=0.02), patch.name
