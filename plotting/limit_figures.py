"""The paper's figures from the limit tables (``limits/<scenario>_limits.json``), and limit diagnostics.

Fig. 1: Belle II low-mass, high-mass and bBG selections. Fig. 2: BESIII and STCF at 2, 4 and 7 GeV.
Fig. 3: the landscape over the existing limits (HNLimits), one panel per flavour. Diagnostics: chi2 versus
CLs, and the expected-limit bands per scenario. Expected limits are CLs medians (solid) with the chi2
criterion of the paper dotted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from dipole_portal.core.config import CurveStyle, FigureSpec, load_configuration
from dipole_portal.core.errors import InputError
from dipole_portal.plotting import style
from dipole_portal.plotting.existing import FLAVOURS, load_regions

FLAVOUR_LABEL = {"e": r"$d_e$", "mu": r"$d_\mu$", "tau": r"$d_\tau$"}


@dataclass
class LimitCurve:
    """One scenario's expected limits versus m_N (GeV): CLs median and bands, chi2 (GeV^-1)."""

    scenario: str
    label: str
    mass: np.ndarray
    d95: np.ndarray
    d95_chi2: np.ndarray
    bands: np.ndarray | None  # (5, n): -2, -1, 0, +1, +2 sigma
    calculator: str


def load_curves(folder: str | os.PathLike[str]) -> dict[str, LimitCurve]:
    """Every ``*_limits.json`` table in ``folder``, keyed by scenario."""
    out = {}
    for path in sorted(Path(folder).glob("*_limits.json")):
        try:
            table = json.loads(path.read_text())
            rows = sorted(table["limits"], key=lambda r: r["mass_GeV"])
            bands = None
            if rows and all(r["d95_cls_bands"] for r in rows):
                bands = np.array([r["d95_cls_bands"] for r in rows]).T
            out[table["scenario"]] = LimitCurve(
                table["scenario"], table.get("label", table["scenario"]),
                np.array([r["mass_GeV"] for r in rows]), np.array([r["d95"] for r in rows]),
                np.array([r["d95_chi2"] for r in rows]), bands,
                ", ".join(sorted({r["calculator"] or "chi2" for r in rows})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a limits table ({type(exc).__name__}: {exc})") from None
    return out


def curve_from_results(scenario: str, results: Sequence, label: str | None = None) -> LimitCurve:
    """A LimitCurve from ``LimitResult`` objects (a scan in a notebook), sorted by mass."""
    rows = sorted(results, key=lambda r: r.mass_GeV)
    bands = np.array([r.d95_cls_bands for r in rows]).T if rows and all(r.d95_cls_bands for r in rows) else None
    return LimitCurve(scenario, label or scenario, np.array([r.mass_GeV for r in rows]),
                      np.array([r.d95 for r in rows]), np.array([r.d95_chi2 for r in rows]), bands,
                      ", ".join(sorted({r.calculator or "chi2" for r in rows})))


def figure_limits(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Any set of limit curves, CLs median with the +-1 sigma band and the chi2 limit dotted."""
    if not curves:
        raise InputError("figure_limits: no curves given")
    fig, ax = _axes(ax, (8, 6.5))
    _draw_curves(ax, curves, _default_styles(curves))
    lo = min(float(c.mass.min()) for c in curves.values())
    hi = max(float(c.mass.max()) for c in curves.values())
    d = np.concatenate([np.concatenate([c.d95, c.d95_chi2]) for c in curves.values()])
    _limit_axes(ax, (lo / 1.5, hi * 1.5), (float(d.min()) / 3, float(d.max()) * 3))
    ax.legend(loc="upper left", fontsize=11, title="95% C.L. expected; dotted: $\\chi^2$", title_fontsize=10)
    style.experiment_label(ax, "Dipole portal")
    return fig


def _limit_axes(ax: plt.Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(style.M_LABEL)
    ax.set_ylabel(style.D_LABEL)


def _default_styles(names) -> tuple[tuple[str, CurveStyle], ...]:
    return tuple((n, CurveStyle(f"C{i % 10}")) for i, n in enumerate(names))


def _draw_curves(ax: plt.Axes, curves: dict[str, LimitCurve], styles: tuple[tuple[str, CurveStyle], ...],
                 chi2: bool = True, bands: bool = True) -> None:
    for name, st in styles:
        c = curves.get(name)
        if c is None:
            continue
        if bands and c.bands is not None:
            ax.fill_between(c.mass, c.bands[1], c.bands[3], color=st.color, alpha=0.15, lw=0)
        ax.plot(c.mass, c.d95, color=st.color, ls=st.linestyle, lw=2, label=c.label)
        if chi2:
            ax.plot(c.mass, c.d95_chi2, color=st.color, lw=1.0, ls=(0, (1, 2)), alpha=0.8)


def _missing(curves: dict[str, LimitCurve], names: tuple[str, ...], figure: str) -> None:
    if not any(n in curves for n in names):
        raise InputError(f"{figure}: none of the scenarios {', '.join(names)} has a limits table")


def default_figure(name: str) -> FigureSpec:
    """A figure of the packaged configuration (fig1_belle2, fig2_bes3_stcf, fig3_landscape)."""
    spec = load_configuration()[1].figure(name)
    if spec is None:  # pragma: no cover - the packaged configuration has them
        raise InputError(f"figure {name!r} is not in the packaged configuration")
    return spec


def _footnote(ax: plt.Axes, text: str) -> None:
    ax.text(0.98, 0.03, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=10, color="0.3")


def _axes(ax: plt.Axes | None, figsize: tuple[float, float]) -> tuple[Figure, plt.Axes]:
    """The given axes and their figure, or a new figure of ``figsize`` inches."""
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def figure_from_spec(curves: dict[str, LimitCurve], spec: FigureSpec, ax: plt.Axes | None = None) -> Figure:
    """A limits figure as the configuration describes it: its scenarios, colours, line styles and ranges."""
    _missing(curves, spec.scenarios, spec.name)
    fig, ax = _axes(ax, (8, 6.5))
    _draw_curves(ax, curves, spec.curves)
    shown = [curves[n] for n in spec.scenarios if n in curves]
    xlim = spec.xlim or (min(c.mass.min() for c in shown) / 1.5, max(c.mass.max() for c in shown) * 1.5)
    ylim = spec.ylim or (min(c.d95.min() for c in shown) / 3, max(c.d95.max() for c in shown) * 3)
    _limit_axes(ax, xlim, ylim)
    style.experiment_label(ax, spec.title)
    ax.legend(loc="upper left", fontsize=12, title="expected 95% C.L. (CLs median); dotted: $\\chi^2$",
              title_fontsize=11)
    _footnote(ax, "band: CLs $\\pm1\\sigma$")
    return fig


def figure_belle2(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Fig. 1: Belle II, 50 ab^-1, the three selections (drawn on ``ax``, or a new figure)."""
    return figure_from_spec(curves, default_figure("fig1_belle2"), ax)


def figure_bes3_stcf(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Fig. 2: BESIII 28 fb^-1 and STCF at 2, 4 and 7 GeV with 10 ab^-1."""
    return figure_from_spec(curves, default_figure("fig2_bes3_stcf"), ax)


def figure_landscape(curves: dict[str, LimitCurve], spec: FigureSpec | None = None,
                     axes: Sequence[plt.Axes] | None = None, hnlimits: Path | None = None) -> Figure:
    """Fig. 3: the e+e- projections over the existing limits, one panel (of three ``axes``) per flavour."""
    spec = spec or default_figure("fig3_landscape")
    _missing(curves, spec.scenarios, spec.name)
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(18, 6.5), sharey=True)
    else:
        fig = axes[0].figure
    for ax, flavour in zip(axes, FLAVOURS, strict=True):
        for i, reg in enumerate(load_regions(flavour, hnlimits)):
            grey = str(0.55 + 0.3 * (i % 4) / 3)
            ax.fill(reg.mass_GeV, reg.d_GeV_inv, color=grey, alpha=0.6, lw=0.5, ec="0.35")
            k = int(np.argmin(reg.d_GeV_inv))
            x, y = reg.mass_GeV[k], reg.d_GeV_inv[k]
            if 1e-3 < x < 20 and 1e-8 < y < 1e-2:
                ax.text(x, y * 1.15, reg.label, fontsize=9, ha="center", va="bottom", color="0.15")
        _draw_curves(ax, curves, spec.curves, chi2=False, bands=False)
        _limit_axes(ax, spec.xlim or (1e-3, 12), spec.ylim or (1e-8, 1e-2))
        sub = flavour if flavour == "e" else "\\" + flavour
        ax.text(0.97, 0.96, f"{FLAVOUR_LABEL[flavour]}: N couples to $\\nu_{{{sub}}}$", transform=ax.transAxes,
                ha="right", va="top", fontsize=14, bbox={"fc": "white", "ec": "0.6", "alpha": 0.9})
        if ax is not axes[0]:
            ax.set_ylabel("")
        style.experiment_label(ax, spec.title or "Dipole portal")
    axes[0].legend(loc="lower right", fontsize=10, title="95% C.L. expected", title_fontsize=10)
    _footnote(axes[2], "grey: existing limits (HNLimits; 90% or 95% C.L. as published)")
    fig.tight_layout()
    return fig


def figure_cls_vs_chi2(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Diagnostic: d95 (CLs) / d95 (chi2) versus m_N for every scenario."""
    fig, ax = _axes(ax, (8, 6))
    for (name, st) in _default_styles(curves):
        c = curves[name]
        ax.plot(c.mass, c.d95 / c.d95_chi2, marker="o", ms=4, color=st.color, label=c.label)
    ax.axhline(1.0, color="0.5", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(style.M_LABEL)
    ax.set_ylabel(r"$d_{95}$(CLs) / $d_{95}$($\chi^2$)")
    ax.set_ylim(0.8, 1.3)
    ax.legend(fontsize=9, ncol=2, loc="upper left")
    style.experiment_label(ax, "Dipole portal: diagnostics")
    return fig


def figure_bands(curves: dict[str, LimitCurve]) -> Figure | None:
    """Diagnostic: the expected CLs limit with its +-1 and +-2 sigma bands, one panel per scenario."""
    names = [n for n, c in curves.items() if c.bands is not None]
    if not names:
        return None
    ncol = 4
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 4 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        c = curves[name]
        ax.fill_between(c.mass, c.bands[0], c.bands[4], color="#ffdf00", lw=0, label=r"$\pm2\sigma$")
        ax.fill_between(c.mass, c.bands[1], c.bands[3], color="#00cc00", lw=0, label=r"$\pm1\sigma$")
        ax.plot(c.mass, c.bands[2], "k--", lw=1.5, label="median")
        ax.plot(c.mass, c.d95_chi2, color="C3", lw=1.2, ls=":", label=r"$\chi^2$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(c.label, fontsize=10)
        ax.set_xlabel(style.M_LABEL, fontsize=11)
        ax.set_ylabel(style.D_LABEL, fontsize=11)
        ax.tick_params(which="both", labelsize=9)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.text(0.97, 0.95, c.calculator, transform=ax.transAxes, fontsize=8, va="top", ha="right")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle("Dipole portal, $e^+e^-$ projections: expected 95% C.L. limits, CLs median and bands",
                 fontsize=14)
    fig.tight_layout()
    return fig
