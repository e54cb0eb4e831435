"""The realistic detector beyond the decay volume: the measured photon direction, the calorimeter resolution, a
Majorana N, the first-crossing limit solver, and the yields files that carry them."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import uproot

from dipole_portal.samples.signal_physics import decay_length_at_momentum_m
from dipole_portal.selections.decay_volume import DecayVolume, exit_distance_m
from dipole_portal.selections.detector_response import (
    CalorimeterResolution,
    DetectorResponse,
    RegionResolution,
    smear,
)

BELLE2 = DecayVolume(radius_m=1.25, z_forward_m=1.96, z_backward_m=-1.02)


def _inside(v: DecayVolume, x: np.ndarray) -> np.ndarray:
    return (np.hypot(x[..., 0], x[..., 1]) < v.radius_m) & (x[..., 2] < v.z_forward_m) & (x[..., 2] > v.z_backward_m)


def _exit_by_bisection(v: DecayVolume, start: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Independent: where rays from interior points leave the cylinder, by bisection on the inside test."""
    lo, hi = np.zeros(len(start)), np.full(len(start), 20.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        ins = _inside(v, start + mid[:, None] * direction)
        lo, hi = np.where(ins, mid, lo), np.where(ins, hi, mid)
    return lo


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1)[:, None]


def test_exit_distance_from_interior_points_against_bisection():
    rng = np.random.default_rng(5)
    n = 2000
    start = _unit(rng, n) * rng.uniform(0, 1.0, n)[:, None]
    start = start[_inside(BELLE2, start)]
    g = _unit(rng, len(start))
    t, barrel = exit_distance_m(BELLE2, start, g)
    assert t == pytest.approx(_exit_by_bisection(BELLE2, start, g), abs=1e-9)
    end = start + t[:, None] * g
    assert np.allclose(np.hypot(end[barrel, 0], end[barrel, 1]), BELLE2.radius_m)
    assert np.all(np.isclose(end[~barrel, 2], BELLE2.z_forward_m) | np.isclose(end[~barrel, 2], BELLE2.z_backward_m))
    assert 0.2 < barrel.mean() < 0.9


def test_smearing_has_the_configured_widths():
    """Energies smeared by sigma_E/E = a/sqrt(E); impact points by the position resolution along the surface."""
    res = CalorimeterResolution(RegionResolution(0.025, 6.0), RegionResolution(0.05, 9.0))
    rng = np.random.default_rng(2)
    n = 200_000
    E = np.full(n, 0.25)  # GeV: the resolutions double from their 1 GeV values
    barrel = np.arange(n) % 2 == 0
    impact = np.where(barrel[:, None], [0.94, 0.0, 0.3], [0.5, 0.0, 1.38])
    out, E_s = smear(impact, barrel, E, res, rng.standard_normal((n, 2)))
    tol = 4 / math.sqrt(n / 2)  # relative error of a standard deviation from n/2 values, 4 sigma (x sqrt 2)
    assert np.std(E_s[barrel] / E[barrel] - 1) == pytest.approx(0.05, rel=tol)
    assert np.std(E_s[~barrel] / E[~barrel] - 1) == pytest.approx(0.10, rel=tol)
    assert np.std(out[barrel, 2] - 0.3) == pytest.approx(0.012, rel=tol)
    assert np.std(np.hypot(out[~barrel, 0], out[~barrel, 1]) - 0.5) == pytest.approx(0.018, rel=tol)
    assert np.all(out[~barrel, 2] == 1.38) and np.all(np.hypot(out[barrel, 0], out[barrel, 1]) == 0.94)


