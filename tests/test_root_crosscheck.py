"""Real ROOT (the PyPI package ``root``, extra ``root``) reads every kind of file the workspace writes.

RDataFrame entry counts and per-branch sums equal uproot's; TH2D integrals, bin contents and bin errors equal
hist's; the JSON metadata string is the one uproot reads. Skipped, with a message, where ROOT is absent.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import uproot

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the PyPI distribution announces its alpha stage
    ROOT = pytest.importorskip("ROOT", reason="PyROOT is absent: pip install 'dipole-portal[root]' to run these")

from dipole_portal.core.config import get_scenario  # noqa: E402
from dipole_portal.samples.generate import generate_to_root  # noqa: E402
from dipole_portal.samples.generators import NuNuGammaSpec, SignalSpec  # noqa: E402
from dipole_portal.samples.kinematics import Beams, PhaseSpaceRegion  # noqa: E402
from dipole_portal.samples.rootio import read_metadata  # noqa: E402
from dipole_portal.selections import histograms  # noqa: E402
from dipole_portal.selections.cuts import build_selection  # noqa: E402
from dipole_portal.selections.process import process_sample  # noqa: E402


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("root")
    sig = generate_to_root(
        SignalSpec(Beams(7.0, 4.0), 1.0), d / "signal.root", seed=5, events=150_000, chunk_size=100_000
    )
    region = PhaseSpaceRegion(E_min=0.1, E_max=2.0, cos_min=-0.9, cos_max=0.9)
    bkg = generate_to_root(
        NuNuGammaSpec(Beams.symmetric_at(4.0), region), d / "nunugamma.root", seed=6, events=120_000, chunk_size=120_000
    )
    return {"signal": sig, "nunugamma": bkg}


@pytest.mark.parametrize("process", ["signal", "nunugamma"])
def test_rdataframe_counts_and_sums_equal_uproot(samples, process):
    path = samples[process]
    df = ROOT.RDataFrame("events", str(path))
    with uproot.open(path) as f:
        tree = f["events"]
        arrays = tree.arrays(library="np")
        assert df.Count().GetValue() == tree.num_entries == 150_000 - 30_000 * (process == "nunugamma")
    assert sorted(str(c) for c in df.GetColumnNames()) == sorted(arrays)
    sums = {b: df.Sum(b) for b in arrays}  # booked together: one event loop
    for b, res in sums.items():
        expected = float(np.sum(arrays[b].astype(np.float64)))
        assert res.GetValue() == pytest.approx(expected, rel=1e-9, abs=1e-12), b


def test_metadata_string_equals_uproot(samples):
    f = ROOT.TFile.Open(str(samples["signal"]))
    text = str(f.Get("metadata").GetString())
    f.Close()
    assert json.loads(text) == read_metadata(samples["signal"])


def test_th2d_integrals_and_errors_equal_hist(samples, tmp_path):
    sc = get_scenario("belle2-bbg")
    res = process_sample(samples["signal"], "signal", build_selection(sc, sc.points[0]), fill_all=True)
    path = histograms.write_root(tmp_path / "h.root", {"selected": res.histogram, "all": res.histogram_all})
    f = ROOT.TFile.Open(str(path))
    for name, h in (("selected", res.histogram), ("all", res.histogram_all)):
        th = f.Get(name)
        assert th.ClassName() == "TH2D"
        nx, ny = th.GetNbinsX(), th.GetNbinsY()
        assert (nx, ny) == h.values().shape
        assert th.Integral() == pytest.approx(h.values().sum(), rel=1e-12)
        contents = np.array([[th.GetBinContent(i, j) for j in range(1, ny + 1)] for i in range(1, nx + 1)])
        errors = np.array([[th.GetBinError(i, j) for j in range(1, ny + 1)] for i in range(1, nx + 1)])
        assert np.allclose(contents, h.values(), rtol=1e-12, atol=0)
        assert np.allclose(errors, np.sqrt(h.variances()), rtol=1e-12, atol=0)
        assert th.GetXaxis().GetXmax() == pytest.approx(h.axes[0].edges[-1])
        assert th.GetYaxis().GetXmax() == pytest.approx(180.0)
    f.Close()


def test_run_outputs_open_in_root(tmp_path):
    """The histogram file of ``run``'s diagnostic stage (written by the same writer) opens with its four TH2D."""
    from dipole_portal.analysis.pipeline import write_diagnostic_histograms
    from dipole_portal.core.cache import Cache

    sc = get_scenario("stcf-2gev")
    path = write_diagnostic_histograms(sc, 20_000, 1, "helicity", Cache(tmp_path / "cache"), tmp_path / "histograms")[0]
    f = ROOT.TFile.Open(str(path))
    names = sorted(k.GetName() for k in f.GetListOfKeys() if k.GetClassName() == "TH2D")
    assert names == ["nunugamma_all", "nunugamma_selected", "signal_all", "signal_selected"]
    meta = json.loads(str(f.Get("metadata").GetString()))  # the file says what it holds (a TObjString of JSON)
    assert meta["scenario"] == "stcf-2gev" and meta["decay_model"] == "helicity" and meta["units"] == "pb per bin"
    with uproot.open(path) as u:
        for n in names:
            assert f.Get(n).Integral() == pytest.approx(u[n].values().sum(), rel=1e-12)
    f.Close()


def test_root_statistics_and_titles_survive_roots_methods(tmp_path):
    """ROOT's own methods on the run's histograms: GetEffectiveEntries = (sum w)^2 / sum w^2 of the filled
    weights (from the bins' variances, as hist stores them), and ProjectionX and SetTitle(GetTitle()) keep the
    title and the axis titles (a ';' inside a title would be read as the separator of axis titles)."""
    from dipole_portal.analysis.pipeline import write_diagnostic_histograms
    from dipole_portal.core.cache import Cache

    sc = get_scenario("stcf-2gev")
    path = write_diagnostic_histograms(sc, 20_000, 1, "exact", Cache(tmp_path / "cache"), tmp_path / "histograms")[0]
    f = ROOT.TFile.Open(str(path))
    with uproot.open(path) as u:
        for name in ("signal_all", "signal_selected", "nunugamma_all", "nunugamma_selected"):
            th = f.Get(name)
            h = u[name].to_hist()
            sumw, sumw2 = h.values().sum(), h.variances().sum()
            assert th.GetEffectiveEntries() == pytest.approx(sumw**2 / sumw2, rel=1e-9), name
            assert th.GetEffectiveEntries() > 100  # thousands of weighted events, not the sum of weights
            title, x_title, y_title = th.GetTitle(), th.GetXaxis().GetTitle(), th.GetYaxis().GetTitle()
            assert ";" not in title and title.startswith(("signal", "e^{+}e^{-}")) and "STCF 2 GeV" in title
            px = th.ProjectionX()
            assert px.GetXaxis().GetTitle() == x_title == histograms.ROOT_AXIS_TITLES[0]
            assert px.Integral() == pytest.approx(th.Integral(), rel=1e-12)
            th.SetTitle(th.GetTitle())
            assert (th.GetTitle(), th.GetXaxis().GetTitle(), th.GetYaxis().GetTitle()) == (title, x_title, y_title)
    f.Close()
