"""Command line ``yields`` and ``select``."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "dipole_portal", *args], capture_output=True, text=True)


def test_yields_json(tmp_path):
    res = run(
        "yields", "--scenario", "belle2-lowmass", "--mass", "1", "--events", "20000", "--cache", str(tmp_path), "--json"
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert len(out["efficiency"]) == 1 and 0.05 < out["efficiency"][0] < 0.2
    assert out["background_events"] > out["background_events_irreducible"] > 0
    assert out["signal_xsec_pb"][0] > 0


def test_select_writes_histograms_and_cutflows(tmp_path):
    res = run(
        "select",
        "--scenario",
        "stcf-2gev",
        "--mass",
        "0.5",
        "--events",
        "20000",
        "--cache",
        str(tmp_path / "w"),
        "--output",
        str(tmp_path / "o"),
    )
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == [
        "stcf-2gev_m0.5_exact_cutflows.json",
        "stcf-2gev_m0.5_exact_histograms.json",
        "stcf-2gev_m0.5_exact_histograms.root",
        "stcf-2gev_m0.5_exact_yields.json",
    ]
    flows = json.loads((tmp_path / "o" / names[0]).read_text())["cutflows"]
    assert flows["signal_2.000GeV"]["cuts"] == ["all", "basic", "advanced"]
    assert "advanced" in res.stdout  # the cut-flow is printed


def test_bad_inputs_exit_2(tmp_path):
    for args in (
        ["--scenario", "lep", "--mass", "1"],
        ["--scenario", "stcf-2gev", "--mass", "2"],
        ["--scenario", "stcf-2gev", "--mass", "-1"],
        ["--scenario", "stcf-2gev", "--mass", "nan"],
        ["--scenario", "stcf-2gev", "--mass", "1", "--decay-model", "x"],
    ):
        res = run("yields", *args, "--cache", str(tmp_path), "--json")
        assert res.returncode == 2, args
        assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1
        assert res.stdout == ""


def test_limit_reads_the_yields_file_select_wrote_and_generates_nothing(tmp_path):
    """select -> yields file -> limit --yields: the same limit as the one-step command, without any sample."""
    cache = tmp_path / "w"
    res = run(
        "select",
        "--scenario",
        "stcf-4gev",
        "--mass",
        "1",
        "--events",
        "20000",
        "--cache",
        str(cache),
        "--output",
        str(tmp_path / "o"),
    )
    assert res.returncode == 0, res.stderr
    yields_file = tmp_path / "o" / "stcf-4gev_m1_exact_yields.json"
    record = json.loads(yields_file.read_text())
    ch = record["channels"][0]
    assert record["format"] == "dipole-portal-yields" and record["decay_model"] == "exact"
    assert 0 < ch["efficiency"] < 1 and ch["efficiency_err"] > 0 and ch["background_xsec_err_pb"] > 0
    assert len(record["provenance"]["samples"]) == 1
    one_step = run(
        "limit",
        "--scenario",
        "stcf-4gev",
        "--mass",
        "1",
        "--events",
        "20000",
        "--cache",
        str(cache),
        "--method",
        "chi2",
        "--json",
    )
    # an empty cache proves nothing is generated from the file
    from_file = run(
        "limit", "--yields", str(yields_file), "--cache", str(tmp_path / "empty"), "--method", "chi2", "--json"
    )
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["d95_chi2"] == json.loads(one_step.stdout)["d95_chi2"]
    assert not (tmp_path / "empty").exists()
    # limits over several yields files of one scenario
    res = run("limits", "--yields", str(yields_file), "--output", str(tmp_path / "l"), "--method", "chi2")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "l" / "stcf-4gev_limits.csv").exists()


def test_bad_yields_files_exit_2(tmp_path):
    good = {"format": "dipole-portal-yields", "format_version": 1}
    cases = {
        "notjson.json": "{",
        "other.json": json.dumps({"format": "x"}),
        "version.json": json.dumps({**good, "format_version": 99}),
        "nokeys.json": json.dumps(good),
    }
    for name, text in cases.items():
        p = tmp_path / name
        p.write_text(text)
        res = run("limit", "--yields", str(p))
        assert res.returncode == 2, (name, res.stderr)
        assert res.stderr.strip().startswith("error:") and name in res.stderr and len(res.stderr.splitlines()) == 1
    res = run("limit", "--yields", str(tmp_path / "missing.json"))
    assert res.returncode == 2 and "no such file (expected a yields file)" in res.stderr


def test_tiny_samples_report_their_statistics_honestly(tmp_path):
    """One or a few MC events: a warning, and efficiency errors that are not zero at efficiency 0 or 1."""
    for events in ("1", "5"):
        res = run(
            "yields", "--scenario", "stcf-4gev", "--mass", "1", "--events", events, "--cache", str(tmp_path), "--json"
        )
        assert res.returncode == 0, res.stderr
        assert f"warning: --events {events}: fewer than 1000 MC events" in res.stderr
        ch = json.loads(res.stdout)["channel_details"][0]
        n = int(events)
        assert ch["efficiency_err"] >= 0.5 / n - 1e-12  # Wilson's 1/(2 N) at the boundary, never 0
    res = run(
        "yields", "--scenario", "stcf-4gev", "--mass", "1", "--events", "20000", "--cache", str(tmp_path), "--json"
    )
    assert "fewer than" not in res.stderr
