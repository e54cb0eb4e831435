"""Interrupted runs resume: a scan killed midway (SIGKILL or SIGINT) finishes on the next run with the same tables
as an uninterrupted one, and nothing truncated is ever left under a final name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dipole_portal.samples.rootio import read_metadata

ARGS = ["--scenario", "stcf-4gev", "--masses", "0.01,0.03,0.1,0.3,1,2,3,3.9", "--events", "20000", "--workers", "1"]


def _limits(workdir: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "dipole_portal", "limits", *ARGS, "--cache", str(workdir), "--output", str(output)]


def _final_files_are_complete(workdir: Path) -> None:
    for p in (workdir / "limits").glob("*.json"):
        assert json.loads(p.read_text())["content"]["result"]["d95"] > 0  # a truncated JSON would not parse
    for p in (workdir / "samples").glob("*.root"):
        read_metadata(p)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("whole")
    res = subprocess.run(_limits(base / "w", base / "o"), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return (base / "o" / "stcf-4gev_limits.csv").read_text()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_scan_resumes_with_identical_tables(uninterrupted, tmp_path, sig):
    work, out = tmp_path / "w", tmp_path / "o"
    proc = subprocess.Popen(_limits(work, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((work / "limits").glob("*.json"))) < 3:
        assert proc.poll() is None, "finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    done = len(list((work / "limits").glob("*.json")))
    assert 3 <= done < 8
    assert not (out / "stcf-4gev_limits.csv").exists()
    _final_files_are_complete(work)
    res = subprocess.run(_limits(work, out), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert f"{8 - done} to compute, {done} cached" in res.stderr
    assert (out / "stcf-4gev_limits.csv").read_text() == uninterrupted
