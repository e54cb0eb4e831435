"""``python -m dipole_portal run``: the fast preset end to end, its cache, and what a changed cut recomputes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dipole_portal.core.config import DEFAULT_SCENARIOS, load_scenarios
from dipole_portal.core.options import DecayModel

FIGURES = ("fig1_belle2", "fig2_bes3_stcf", "fig3_landscape", "diag_bands", "diag_cls_vs_chi2")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dipole_portal", "run", *args], capture_output=True, text=True,
                          env={"DIPOLE_PORTAL_PROGRESS": "0", **__import__("os").environ})


def _finite_limits(path: Path, n: int) -> list[dict]:
    rows = json.loads(path.read_text())["limits"]
    assert len(rows) == n
    for row in rows:
        assert math.isfinite(row["d95"]) and 1e-8 < row["d95"] < 1e-1, row
        assert math.isfinite(row["d95_chi2"]) and row["d95_chi2"] > 0
        assert all(math.isfinite(b) and b > 0 for b in row["d95_cls_bands"])
        assert row["d95_cls_bands"] == sorted(row["d95_cls_bands"])
    return rows


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    res = _run("--preset", "fast", "--output", str(out), "--cache", str(out / "cache"), "--workers", "2",
               "--hepdata-ins", "ins0000000")  # syntactically valid for pyhf's patchset schema; names no record
    assert res.returncode == 0, res.stderr
    return out, res


def test_fast_preset_writes_every_figure_and_table(fast_run):
    out, res = fast_run
    for name in load_scenarios():
        _finite_limits(out / "limits" / f"{name}_limits.json", 4)
        csv = (out / "limits" / f"{name}_limits.csv").read_text().splitlines()
        assert len(csv) == 5 and "nan" not in "".join(csv).lower()
        bkg = json.loads((out / "workspaces" / f"{name}_bkgonly.json").read_text())
        assert bkg["channels"] and all(s["name"] != "signal" for c in bkg["channels"] for s in c["samples"])
        assert (out / "histograms" / f"{name}.root").stat().st_size > 0
        assert (out / "figures" / f"diag_plane_{name}.png").stat().st_size > 10_000
    for fig in FIGURES:
        for ext in ("pdf", "png"):
            assert (out / "figures" / f"{fig}.{ext}").stat().st_size > 10_000, fig
    study = json.loads((out / "limits" / "model_study.json").read_text())
    assert len(study["limits"]) == 4 * 2 * len(DecayModel) * 2  # targets x masses x decay models x counting
    for row in study["limits"]:
        assert math.isfinite(row["d95"]) and row["d95"] > 0
    report = (out / "report.md").read_text()
    for model in DecayModel:
        assert f"| {model.value}" in report
    assert "N nubar only" in report and "figures/fig3_landscape.png" in report
    assert "done in" in res.stderr and "[6/6] report" in res.stderr


def test_counting_one_mode_halves_the_signal(fast_run):
    """N nubar only: half the signal, so at the same m_N a weaker limit (by up to sqrt 2 when prompt)."""
    out, _ = fast_run
    rows = json.loads((out / "limits" / "model_study.json").read_text())["limits"]
    by = {(r["scenario"], r["mass_GeV"], r["decay_model"], r["n_cc_modes"]): r for r in rows}
    for (sc, m, model, cc), r in by.items():
        if cc == 1:
            both = by[(sc, m, model, 2)]
            assert both["d95"] < r["d95"] <= both["d95"] * math.sqrt(2) * 1.02


def test_hepdata_submission(fast_run):
    out, _ = fast_run
    sub = out / "hepdata" / "submission"
    docs = list(yaml.safe_load_all((sub / "submission.yaml").read_text()))
    assert len([d for d in docs if "data_file" in d]) == len(load_scenarios())
    bes3 = next(d for d in docs if d.get("data_file") == "expected_limit_bes3.yaml")
    assert "fig2_bes3_stcf" in bes3["location"] and "fig3_landscape" in bes3["location"]
    table = yaml.safe_load((sub / "expected_limit_bes3.yaml").read_text())
    masses = table["independent_variables"][0]["values"]
    assert len(masses) == 4 and all(v["value"] > 0 for v in masses)
    assert (out / "hepdata" / "submission.tar.gz").stat().st_size > 0
    for doc in docs:  # every table says its figure, its energies and what its numbers were computed with
        if "data_file" not in doc:
            continue
        assert doc["location"].startswith("Figure fig") and "Example" not in doc["location"], doc["location"]
        keywords = {k["name"]: k["values"] for k in doc["keywords"]}
        assert keywords["cmenergies"] and all(2 <= e <= 11 for e in keywords["cmenergies"]), doc["name"]
        data = yaml.safe_load((sub / doc["data_file"]).read_text())
        for dep in data["dependent_variables"]:
            q = {x["name"]: x["value"] for x in dep["qualifiers"]}
            assert q["decay model (photon angular law)"] == "exact" and q["N counted"] == "N nubar + Nbar nu"
            assert q["statistical model"] == "counting"


def test_patchsets_say_what_they_were_computed_with(fast_run):
    """The patchset metadata names the decay model, counting and systematics; each patch its CLs calculator
    (toys at BESIII's low background)."""
    out, _ = fast_run
    for name in load_scenarios():
        ps = json.loads((out / "workspaces" / f"{name}_patchset.json").read_text())
        assert ps["metadata"]["computed_with"] == {"decay_model": "exact", "n_cc_modes": 2, "model": "counting",
                                                   "method": "cls", "systematics": None}
        rows = {r["mass_GeV"]: r for r in json.loads((out / "limits" / f"{name}_limits.json").read_text())["limits"]}
        for patch in ps["patches"]:
            row = rows[patch["metadata"]["values"][0]]
            assert patch["metadata"]["calculator"] == row["calculator"]
            assert patch["metadata"]["d95_GeV_inv"] == row["d95"]
        if name == "bes3":
            assert all(p["metadata"]["calculator"].startswith("toys") for p in ps["patches"])


def test_rerun_reuses_every_sample_and_limit(fast_run):
    out, _ = fast_run
    before = {p: p.stat().st_mtime_ns for p in (out / "cache").rglob("*") if p.is_file()}
    assert len(before) > 100
    res = _run("--preset", "fast", "--output", str(out), "--cache", str(out / "cache"), "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert "0 limits computed" in res.stderr and "0 samples made" in res.stderr
    after = {p: p.stat().st_mtime_ns for p in (out / "cache").rglob("*") if p.is_file()}
    assert after == before


def test_changed_cut_reuses_the_samples(fast_run, tmp_path):
    """A narrower barrel (|cos| < 0.75): the endcaps still set the generation box, so every sample is reused;
    the limits are recomputed, with a lower signal efficiency at every mass."""
    out, _ = fast_run
    cfg = json.loads(DEFAULT_SCENARIOS.read_text())
    cfg["scenarios"]["stcf-2gev"]["points"] = [{"sqrt_s_GeV": 2.0, "lumi_fb": 10000.0}]
    cfg["detectors"]["stcf"]["barrel"]["cos_max"] = 0.75
    (tmp_path / "bes3_datasets.csv").write_text((DEFAULT_SCENARIOS.parent / "bes3_datasets.csv").read_text())
    path = tmp_path / "tight.json"
    path.write_text(json.dumps(cfg))
    n_samples = len(list((out / "cache" / "samples").glob("*.root")))
    assert n_samples > 10
    old = {r["mass_GeV"]: r for r in _finite_limits(out / "limits" / "stcf-2gev_limits.json", 4)}
    res = _run("--preset", "fast", "--scenarios", str(path), "--scenario", "stcf-2gev", "--output", str(out),
               "--cache", str(out / "cache"), "--workers", "1", "--no-figures")
    assert res.returncode == 0, res.stderr
    assert "0 samples made" in res.stderr and "4 limits computed" in res.stderr
    assert len(list((out / "cache" / "samples").glob("*.root"))) == n_samples
    new = {r["mass_GeV"]: r for r in _finite_limits(out / "limits" / "stcf-2gev_limits.json", 4)}
    assert new.keys() == old.keys()
    for m in old:
        assert new[m]["efficiency"][0] < old[m]["efficiency"][0]
        assert new[m]["background_events"] < old[m]["background_events"]
        assert new[m]["d95"] != old[m]["d95"]


def test_run_unknown_scenario_is_an_input_error(tmp_path):
    res = _run("--scenario", "lep", "--output", str(tmp_path))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["error: --scenario 'lep' unknown, expected one of belle2-bbg, "
                                               "belle2-highmass, belle2-lowmass, bes3, stcf-2gev, stcf-4gev, "
                                               "stcf-4gev-30ab, stcf-7gev"]
