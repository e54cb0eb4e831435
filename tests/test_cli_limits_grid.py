"""``limits --scenario`` follows the curve by default; a coarser grid reports where it does not."""

from __future__ import annotations

import json
import subprocess
import sys

from dipole_portal.analysis.mass_grid import COARSE_RATIO, NEAR_THRESHOLD


def _limits(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "limits",
            "--scenario",
            "stcf-2gev",
            "--events",
            "3000",
            "--method",
            "chi2",
            "--cache",
            str(tmp_path / "cache"),
            *extra,
        ],
        capture_output=True,
        text=True,
        env={"DIPOLE_PORTAL_PROGRESS": "0", **__import__("os").environ},
    )


def test_default_grid_is_refined_until_neighbours_agree(tmp_path):
    res = _limits(tmp_path, "--n-masses", "4", "--output", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    rows = json.loads((tmp_path / "o" / "stcf-2gev_limits.json").read_text())["limits"]
    pts = sorted((r["mass_GeV"], r["d95"]) for r in rows)
    assert len(pts) > 4 + 3  # the log grid and the threshold approach, then refined
    assert pts[-1][0] == 2.0 * (1 - 0.001)  # up to 0.999 sqrt(s)
    for (m1, d1), (m2, d2) in zip(pts, pts[1:], strict=False):
        if m1 < 2.0 * (1 - NEAR_THRESHOLD):  # away from the threshold, where the limit diverges
            assert max(d1, d2) / min(d1, d2) <= COARSE_RATIO, (m1, m2)
    assert "differ by more than" not in res.stderr


def test_unrefined_grid_reports_its_steep_intervals(tmp_path):
    res = _limits(tmp_path, "--n-masses", "4", "--no-refine", "--output", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    warning = [line for line in res.stderr.splitlines() if "differ by more than" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: stcf-2gev") and "GeV (" in warning[0]
    res = _limits(tmp_path, "--masses", "0.01,1.0", "--output", str(tmp_path / "o2"))
    assert res.returncode == 0 and "differ by more than 1.25x in 1 interval: 0.01-1 GeV" in res.stderr
