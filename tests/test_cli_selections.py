"""Command line ``yields`` and ``select``."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True)


def test_yields_json(tmp_path):
    res = run("yields", "--scenario", "belle2-lowmass", "--mass", "1", "--events", "20000",
              "--workdir", str(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert len(out["efficiency"]) == 1 and 0.05 < out["efficiency"][0] < 0.2
    assert out["background_events"] > out["background_events_irreducible"] > 0
    assert out["signal_xsec_pb"][0] > 0


def test_select_writes_histograms_and_cutflows(tmp_path):
    res = run("select", "--scenario", "stcf-2gev", "--mass", "0.5", "--events", "20000",
              "--workdir", str(tmp_path / "w"), "--output", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == ["stcf-2gev_m0.5_helicity_cutflows.json", "stcf-2gev_m0.5_helicity_histograms.json",
                     "stcf-2gev_m0.5_helicity_histograms.root"]
    flows = json.loads((tmp_path / "o" / names[0]).read_text())["cutflows"]
    assert flows["signal_2.000GeV"]["cuts"] == ["all", "basic", "advanced"]
    assert "advanced" in res.stdout  # the cut-flow is printed


def test_bad_inputs_exit_2(tmp_path):
    for args in (["--scenario", "lep", "--mass", "1"], ["--scenario", "stcf-2gev", "--mass", "2"],
                 ["--scenario", "stcf-2gev", "--mass", "-1"], ["--scenario", "stcf-2gev", "--mass", "nan"],
                 ["--scenario", "stcf-2gev", "--mass", "1", "--decay-model", "x"]):
        res = run("yields", *args, "--workdir", str(tmp_path), "--json")
        assert res.returncode == 2, args
        assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1
        assert res.stdout == ""
