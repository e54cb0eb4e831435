"""Figure style: mplhep's ROOT style, experiment labels, and atomic PDF + PNG output.

Importing this module chooses no matplotlib backend: the command line selects Agg, a notebook keeps its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mplhep as mh

from dipole_portal.core.atomic import atomic_path

FORMATS = ("pdf", "png")
PNG_DPI = 110
D_LABEL = r"$d$ [GeV$^{-1}$]"
#: the axis of curves with Z exchange (the energy frontier): the limit is on d_gamma, with d_Z fixed by the operator
D_GAMMA_LABEL = r"$d_\gamma$ [GeV$^{-1}$]"
M_LABEL = r"$m_N$ [GeV]"


def use_style() -> None:
    """mplhep's ROOT style with fixed fonts, so that images do not depend on the machine."""
    plt.style.use(mh.style.ROOT)
    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "mathtext.fontset": "dejavusans",
            "figure.dpi": PNG_DPI,
            "savefig.dpi": PNG_DPI,
            "svg.hashsalt": "dipole-portal",
            "pdf.compression": 6,
        }
    )


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
    ax.text(
        0.0,
        1.01,
        f"{title}  (phenomenological projection)" if title else "phenomenological projection",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=12,
    )
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
                meta = (
                    {"Creator": "dipole-portal"} if ext == "png" else {"Creator": "dipole-portal", "CreationDate": None}
                )
                fig.savefig(tmp, format=ext, metadata=meta, bbox_inches="tight")
            paths.append(final)
    finally:
        plt.close(fig)
    return paths


def check_presentation(presentation: Any, scenarios: dict[str, Any], source: str) -> None:
    """Every colour, line style and text the figures will draw, checked before anything is computed: a bad one is
    an InputError naming the configuration key and value (not a matplotlib traceback after the tables).

    ``presentation``: the configuration's figures; ``scenarios``: name -> scenario (their labels are legends).
    """
    import matplotlib.colors as mcolors
    from matplotlib.lines import Line2D
    from matplotlib.mathtext import MathTextParser

    from dipole_portal.core.errors import InputError

    parser = MathTextParser("path")

    def text_ok(key: str, text: str) -> None:
        if not isinstance(text, str):
            raise InputError(f"{source}: {key} = {text!r}: expected text")
        if text.count("$") % 2:
            raise InputError(f"{source}: {key} = {text!r}: an unmatched '$' (matplotlib mathtext)")
        for i, part in enumerate(text.split("$")):
            if i % 2 and part:
                try:
                    parser.parse(f"${part}$")
                except ValueError as exc:
                    raise InputError(
                        f"{source}: {key} = {text!r}: not valid mathtext ({' '.join(str(exc).split())[:120]})"
                    ) from None

    for fig in presentation.figures:
        key = f"figures/{fig.name}"
        text_ok(f"{key}/title", fig.title)
        text_ok(f"{key}/caption", fig.caption)
        for name, st in fig.curves:
            if not (isinstance(st.color, str) and st.color and mcolors.is_color_like(st.color)):
                raise InputError(f"{source}: {key}/curves/{name}/color = {st.color!r}: not a matplotlib colour")
            try:
                Line2D([], [], linestyle=st.linestyle)
            except (ValueError, TypeError):
                raise InputError(
                    f"{source}: {key}/curves/{name}/linestyle = {st.linestyle!r}: not a matplotlib line style"
                ) from None
    for name, sc in scenarios.items():
        text_ok(f"scenarios/{name}/label", sc.label)