def _measured_by_hand(sel, g_lab, n_lab, t, vol):
    """Independent measured photon: decay point t along N, exit point by bisection, direction from the origin."""
    import vector

    from dipole_portal.selections.cuts import PhotonColumns

    p = np.stack([g_lab.px, g_lab.py, g_lab.pz], axis=1)
    g = p / np.linalg.norm(p, axis=1)[:, None]
    nd = np.stack([n_lab.px, n_lab.py, n_lab.pz], axis=1)
    start = nd / np.linalg.norm(nd, axis=1)[:, None] * t[:, None]
    end = start + _exit_by_bisection(vol, start, g)[:, None] * g
    u = end / np.linalg.norm(end, axis=1)[:, None]
    lab = vector.array({"px": g_lab.E * u[:, 0], "py": g_lab.E * u[:, 1], "pz": g_lab.E * u[:, 2], "E": g_lab.E})
    cm = lab.boostZ(beta=-sel.beta)
    return sel.passed(PhotonColumns(np.asarray(cm.E), np.asarray(cm.theta), np.arccos(np.clip(u[:, 2], -1, 1))))


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_measured_direction_weights_against_regenerated_decays(tmp_path, scale):
    """The direction step's stored (k, interval) shares give, at a coupling d, the fraction of all events that decay
    inside the volume and pass the cuts on the measured direction; checked against decay points drawn at that d
    with an independent exit-point computation. The direction's own effect (against the true direction, on the same
    decay points, so only events that change acceptance count) is resolved and reproduced. m_N = 0.3 GeV at BESIII,
    where the photon leaves the N line."""
    from dipole_portal.selections.cuts import PhotonColumns
    from dipole_portal.selections.decay_volume import mean_decay_probability
    from dipole_portal.selections.process import SelectedSample, process_sample
    from tests.conftest import selected_signal

    mass = 0.3
    sel, vol, res, photon, n = selected_signal(tmp_path, "bes3", mass, seed=4, events=60_000, measured_direction=True)
    g = photon.boostZ(beta=sel.beta)
    path = tmp_path / "s.root"
    lam1 = decay_length_at_momentum_m(np.asarray(n.p), mass, 1.0)  # decay length at d = 1 GeV^-1
    d = scale * math.sqrt(float(np.median(lam1)))  # median decay length 1 m / scale^2: displaced decays
    t = np.random.default_rng(8).exponential(lam1 / d**2)
    inside = _inside(vol, np.stack([n.px, n.py, n.pz], axis=1) / np.asarray(n.p)[:, None] * t[:, None])
    passed = np.zeros(len(t), dtype=bool)
    passed[inside] = _measured_by_hand(sel, g[inside], n[inside], t[inside], vol)
    frac = passed.mean()
    passed_true = inside & sel.passed(
        PhotonColumns(np.asarray(photon.E), np.asarray(photon.theta), np.asarray(g.theta))
    )

    def model(r: SelectedSample) -> float:
        return r.efficiency * float(
            mean_decay_probability(np.array(r.decay_k_mean), np.array(r.decay_k_fraction), d, r.decay_u_edges)
        )

    true_dir = SelectedSample.from_result(process_sample(path, "signal", sel, response=DetectorResponse(vol)))
    assert 0.05 < frac < 0.5
    sigma = math.sqrt(frac * (1 - frac) / len(t))
    assert model(res) == pytest.approx(frac, abs=4 * sigma)
    effect, flip_sigma = frac - passed_true.mean(), math.sqrt((passed != passed_true).mean() / len(t))
    assert abs(effect) > 3 * flip_sigma  # the measured direction changes the acceptance, visibly
    assert model(res) - model(true_dir) == pytest.approx(effect, abs=4 * flip_sigma)


def _limit(scenario, mass: float, cache, **kw):
    from dipole_portal.analysis.tasks import YieldsRequest, compute_yields
    from dipole_portal.stats.limits import compute_limit

    y = compute_yields(YieldsRequest(scenario, mass, events=20_000, **kw), cache)
    return compute_limit(y, "chi2")


