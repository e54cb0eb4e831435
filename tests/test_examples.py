"""The example notebook runs top to bottom (its code cells executed in order, as a kernel would)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

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
