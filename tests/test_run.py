"""``python -m analysis run``: the fast preset end to end on two scenarios writes finite tables and workspaces."""

from __future__ import annotations

import json
import math
import subprocess
import sys


def test_run_fast_preset(tmp_path):
    res = subprocess.run([sys.executable, "-m", "analysis", "run", "--preset", "fast", "--scenario", "stcf-2gev",
                          "--scenario", "belle2-bbg", "--output", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for name in ("stcf-2gev", "belle2-bbg"):
        table = json.loads((tmp_path / "limits" / f"{name}_limits.json").read_text())["limits"]
        assert len(table) == 4
        for row in table:
            assert math.isfinite(row["d95"]) and 1e-8 < row["d95"] < 1e-2
            assert all(math.isfinite(b) for b in row["d95_cls_bands"])
        assert (tmp_path / "limits" / f"{name}_limits.csv").exists()
        assert (tmp_path / "workspaces" / f"{name}_bkgonly.json").exists()
    assert "best d95" in res.stderr
