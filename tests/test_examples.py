"""The example notebook runs top to bottom (its code cells executed in order, as a kernel would)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("DIPOLE_PORTAL_CACHE", str(tmp_path))
    nb = json.loads(NOTEBOOK.read_text())
    assert nb["nbformat"] == 4
    namespace: dict = {}
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        source = "".join(cell["source"])
        exec(compile(source, f"{NOTEBOOK.name}[code cell {i}]", "exec"), namespace)  # noqa: S102
    # what the notebook shows: a limit, a scan, a weaker custom scenario and a figure with two curves
    assert 1e-7 < namespace["r"].d95_cls < 1e-4
    assert len(namespace["bbg"].limits) == 5
    assert all(b.d95 > a.d95 for a, b in zip(namespace["nominal"].limits, namespace["reduced"].limits, strict=True))
    assert len(namespace["ax"].lines) >= 4


def test_the_add_an_experiment_walkthrough_runs_as_written(tmp_path):
    """docs/add-experiment.md: its commands run as written (the run with the fast preset), its one number holds,
    and the run writes the files the page names."""
    import re
    import shlex
    import subprocess
    import sys

    root = NOTEBOOK.parents[1]
    page = (root / "docs" / "add-experiment.md").read_text()
    commands = [
        ln.strip()
        for block in re.findall(r"```[a-z]*\n(.*?)```", page, flags=re.S)
        for ln in block.splitlines()
        if ln.strip().startswith("python -m dipole_portal")
    ]
    assert [shlex.split(c)[3] for c in commands] == ["limit", "run"]
    env = {**os.environ, "DIPOLE_PORTAL_CACHE": str(tmp_path / "cache"), "DIPOLE_PORTAL_PROGRESS": "0"}
    limit = [sys.executable, *shlex.split(commands[0])[1:], "--events", "20000"]
    res = subprocess.run(limit, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    stated = float(re.search(r"it is ([0-9.]+e-[0-9]+) GeV\^-1", page).group(1))
    # the page rounds to two digits (0.8%); the MC error at 2x10^4 events is about 0.6%
    assert json.loads(res.stdout)["d95_chi2"] == pytest.approx(stated, rel=0.03)
    run = [sys.executable, *[a.replace("out-myexp", str(tmp_path / "out-myexp")) for a in shlex.split(commands[1])[1:]]]
    run[run.index("paper")] = "fast"
    res = subprocess.run([*run, "--workers", "2"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    for name in (
        "limits/myexp-7gev_limits.csv",
        "figures/fig_myexp-7gev.png",
        "report.md",
        "workspaces/myexp-7gev_bkgonly.json",
    ):
        assert (tmp_path / "out-myexp" / name).is_file(), name