def test_majorana_n_decays_twice_as_fast_and_emits_isotropically(tmp_path):
    """Long-lived (10 MeV): d95 x 2^(-1/4) against a Dirac N with the isotropic law; prompt (2 GeV): no change."""
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.config import get_scenario
    from dipole_portal.core.errors import InputError

    sc = get_scenario("belle2-bbg")
    for mass, expected in ((0.01, 2**-0.25), (2.0, 1.0)):
        maj = _limit(sc, mass, Cache(tmp_path), detector_model="geometry", n_type="majorana")
        dirac = _limit(sc, mass, Cache(tmp_path), detector_model="geometry", decay_model="isotropic")
        assert maj.d95 / dirac.d95 == pytest.approx(expected, rel=2e-3)
        assert (maj.n_type, maj.decay_model, dirac.n_type) == ("majorana", "isotropic", "dirac")
    paper = _limit(sc, 0.01, Cache(tmp_path), n_type="majorana").d95
    paper_dirac = _limit(sc, 0.01, Cache(tmp_path), decay_model="isotropic").d95
    assert paper / paper_dirac == pytest.approx(2**-0.25, rel=2e-3)  # the paper's P_dec too
    from dipole_portal.analysis.tasks import YieldsRequest

    with pytest.raises(InputError, match="Majorana"):
        YieldsRequest(sc, 1.0, n_type="majorana", decay_model="forward")
    with pytest.raises(InputError, match="N type"):
        YieldsRequest(sc, 1.0, n_type="sterile")


def test_smeared_background_box_is_wide_enough(tmp_path):
    """nu nubar gamma smeared with the realistic detector: a box twice as widened accepts the same cross section."""
    from dipole_portal.core.config import get_scenario
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import NuNuGammaSpec
    from dipole_portal.samples.kinematics import PhaseSpaceRegion
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.generation import SMEAR_MARGIN_SIGMAS, detector_response, generation_region
    from dipole_portal.selections.process import process_sample

    for name in ("belle2-lowmass", "bes3"):
        sc = get_scenario(name)
        point = sc.points[0]
        box = generation_region(sc, point, smeared=True)
        plain = generation_region(sc, point)
        assert box.E_min < plain.E_min and box.cos_min < plain.cos_min and box.cos_max > plain.cos_max
        wide = PhaseSpaceRegion(
            max(box.E_min - (plain.E_min - box.E_min), 1e-3),
            box.E_max,
            max(box.cos_min - (plain.cos_min - box.cos_min), -1 + 1e-9),
            min(box.cos_max + (box.cos_max - plain.cos_max), 1 - 1e-9),
        )
        sel = build_selection(sc, point)
        out = []
        for i, region in enumerate((box, wide)):
            path = generate_to_root(
                NuNuGammaSpec(point.beams, region), tmp_path / f"{name}{i}.root", seed=i + 1, events=300_000
            )
            r = process_sample(path, "nunugamma", sel, response=detector_response(sc, "realistic", 7))
            out.append((r.xsec_pb, r.xsec_err_pb))
        (a, ea), (b, eb) = out
        assert a == pytest.approx(b, abs=4 * math.hypot(ea, eb)), (name, SMEAR_MARGIN_SIGMAS)


def test_limit_is_the_first_crossing_when_the_signal_can_fall():
    """A yields whose displaced decays are accepted and prompt ones not: S(d) rises, then falls. The limit is the
    smallest d reaching the criterion, checked by brute force on a fine grid."""
    from dipole_portal.selections.yields import ChannelYield, ScenarioYields
    from dipole_portal.stats import chi2 as chi2mod
    from dipole_portal.stats.limits import compute_limit

    edges = [0.0, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0]
    frac = [[0.0] * 7 + [1.0, 1.0, 1.0]]  # accepted only when N decays past 35% of its path
    ch = ChannelYield(
        4.0,
        1000.0,
        0.1,
        1e-5,
        1.0,
        1.0,
        1e-3,
        0.5,
        0.01,
        1e-4,
        0.0,
        0.0,
        decay_k_mean=[1e10],
        decay_k_fraction=frac,
        decay_u_edges=edges,
    )
    y = ScenarioYields("test", 0.1, "exact", 2, [ch], detector_model="direction")
    assert y.signal_may_decrease
    grid = np.geomspace(1e-7, 1e-3, 20001)
    s = np.array([float(y.signal_events(d)) for d in grid])
    assert s.argmax() < len(s) - 1 and s[-1] < s.max() / 10  # it does fall
    chi = np.array([chi2mod.chi2(np.array([x]), y.channel_background_events) for x in s])
    first = grid[np.argmax(chi >= chi2mod.CHI2_95)]
    r = compute_limit(y, "cls", calculator="asymptotic")
    assert r.d95_chi2 == pytest.approx(first, rel=1e-3)
    assert r.d95_cls < grid[s.argmax()] and r.detector_model == "direction"
    with pytest.raises(Exception, match="binned fit"):
        compute_limit(y, "cls", binned=True)


