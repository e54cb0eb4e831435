"""Figures: Fig. 1 rebuilt from stored limit tables matches the stored reference image within a tolerance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images

from dipole_portal.plotting import limit_figures as lf
from dipole_portal.plotting.style import save, use_style

REFERENCE = Path(__file__).parent / "data" / "reference"
TOLERANCE = 2.0  # RMS of the pixel difference (0-255); fonts are pinned to DejaVu Sans, so this is not fragile


def _figure1(limits: Path, out: Path) -> Path:
    use_style()
    save(lf.figure_belle2(lf.load_curves(limits)), out, "fig1_belle2")
    return out / "fig1_belle2.png"


def test_figure1_matches_reference(tmp_path):
    png = _figure1(REFERENCE / "limits", tmp_path)
    assert compare_images(str(REFERENCE / "fig1_belle2.png"), str(png), tol=TOLERANCE) is None


def test_reference_comparison_detects_a_changed_curve(tmp_path):
    """The same comparison fails when one curve moves by 30% (so the test above can fail)."""
    limits = tmp_path / "limits"
    shutil.copytree(REFERENCE / "limits", limits)
    path = limits / "belle2-bbg_limits.json"
    table = json.loads(path.read_text())
    for row in table["limits"]:
        row["d95"] *= 1.3
    path.write_text(json.dumps(table))
    png = _figure1(limits, tmp_path / "fig")
    assert compare_images(str(REFERENCE / "fig1_belle2.png"), str(png), tol=TOLERANCE) is not None


def test_figures_need_their_tables(tmp_path):
    from dipole_portal.core.errors import InputError

    with pytest.raises(InputError, match="fig1_belle2"):
        lf.figure_belle2({})


def test_figures_draw_on_given_axes():
    """Figure functions draw on the axes they are given (a notebook's) and return that figure."""
    import matplotlib.pyplot as plt

    curves = lf.load_curves(REFERENCE / "limits")
    fig, (a, b) = plt.subplots(1, 2)
    assert lf.figure_belle2(curves, ax=b) is fig
    assert len(b.lines) >= 3 and len(a.lines) == 0
    plt.close(fig)
