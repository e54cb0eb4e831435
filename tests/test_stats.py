"""Limits: chi2 closed form, CLs against exact/asymptotic results, d mapping, d_ref independence, outputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jsonpatch
import numpy as np
import pyhf
import pytest
from scipy import optimize, stats

from dipole_portal.selections.yields import ChannelYield, ScenarioYields
from dipole_portal.stats import chi2 as chi2mod
from dipole_portal.stats.cls import asymptotic_limits, toy_limits
from dipole_portal.stats.limits import compute_limit
from dipole_portal.stats.models import ANCHOR_FRACTION, Systematics, build_spec
from dipole_portal.stats.pyhf_setup import pyhf_backend


@pytest.fixture(autouse=True)
def _pyhf_numpy_minuit():
    """pyhf's numpy backend with iminuit for each test, restored afterwards."""
    with pyhf_backend():
        yield


def synthetic(masses_sqrt_s, mass, lumi=1000.0, eff=0.3, bkg_xsec=1e-3, d_ref=1e-5, length=0.8):
    chans = [
        ChannelYield(
            sqrt_s=e,
            lumi_fb=lumi,
            mass=mass,
            d_ref=d_ref,
            eps_det=1.0,
            length_m=length,
            signal_xsec_pb=2e-4 * (d_ref / 1e-5) ** 2,
            efficiency=eff,
            efficiency_err=0.0,
            background_xsec_pb=bkg_xsec,
            background_xsec_err_pb=bkg_xsec * 1e-4,
            gap_background_events=0.0,
        )
        for e in masses_sqrt_s
    ]
    return ScenarioYields("synthetic", mass, "helicity", 2, chans)


@pytest.mark.parametrize("background", [0.0, 3.0, 1e4, 7.5e5])
def test_chi2_matches_closed_form_when_prompt(background):
    y = synthetic([4.0], 3.0, bkg_xsec=background / 1e6)  # L = 1000 fb^-1: B = 1e6 sigma_pb
    d95 = chi2mod.d95_chi2(
        lambda d: np.array([c.signal_events(d) for c in y.channels]),
        np.array([c.background_events for c in y.channels]),
    )
    assert float(y.channels[0].decay_probability(d95)) == pytest.approx(1.0, abs=1e-9)
    assert float(y.signal_events(d95)) == pytest.approx(chi2mod.s95_closed_form(background), rel=1e-8)


def test_toy_cls_single_bin_zero_background_gives_three_events():
    lim = toy_limits(np.array([1.0]), np.array([1e-3]), guess=3.0, ntoys=200_000)
    assert lim.median == pytest.approx(-math.log(0.05), rel=0.03)
    assert lim.median == pytest.approx(3.0, rel=0.03)


@pytest.mark.slow
def test_numpy_toys_agree_with_pyhf_toys():
    """Cross-check of the numpy toy calculator against pyhf's toybased calculator at one point."""
    from dipole_portal.stats.toys import expected_cls

    S, B, ntoys = 3.0, 0.01, 1500
    model = pyhf.simplemodels.uncorrelated_background([S], [B], [B * 1e-3])
    data = list(model.expected_data([0.0] + [1.0] * (model.config.npars - 1)))
    cls_pyhf = float(
        pyhf.infer.hypotest(
            1.0, data, model, test_stat="qtilde", calctype="toybased", ntoys=ntoys, track_progress=False
        )
    )
    cls_np = float(expected_cls(1.0, np.array([S]), np.array([B]), 200_000)[2])
    err = math.sqrt(cls_np * (1 - cls_np) / ntoys) / 0.99  # pyhf's toy statistics dominate
    assert abs(cls_pyhf - cls_np) < 4 * err
    assert cls_np == pytest.approx(math.exp(-S), rel=0.05)


