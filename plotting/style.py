"""Figure style: mplhep's ROOT style, experiment labels, and atomic PDF + PNG output.

Importing this module chooses no matplotlib backend: the command line selects Agg, a notebook keeps its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import mplhep as mh

from dipole_portal.core.atomic import atomic_path

FORMATS = ("pdf", "png")
PNG_DPI = 110
D_LABEL = r"$d$ [GeV$^{-1}$]"
M_LABEL = r"$m_N$ [GeV]"


def use_style() -> None:
    """mplhep's ROOT style with fixed fonts, so that images do not depend on the machine."""
    plt.style.use(mh.style.ROOT)
    plt.rcParams.update({"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans", "figure.dpi": PNG_DPI,
                         "savefig.dpi": PNG_DPI, "svg.hashsalt": "dipole-portal", "pdf.compression": 6})


def sci_tex(x: float, digits: int = 2) -> str:
    r"""A number in mathtext scientific notation (inside ``$...$``), as a reader writes it.

    >>> sci_tex(1e-5), sci_tex(3e-6), sci_tex(2.5e-7), sci_tex(0.5)
    ('10^{-5}', '3\\times10^{-6}', '2.5\\times10^{-7}', '5\\times10^{-1}')
    """
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    power = f"10^{{{int(exp)}}}"
    return power if mant == "1" else f"{mant}\\times{power}"


def experiment_label(ax: plt.Axes, title: str, right: str = "") -> None:
    """A plain label above the axes: what is shown, marked as a phenomenological projection.

    Deliberately not a collaboration's label (no bold experiment name with "Preliminary" or "Simulation"): these
    are projections of this analysis, not results of Belle II, BESIII or STCF.
    """
    ax.text(0.0, 1.01, f"{title}  (phenomenological projection)" if title else "phenomenological projection",
            transform=ax.transAxes, ha="left", va="bottom", fontsize=12)
    if right:
        ax.text(1.0, 1.01, right, transform=ax.transAxes, ha="right", va="bottom", fontsize=12)


def save(fig: plt.Figure, folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Write ``name``.pdf and ``name``.png into ``folder`` atomically; closes the figure."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for ext in FORMATS:
            final = folder / f"{name}.{ext}"
            with atomic_path(final) as tmp:
                meta = {"Creator": "dipole-portal"} if ext == "png" else {"Creator": "dipole-portal",
                                                                            "CreationDate": None}
                fig.savefig(tmp, format=ext, metadata=meta, bbox_inches="tight")
            paths.append(final)
    finally:
        plt.close(fig)
    return paths