def _yields_record(tmp_path):
    from dipole_portal.analysis.tasks import YieldsRequest, compute_yields
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.yields_file import yields_record

    sc = get_scenario("belle2-bbg")
    y = compute_yields(YieldsRequest(sc, 0.3, events=5_000, detector_model="direction"), Cache(tmp_path / "c"))
    return yields_record(y, sc)


@pytest.mark.parametrize(
    "change",
    [
        {"decay_u_edges": [0.0, 0.5, 0.4, 1.0]},  # not increasing
        {"decay_u_edges": [0.1, 1.0]},  # not from 0
        {"decay_u_edges": None},  # shares without edges
        {"decay_k_fraction": "rows"},  # a row of the wrong length
        {"decay_k_fraction": "double"},  # an interval's shares summing to 2
        {"decay_k_fraction": "negative"},
        {"decay_k_mean": "nan"},
        {"width_factor": -2.0},
        {"width_factor": "two"},
    ],
)
def test_yields_file_with_bad_detector_fields_is_refused(tmp_path, change, capsys):
    """Every malformed realistic-detector field: one line naming the file and the field, exit code 2."""
    from dipole_portal.analysis.cli import main

    rec = _yields_record(tmp_path)
    ch = rec["channels"][0]
    assert len(ch["decay_u_edges"]) == 11 and len(ch["decay_k_fraction"][0]) == 10
    key, value = next(iter(change.items()))
    if value == "rows":
        ch[key] = [row[:-1] for row in ch[key]]
    elif value == "double":
        ch[key] = [[2 * x for x in row] for row in ch[key]] * 2
        ch["decay_k_mean"] = ch["decay_k_mean"] * 2
    elif value == "negative":
        ch[key][0][0] = -0.1
    elif value == "nan":
        ch[key][0] = float("nan")
    else:
        ch[key] = value
    path = tmp_path / "bad_yields.json"
    path.write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(["limit", "--yields", str(path), "--method", "chi2"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and ("decay_" in lines[0] or "width_factor" in lines[0]), lines
    good = tmp_path / "good_yields.json"
    good.write_text(json.dumps(_yields_record(tmp_path)))
    assert main(["limit", "--yields", str(good), "--method", "chi2"]) == 0


def test_cli_runs_each_detector_step_and_a_majorana_n(tmp_path, capsys):
    from click.testing import CliRunner

    from dipole_portal.analysis.cli import cli

    out = {}
    for model, n_type in (
        ("paper", "dirac"),
        ("geometry", "dirac"),
        ("direction", "dirac"),
        ("realistic", "dirac"),
        ("realistic", "majorana"),
    ):
        r = CliRunner().invoke(
            cli,
            [
                "limit",
                "--scenario",
                "belle2-bbg",
                "--mass",
                "0.05",
                "--events",
                "5000",
                "--method",
                "chi2",
                "--detector-model",
                model,
                "--n-type",
                n_type,
                "--cache",
                str(tmp_path),
                "--json",
            ],
        )
        assert r.exit_code == 0, r.output
        rec = json.loads(r.output[r.output.index("{") :])
        assert (rec["detector_model"], rec["n_type"]) == (model, n_type)
        out[model, n_type] = rec["d95"]
    assert out["geometry", "dirac"] > out["paper", "dirac"]  # Belle II's calorimeter is nearer than 3 m
    assert out["realistic", "majorana"] < out["realistic", "dirac"]
    from dipole_portal.analysis.cli import main

    capsys.readouterr()
    assert main(["limit", "--scenario", "belle2-bbg", "--mass", "0.05", "--detector-model", "ideal"]) == 2
    assert "ideal" in capsys.readouterr().err


def test_select_names_its_files_and_histograms_for_the_detector_model(tmp_path):
    from click.testing import CliRunner

    from dipole_portal.analysis.cli import cli

    r = CliRunner().invoke(
        cli,
        [
            "select",
            "--scenario",
            "belle2-bbg",
            "--mass",
            "0.05",
            "--events",
            "5000",
            "--detector-model",
            "realistic",
            "--n-type",
            "majorana",
            "--cache",
            str(tmp_path / "c"),
            "--output",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 0, r.output
    stem = "belle2-bbg_m0.05_isotropic_realistic_majorana"
    rec = json.loads((tmp_path / "o" / f"{stem}_yields.json").read_text())
    assert (rec["detector_model"], rec["n_type"], rec["decay_model"]) == ("realistic", "majorana", "isotropic")
    assert rec["channels"][0]["width_factor"] == 2.0
    with uproot.open(tmp_path / "o" / f"{stem}_histograms.root") as f:
        meta = json.loads(str(f["metadata"]))
    assert meta["detector_model"] == "realistic" and meta["n_type"] == "majorana"


def test_response_is_reproducible():
    """The same seed gives the same smeared bits; another seed other bits."""
    res = CalorimeterResolution(RegionResolution(0.013, 5.0), RegionResolution(0.013, 5.0))
    rng = np.random.default_rng(0)
    p = _unit(rng, 1000) * 2.0
    E = np.linalg.norm(p, axis=1)
    cols = [
        DetectorResponse(BELLE2, True, res, 0).photon_columns(
            p / E[:, None], E, 0.27, np.random.default_rng(s).standard_normal((1000, 2))
        )
        for s in (1, 1, 2)
    ]
    assert np.array_equal(cols[0].E, cols[1].E) and not np.array_equal(cols[0].E, cols[2].E)
    assert dataclasses.is_dataclass(cols[0])


def test_stacked_channel_decay_probabilities_equal_each_channels_own():
    """The limit solvers' stacked (zero-padded) evaluation over channels equals each channel's own sum, for channels
    with different numbers of k bins, with one or ten decay intervals, and a Majorana width."""
    from dipole_portal.selections.yields import ChannelYield, ScenarioYields

    rng = np.random.default_rng(3)
    for edges in ([0.0, 1.0], [0.0, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0]):
        channels = []
        for n_b in (1, 4, 9):
            f = rng.uniform(0, 1, (n_b, len(edges) - 1))
            f /= f.sum(axis=0).max() if len(edges) > 2 else f.sum()
            channels.append(
                ChannelYield(
                    4.0 + n_b,
                    100.0,
                    0.05,
                    1e-5,
                    1.0,
                    1.0,
                    1e-3,
                    0.4,
                    0.01,
                    1e-4,
                    1e-6,
                    0.0,
                    decay_k_mean=list(10 ** rng.uniform(8, 12, n_b)),
                    decay_k_fraction=f.tolist(),
                    decay_u_edges=edges,
                    width_factor=2.0,
                )
            )
        y = ScenarioYields("test", 0.05, "exact", 2, channels)
        for d in (1e-7, 1e-6, 1e-5, 1e-4):
            own = np.array([float(c.signal_events(d)) for c in channels])
            assert np.allclose(y.channel_signal_events(d), own, rtol=1e-12, atol=0)