@pytest.mark.parametrize("B", [400.0, 1e4])
def test_asymptotic_cls_against_formula(B):
    """Large B: median and +-1 sigma expected limits agree with the Asimov formulae of Cowan et al."""
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {
                        "name": "signal",
                        "data": [1.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "bkg",
                        "data": [B],
                        "modifiers": [{"name": "st", "type": "staterror", "data": [B * 1e-6]}],
                    },
                ],
            }
        ],
        "observations": [{"name": "c", "data": [B]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    lim = asymptotic_limits(spec, guess=2 * math.sqrt(B))

    def q_asimov(S):  # q_mu on background-only Asimov data for a single Poisson bin
        return 2 * (S - B * math.log1p(S / B))

    # CLs_exp(N) = (1 - Phi(sqrt(q) - N)) / Phi(N)... solved numerically for the median and +-1 sigma
    for k, N in ((1, -1), (2, 0), (3, 1)):

        def f(S, N=N):
            sq = math.sqrt(q_asimov(S))
            return stats.norm.sf(sq - N) / stats.norm.cdf(N) - 0.05

        expected = optimize.brentq(f, 1e-3, 50 * math.sqrt(B))
        assert lim.bands[k] == pytest.approx(expected, rel=0.01)


def test_d95_finite_and_monotonic_from_long_lived_to_prompt():
    masses = np.geomspace(1e-3, 3.9, 40)
    d95 = []
    for m in masses:
        y = synthetic([4.0], m)
        d95.append(
            chi2mod.d95_chi2(
                lambda d, y=y: np.array([c.signal_events(d) for c in y.channels]),
                np.array([c.background_events for c in y.channels]),
            )
        )
    d95 = np.array(d95)
    assert np.all(np.isfinite(d95)) and np.all(d95 > 0)
    plong = [float(synthetic([4.0], m).channels[0].decay_probability(d)) for m, d in zip(masses, d95, strict=True)]
    assert plong[0] < 1e-3 and plong[-1] == pytest.approx(1.0)  # the scan spans long-lived to prompt
    # long-lived: S ~ d^4 m^4, the limit falls steeply with mass; prompt: flat then rising as sigma closes
    long_lived = np.array(plong) < 0.5
    assert np.all(np.diff(d95[long_lived]) < 0)
    assert np.all(np.diff(d95[masses < 1.0]) <= 1e-12 * d95[masses < 1.0][1:])
    for m, d in zip(masses, d95, strict=True):
        ds = np.geomspace(d / 100, d * 100, 200)
        assert np.all(np.diff(synthetic([4.0], m).signal_events(ds)) > 0)


def test_multichannel_cls_independent_of_d_ref():
    """Long-lived N over three energies (the channel mix changes with d): self-consistent d, any d_ref."""
    out = []
    for d_ref in (1e-5, 1e-3):
        y = synthetic([2.0, 3.0, 4.5], 0.05, bkg_xsec=5e-4, d_ref=d_ref)
        r = compute_limit(y, "cls", calculator="asymptotic")
        out.append((r.d95_chi2, r.d95_cls))
        assert float(y.channels[0].decay_probability(r.d95_cls)) < 0.5  # really long-lived
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-6)
    assert out[0][1] == pytest.approx(out[1][1], rel=0.01)


def test_bes3_chi2_independent_of_d_ref(tmp_path):
    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import get_scenario

    res = []
    for d_ref in (1e-5, 1e-3):
        y = yields_for(get_scenario("bes3"), 0.05, events=5000, cache=tmp_path, d_ref=d_ref)
        res.append(compute_limit(y, "chi2").d95)
    assert res[0] == pytest.approx(res[1], rel=0.01)


def run(*args):
    return subprocess.run([sys.executable, "-m", "dipole_portal", *args], capture_output=True, text=True)


def test_cli_limit_json(tmp_path):
    res = run(
        "limit", "--scenario", "stcf-4gev", "--mass", "1", "--events", "20000", "--cache", str(tmp_path), "--json"
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["method"] == "cls" and out["calculator"] == "asymptotic"
    assert 1e-6 < out["d95"] < 1e-5 and out["signal_events"] > 0 and out["background_events"] > 100
    assert len(out["d95_cls_bands"]) == 5 and sorted(out["d95_cls_bands"]) == out["d95_cls_bands"]


def _pyhf_cli(*args: str) -> str:
    res = subprocess.run([str(Path(sys.executable).with_name("pyhf")), *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout


TEST_INSPIRE_ID = "ins0000000"  # syntactically valid for pyhf's schema; it names no record


def test_cli_limits_scan_outputs_pass_pyhf_tools(tmp_path):
    """The published artefacts work with pyhf's own command line: ``inspect`` on the background-only workspace,
    ``cls`` with each per-mass patch (CLs_exp = 0.050 at the tabulated asymptotic limit), and with an INSPIRE
    id, ``patchset verify`` and ``apply``; without one, no patchset (pyhf's schema requires it)."""
    args = [
        "limits",
        "--scenario",
        "stcf-2gev",
        "--masses",
        "0.1,1.0",
        "--events",
        "20000",
        "--cache",
        str(tmp_path / "w"),
        "--output",
    ]
    res = run(*args, str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    o = tmp_path / "o"
    csv_lines = (o / "stcf-2gev_limits.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and csv_lines[0].startswith("mass_GeV,d95_chi2,d95_cls")
    table = json.loads((o / "stcf-2gev_limits.json").read_text())
    assert [r["mass_GeV"] for r in table["limits"]] == [0.1, 1.0]
    assert not (o / "stcf-2gev_patchset.json").exists() and "needs --hepdata-ins" in res.stderr
    bkg = str(o / "stcf-2gev_bkgonly.json")
    summary = _pyhf_cli("inspect", bkg)
    assert "nunugamma" in summary and "signal" not in summary
    for mass in ("0p1", "1"):
        cls = json.loads(
            _pyhf_cli(
                "cls", bkg, "--patch", str(o / "stcf-2gev_patches" / f"mN_{mass}GeV.json"), "--measurement", "expected"
            )
        )
        assert cls["CLs_exp"][2] == pytest.approx(0.05, abs=0.002), mass  # the patch holds the median limit
    with_ins = tmp_path / "o2"
    assert run(*args, str(with_ins), "--hepdata-ins", TEST_INSPIRE_ID).returncode == 0
    ps = str(with_ins / "stcf-2gev_patchset.json")
    _pyhf_cli("patchset", "verify", str(with_ins / "stcf-2gev_bkgonly.json"), ps)
    applied = json.loads(
        _pyhf_cli("patchset", "apply", str(with_ins / "stcf-2gev_bkgonly.json"), ps, "--name", "mN_1GeV")
    )
    ws = pyhf.Workspace(json.loads((with_ins / "stcf-2gev_bkgonly.json").read_text()))
    patch = json.loads((with_ins / "stcf-2gev_patches" / "mN_1GeV.json").read_text())
    assert applied["channels"] == pyhf.Workspace(jsonpatch.apply_patch(ws, patch))["channels"]
    assert [m["config"]["poi"] for m in applied["measurements"]] == ["mu"]
    patched = with_ins / "patched.json"
    patched.write_text(json.dumps(applied))
    assert json.loads(_pyhf_cli("cls", str(patched)))["CLs_exp"][2] == pytest.approx(0.05, abs=0.002)
    assert json.loads(ps and Path(ps).read_text())["metadata"]["references"] == {"hepdata": TEST_INSPIRE_ID}
    assert run(*args, str(tmp_path / "o3"), "--hepdata-ins", "ins12").returncode == 2


def test_cli_limit_bad_input(tmp_path):
    res = run("limit", "--scenario", "stcf-4gev", "--mass", "1", "--bkg-syst", "-0.1", "--cache", str(tmp_path))
    assert res.returncode == 2 and "--bkg-syst" in res.stderr


def test_background_systematic_weakens_the_limit():
    """A 10% background normalisation uncertainty on B = 1e4 (S95 ~ 2 sqrt(B)) must weaken the CLs limit."""
    from dipole_portal.stats.models import Systematics

    y = synthetic([4.0], 3.0, bkg_xsec=1e-2)
    base = compute_limit(y, "cls", calculator="asymptotic")
    with_syst = compute_limit(y, "cls", calculator="asymptotic", syst=Systematics(background_norm=0.10))
    assert with_syst.d95_cls > 1.5 * base.d95_cls  # sigma_B = 1000 >> sqrt(B) = 100
    assert with_syst.systematics == {"background_norm": 0.10, "luminosity": 0.0}


def test_sparse_toy_qtilde_against_brute_force_fit():
    """q~_mu from event-list toys equals a direct bounded maximisation of the Poisson likelihood per toy."""
    from scipy import optimize

    from dipole_portal.stats.toys import Toys, qtilde

    rng = np.random.default_rng(7)
    s = rng.uniform(0.01, 0.3, size=12)
    b = rng.uniform(0.005, 0.2, size=12)
    mu = 3.0
    counts = rng.poisson(mu * s * 0.6 + b, size=(300, 12))
    q = qtilde(Toys.from_counts(counts), mu, s, b)

    def nll(x, n):
        lam = x * s + b
        return -(np.sum(n * np.log(lam)) - lam.sum())

    for n, qi in zip(counts, q, strict=True):
        best = optimize.minimize_scalar(nll, bounds=(0.0, mu), args=(n,), method="bounded", options={"xatol": 1e-10})
        fit = min(best.fun, nll(0.0, n), nll(mu, n))
        assert qi == pytest.approx(max(2 * (nll(mu, n) - fit), 0.0), abs=1e-6)


def test_sparse_toys_have_poisson_counts():
    """Event-list toys (Poisson total, multinomial channels) give independent Poisson counts per channel."""
    from dipole_portal.stats.toys import Toys

    lam = np.array([0.05, 0.5, 2.0])
    t = Toys.draw(np.random.default_rng(3), lam, 200_000)
    counts = np.zeros((200_000, 3))
    np.add.at(counts, (t.toy, t.channel), 1)
    assert np.allclose(counts.mean(axis=0), lam, rtol=0.02)
    assert np.allclose(counts.var(axis=0), lam, rtol=0.03)
    assert abs(np.corrcoef(counts[:, 1], counts[:, 2])[0, 1]) < 0.01


@pytest.mark.parametrize("syst", [Systematics(), Systematics(background_norm=0.1, luminosity=0.02)])
def test_one_fit_expected_cls_equals_pyhf_hypotest(syst):
    """The one-fit-per-mu expected CLs used for limits equals pyhf.infer.hypotest's expected set."""
    from dipole_portal.stats.cls import ExpectedAsymptoticCLs

    y = synthetic([4.0, 7.0], 1.0, bkg_xsec=2e-4)
    spec = build_spec(y, 2e-5, syst=syst)
    spec["channels"][0]["samples"][1]["data"] = [300.0]  # a sizeable background in one channel
    spec["observations"][0]["data"] = [300.0 + sum(s["data"][0] for s in spec["channels"][0]["samples"][2:])]
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, 100.0)
    fast = ExpectedAsymptoticCLs(model, data, bounds)
    for mu in (0.3, 1.0, 2.5, 8.0):
        ref = pyhf.infer.hypotest(mu, data, model, test_stat="qtilde", return_expected_set=True, par_bounds=bounds)
        assert np.allclose(fast(mu), np.asarray(ref[1], float).ravel(), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("field", ["decay_model", "n_cc_modes", "model", "method", "systematics"])
def test_a_published_set_has_one_choice_of_each(tmp_path, field):
    """Limits computed with different decay models, counting, statistical models or systematics cannot share one
    table, patchset or HEPData table: each names what it was computed with, so a mix is refused by name."""
    from dataclasses import replace

    from dipole_portal.analysis.hepdata_export import write_hepdata
    from dipole_portal.core.errors import InputError
    from dipole_portal.stats.outputs import computed_with, write_limit_tables

    a = compute_limit(synthetic([4.0], 1.0), "chi2")
    other = {
        "decay_model": "forward",
        "n_cc_modes": 1,
        "model": "binned",
        "method": "cls",
        "systematics": {"background_norm": 0.1, "luminosity": 0.0},
    }[field]
    b = replace(a, mass_GeV=a.mass_GeV * 1.1, **{field: other})
    assert computed_with([a, replace(a, mass_GeV=2.0)])["decay_model"] == a.decay_model
    with pytest.raises(InputError, match=field):
        computed_with([a, b])
    if field in ("decay_model", "n_cc_modes", "model"):
        write_limit_tables(tmp_path / "limits", "mix", [a, b])
        with pytest.raises(InputError, match=field):
            write_hepdata(tmp_path / "limits", tmp_path / "hepdata")
        assert not (tmp_path / "hepdata" / "submission").exists()


def test_toy_limit_reproduced_by_pyhf_toy_calculator(tmp_path):
    """A toy-based limit (2.2 background events: toys, as at BESIII) gives CLs_exp = 0.05 with pyhf's own toy
    calculator on the workspace written for it, within the binomial error of pyhf's toys (3 sigma).

    The staterror of the MC background is held fixed, as the numpy toys hold the backgrounds fixed.
    """
    import pyhf

    from dipole_portal.analysis.tasks import LimitTask, run_task
    from dipole_portal.core.config import load_scenarios
    from dipole_portal.stats.pyhf_setup import pyhf_backend

    sc = load_scenarios()["stcf-2gev"].with_luminosity(300.0)
    res = run_task(LimitTask(sc, 0.5, events=20_000, cache=str(tmp_path)))  # auto: toys below 5 events
    assert res.limit.calculator.startswith("toys") and res.limit.background_events < 5
    ws = pyhf.Workspace(res.spec)
    model = ws.model()
    fixed = [name != "mu" for name in model.config.par_names]
    ntoys = 3000
    with pyhf_backend(optimizer="scipy"):
        _, cls_exp = pyhf.infer.hypotest(
            1.0,
            ws.data(model),
            model,
            fixed_params=fixed,
            test_stat="qtilde",
            calctype="toybased",
            ntoys=ntoys,
            return_expected=True,
            track_progress=False,
        )
    sigma = math.sqrt(0.025 * 0.975 / ntoys) / 0.5  # CLs = CLs+b / CLb near CLs+b = 0.025, CLb = 0.5
    assert abs(float(cls_exp) - 0.05) < 3 * sigma, (float(cls_exp), sigma)


def test_toy_bands_on_one_count_are_ordered(tmp_path):
    """0.22 background events: the -2, -1 sigma and median quantiles fall on the same count, so their limits
    coincide; solved separately they used to come out crossed by the solver's tolerance and were refused."""
    from dipole_portal.analysis.tasks import LimitTask, run_task
    from dipole_portal.core.config import load_scenarios

    sc = load_scenarios()["stcf-2gev"].with_luminosity(30.0)
    r = run_task(LimitTask(sc, 0.5, events=20_000, cache=str(tmp_path))).limit
    assert r.background_events < 0.5 and r.calculator.startswith("toys")
    assert r.d95_cls_bands == sorted(r.d95_cls_bands)


@pytest.mark.parametrize("events", [5_000, 20_000])
def test_mc_uncertainty_of_d95_follows_the_propagation_law(tmp_path, events):
    """A prompt N in one channel (STCF 2 GeV, m_N = 1 GeV): S95 = t/2 + sqrt(t^2/4 + t B) (t = 2.71) and
    d95^2 ~ S95(B) / eps, so the relative MC uncertainty of d95 is
    (1/2) sqrt((sigma_eps / eps)^2 + (dln S95 / dln B  sigma_B / B)^2); it shrinks as 1/sqrt(events)."""
    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import load_scenarios
    from dipole_portal.stats.chi2 import CHI2_95, s95_closed_form
    from dipole_portal.stats.limits import compute_limit

    y = yields_for(load_scenarios()["stcf-2gev"], 1.0, events=events, cache=tmp_path)
    r = compute_limit(y, "chi2")
    ch = y.channels[0]
    b, t = ch.background_events, CHI2_95
    dlns_dlnb = t * b / (2 * math.sqrt(t * t / 4 + t * b) * s95_closed_form(b))
    expected = 0.5 * math.hypot(
        ch.efficiency_err / ch.efficiency, dlns_dlnb * ch.background_irreducible_err / ch.background_irreducible_events
    )
    assert r.d95_mc_rel_err == pytest.approx(expected, rel=0.02)
    assert 1e-4 < r.d95_mc_rel_err < 0.05 * math.sqrt(1e4 / events)


def test_band_targets_are_the_gaussian_cls_rule():
    """Each band's limit is where sqrt(q_mu,A) reaches the value at which pyhf's asymptotic expected CLs is 0.05:
    Phi^-1(1 - 0.05 Phi(k)) + k for band k, whatever the model (the distributions depend on sqrt(q_mu,A) alone)."""
    from dipole_portal.stats.cls import band_sqrt_q, expected_cls_at

    model = pyhf.simplemodels.uncorrelated_background(signal=[3.0, 1.0], bkg=[40.0, 7.0], bkg_uncertainty=[4.0, 1.0])
    calc = pyhf.infer.calculators.AsymptoticCalculator([40.0, 7.0, *model.config.auxdata], model, test_stat="qtilde")
    targets = band_sqrt_q(calc)
    closed = [stats.norm.ppf(1 - 0.05 * stats.norm.cdf(k)) + k for k in (-2, -1, 0, 1, 2)]
    assert targets == pytest.approx(closed, rel=1e-9)
    assert np.diag([expected_cls_at(calc, t) for t in targets]) == pytest.approx([0.05] * 5, rel=1e-9)


@pytest.mark.parametrize(
    ("signal", "background", "syst"),
    [
        ([1.0], [300.0], Systematics()),
        ([0.5, 2.0, 1.0], [4.0, 30.0, 3000.0], Systematics()),
        ([1.0, 1.0], [2.0, 50.0], Systematics(background_norm=0.1, luminosity=0.02)),
        ([3.0], [8.0], Systematics(background_norm=0.3)),
    ],
)
def test_asymptotic_limits_equal_pyhf_upper_limit(signal, background, syst):
    """Our root finding (secants of ln sqrt(q_mu,A) in ln mu, from one fixed-mu fit per step) gives pyhf's own
    expected limits (``upper_limit`` root finding with TOMS748 on full hypotests) to their common tolerance, 2e-3
    in ln mu, in every band: Gaussian and Poisson counts, with and without normalisation systematics."""
    from scipy.optimize import brentq

    from dipole_portal.stats.cls import fixed_background_sqrt_q, pyhf_upper_limit

    # the signal at mu = 1 where the median limit lies without systematics (sqrt(q_mu,A) = 1.96), as the pipeline
    # builds its specs (at the chi2 limit): mu limits near 1, inside pyhf's bounds (0, 10)
    s0, b0 = np.asarray(signal), np.asarray(background)
    scale = brentq(lambda k: fixed_background_sqrt_q(1.0, k * s0, b0) - 1.96, 1e-3, 1e4)
    signal = [scale * s for s in signal]
    y = synthetic([4.0 + i for i in range(len(signal))], 1.0)  # one channel per energy: distinct channel names
    spec = build_spec(y, 1e-5, syst=syst)
    assert len({c["name"] for c in spec["channels"]}) == len(signal)
    for channel, s, b in zip(spec["channels"], signal, background, strict=True):
        channel["samples"][0]["data"] = [s]
        channel["samples"][1]["data"] = [b]
        channel["samples"][1]["modifiers"][0]["data"] = [ANCHOR_FRACTION * math.sqrt(b)]  # as build_spec sets it
        for sample in channel["samples"][2:]:
            sample["data"] = [0.0]
    for obs, b in zip(spec["observations"], background, strict=True):
        obs["data"] = [b]
    ours = asymptotic_limits(spec, guess=1.0)
    theirs, _ = pyhf_upper_limit(spec, rtol=1e-4)
    assert np.allclose(np.log(ours.bands), np.log(theirs), atol=2e-3), (ours.bands, theirs)
    # fixed-mu fits: 11-12 without systematics, 13 with normalisation systematics at a few events per channel
    assert ours.hypotests <= (12 if syst == Systematics() else 13)


def test_pyhf_fit_failures_that_the_solver_mends_print_no_traceback(capfd):
    """pyhf logs a failed MIGRAD fit with its traceback before raising FailedMinimization; inside ``pyhf_backend``
    (where ``stats.cls`` catches it and fits again with scipy) the log is silenced, and restored afterwards."""
    import logging

    from dipole_portal.stats.pyhf_setup import pyhf_backend

    log = logging.getLogger("pyhf.optimize.mixins")
    before = log.level
    with pyhf_backend():
        log.error("a failed fit", exc_info=False)
        assert log.level == logging.CRITICAL
    assert log.level == before
    assert "a failed fit" not in capfd.readouterr().err


def _counting_spec(s, b):
    """A counting spec as ``stats.models.build_spec`` writes it: mu on the signal, a background anchor per channel."""
    channels, observations = [], []
    for i, (si, bi) in enumerate(zip(s, b, strict=True)):
        name = f"c{i}"
        channels.append(
            {
                "name": name,
                "samples": [
                    {"name": "signal", "data": [si], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
                    {
                        "name": "nunugamma",
                        "data": [bi],
                        "modifiers": [{"name": f"bkg_anchor_{name}", "type": "staterror", "data": [0.03 * bi**0.5]}],
                    },
                ],
            }
        )
        observations.append({"name": name, "data": [bi]})
    return {
        "channels": channels,
        "observations": observations,
        "measurements": [{"name": "expected", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


@pytest.mark.parametrize(
    "b",
    [
        [7.3e8, 1.05e7, 3.0e7, 1.56e6],  # a Z factory's four runs (CEPC at m_N = 79 GeV)
        [812.0],  # LEP1
        [5.6e6, 5.4e5, 3.3e5, 8.1e4],  # ILC's four polarisations
    ],
)
def test_asymptotic_limits_agree_with_the_fixed_background_value_at_any_background(b):
    """With the anchors as the only nuisance parameters, q_mu,A is the fixed-background closed form to within the
    anchors' 0.1%; where MIGRAD stalls (10^8 events) the checked solver still lands on it."""
    import numpy as np
    from scipy import optimize

    from dipole_portal.stats.cls import asymptotic_limits, fixed_background_sqrt_q

    b = np.array(b)
    s = 0.7 * np.sqrt(b)
    res = asymptotic_limits(_counting_spec(s, b))
    median = optimize.brentq(lambda mu: fixed_background_sqrt_q(mu, s, b) - 1.959964, 1e-3, 1e3)
    assert res.bands[2] == pytest.approx(median, rel=2e-3)


@pytest.mark.parametrize("widen", [0.3, 1.0, 5.0])
def test_a_spec_whose_anchors_are_real_nuisance_parameters_keeps_pyhfs_fits(widen):
    """An anchor wider than the pipeline's (3% of the Poisson error) is a nuisance parameter that weakens the limit,
    as in a workspace edited by hand: the closed form does not apply, the fits are not replaced, and the limits are
    pyhf's own (``upper_limit``), weaker than the fixed-background ones."""
    from scipy import optimize

    from dipole_portal.stats.cls import anchors_only, asymptotic_limits, fixed_background_sqrt_q, pyhf_upper_limit

    b = np.array([4.0, 30.0, 3000.0])
    s = np.array([5.0, 20.0, 40.0])
    spec = _counting_spec(s, b)
    assert anchors_only(spec)
    for ch, bi in zip(spec["channels"], b, strict=True):
        ch["samples"][1]["modifiers"][0]["data"] = [widen * bi**0.5]
    assert not anchors_only(spec)
    ours = asymptotic_limits(spec)
    theirs, _ = pyhf_upper_limit(spec, rtol=1e-4)
    assert ours.calculator == "asymptotic"
    assert np.allclose(np.log(ours.bands), np.log(theirs), atol=2e-3), (ours.bands, theirs)
    fixed = optimize.brentq(lambda mu: fixed_background_sqrt_q(mu, s, b) - 1.959964, 1e-3, 1e3)
    assert ours.bands[2] > fixed * 1.02


@pytest.mark.parametrize("width", [float("nan"), float("inf"), 0.031 * 2.0])
def test_an_anchor_that_is_not_a_number_or_too_wide_is_no_anchor(width):
    """The closed form applies only to anchors no wider than the pipeline's (3% of sqrt(4) = 0.06 here)."""
    from dipole_portal.stats.cls import anchors_only

    spec = _counting_spec([5.0], [4.0])
    spec["channels"][0]["samples"][1]["modifiers"][0]["data"] = [width]
    assert not anchors_only(spec)


def test_the_fit_check_uses_the_fit_the_refit_or_the_closed_form_in_that_order():
    import numpy as np
    import pyhf

    from dipole_portal.stats.cls import _FitCheck, fixed_background_sqrt_q

    s, b = np.array([100.0]), np.array([1e4])
    exact = fixed_background_sqrt_q(2.0, s, b)

    def fails(mu):
        raise pyhf.exceptions.FailedMinimization(type("R", (), {"message": "no"})())

    assert _FitCheck(lambda mu: exact * 1.001, s, b, fails).sqrt_q(2.0) == exact * 1.001
    assert _FitCheck(lambda mu: 0.02, s, b, lambda mu: exact * 0.999).sqrt_q(2.0) == exact * 0.999
    check = _FitCheck(lambda mu: 0.02, s, b, fails)
    assert check.sqrt_q(2.0) == exact and check.replaced == 1
