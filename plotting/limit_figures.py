"""The paper's figures from the limit tables (``limits/<scenario>_limits.json``), and limit diagnostics.

Fig. 1: Belle II low-mass, high-mass and bBG selections. Fig. 2: BESIII and STCF at 2, 4 and 7 GeV.
Fig. 3: the landscape over the existing limits (HNLimits), one panel per flavour. Diagnostics: chi2 versus
CLs, and the expected-limit bands per scenario. Expected limits are CLs medians (solid) with the chi2
criterion of the paper dotted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

from dipole_portal.core.errors import InputError
from dipole_portal.plotting import style
from dipole_portal.plotting.existing import FLAVOURS, load_regions
from dipole_portal.plotting.presentation import CurveStyle, FigureSpec, load_configuration
from dipole_portal.stats.limit_table import LimitRow, read_limit_table

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
    choices: str = ""  # non-default choices the numbers rest on (decay model, N counted), for the legend
    threshold_GeV: float | None = None  # the highest sqrt(s): the curve diverges as m_N -> threshold
    background: np.ndarray | None = None  # expected background events at each mass
    coupling: str = "d"  # what d95 limits: "d" (the photon dipole alone) or "d_gamma" (with d_Z of an operator)

    def to_threshold(self, n: int = 40, rise: float = 1e4) -> tuple[np.ndarray, np.ndarray]:
        """The curve (m_N, d95) continued from its last mass to its threshold along the leading behaviour there,
        d95 ~ (1 - m_N / sqrt(s))^-1 (sigma ~ (s - m_N^2)^2 with a prompt N), up to ``rise`` times its last value,
        above any figure's top: a drawn curve rises to its threshold instead of stopping in mid-air.

        >>> c = LimitCurve("x", "x", np.array([1.0, 3.6]), np.array([1.0, 2.0]), np.array([1.0, 2.0]), None, "",
        ...                threshold_GeV=4.0)
        >>> m, d = c.to_threshold(n=3, rise=100.0)
        >>> m.round(4).tolist(), d.round(1).tolist()
        ([1.0, 3.6, 3.96, 3.996], [1.0, 2.0, 20.0, 200.0])
        """
        m, d = self.mass, self.d95
        top = self.threshold_GeV
        if top is None or len(m) == 0 or m[-1] >= top:
            return m, d
        gap = 1 - m[-1] / top
        extra = np.geomspace(1, rise, n)[1:]
        return np.concatenate([m, top * (1 - gap / extra)]), np.concatenate([d, d[-1] * extra])

    @property
    def legend(self) -> str:
        return f"{self.label} [{self.choices}]" if self.choices else self.label


def _choices(rows: list[LimitRow]) -> str:
    """The non-default decay model / counting of a table's rows, in words ('' when default)."""
    from dipole_portal.core.options import DEFAULT_CC_MODES, DEFAULT_DECAY_MODEL

    out = sorted({r.get("decay_model", DEFAULT_DECAY_MODEL.value) for r in rows} - {DEFAULT_DECAY_MODEL.value})
    words = [f"{m} angular law" for m in out]
    if any(r.get("n_cc_modes", DEFAULT_CC_MODES) != DEFAULT_CC_MODES for r in rows):
        words.append("N nubar only")
    words += [f"{m} detector" for m in sorted({r.get("detector_model", "paper") for r in rows} - {"paper"})]
    words += [f"{t} N" for t in sorted({r.get("n_type", "dirac") for r in rows} - {"dirac"})]
    return ", ".join(words)


def load_curves(folder: str | os.PathLike[str]) -> dict[str, LimitCurve]:
    """Every ``*_limits.json`` table in ``folder``, keyed by scenario."""
    out = {}
    for path in sorted(Path(folder).glob("*_limits.json")):
        table = read_limit_table(path)  # checked against the table schema: the fields below are there
        rows = sorted(table["limits"], key=lambda r: r["mass_GeV"])
        bands = None
        if rows and all(r.get("d95_cls_bands") for r in rows):
            bands = np.array([r.get("d95_cls_bands") for r in rows]).T
        out[table["scenario"]] = LimitCurve(
            table["scenario"],
            table.get("label", table["scenario"]),
            np.array([r["mass_GeV"] for r in rows]),
            np.array([r["d95"] for r in rows]),
            np.array([r["d95_chi2"] for r in rows]),
            bands,
            ", ".join(sorted({r.get("calculator") or "chi2" for r in rows})),
            _choices(rows),
            max((e for r in rows for e in r.get("channels", [])), default=None),
            np.array([r.get("background_events", np.nan) for r in rows]),
            coupling="d" if table.get("electroweak") is None else "d_gamma",
        )
    return out


def curve_from_results(scenario: str, results: Sequence, label: str | None = None) -> LimitCurve:
    """A LimitCurve from ``LimitResult`` objects (a scan in a notebook), sorted by mass."""
    rows = sorted(results, key=lambda r: r.mass_GeV)
    bands = np.array([r.d95_cls_bands for r in rows]).T if rows and all(r.d95_cls_bands for r in rows) else None
    return LimitCurve(
        scenario,
        label or scenario,
        np.array([r.mass_GeV for r in rows]),
        np.array([r.d95 for r in rows]),
        np.array([r.d95_chi2 for r in rows]),
        bands,
        ", ".join(sorted({r.calculator or "chi2" for r in rows})),
        _choices([r.as_dict() for r in rows]),
    )


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
    """Distinct colours (matplotlib's tab10; mplhep's ROOT style cycles fewer) and, past ten, dashed lines."""
    import matplotlib as mpl

    colours = mpl.colormaps["tab10"].colors  # type: ignore[attr-defined]  # a ListedColormap
    return tuple(
        (n, CurveStyle(mpl.colors.to_hex(colours[i % 10]), "-" if i < 10 else "--")) for i, n in enumerate(names)
    )


def _draw_curves(
    ax: plt.Axes,
    curves: dict[str, LimitCurve],
    styles: tuple[tuple[str, CurveStyle], ...],
    chi2: bool = True,
    bands: bool = True,
) -> None:
    for name, st in styles:
        c = curves.get(name)
        if c is None:
            continue
        if bands and c.bands is not None:
            ax.fill_between(c.mass, c.bands[1], c.bands[3], color=st.color, alpha=0.15, lw=0)
        ax.plot(*c.to_threshold(), color=st.color, ls=st.linestyle, lw=2, label=c.legend)
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
    return cast(Figure, ax.figure), ax


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
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=2,
        fontsize=12,
        frameon=False,
        title="expected 95% C.L.: CLs median, band $\\pm1\\sigma$; dotted: $\\chi^2$ (the paper's criterion)",
        title_fontsize=11,
    )
    return fig


def figure_belle2(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Fig. 1: Belle II, 50 ab^-1, the three selections (drawn on ``ax``, or a new figure)."""
    return figure_from_spec(curves, default_figure("fig1_belle2"), ax)


def figure_bes3_stcf(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Fig. 2: BESIII 28 fb^-1 and STCF at 2, 4 and 7 GeV with 10 ab^-1."""
    return figure_from_spec(curves, default_figure("fig2_bes3_stcf"), ax)


FLAVOUR_COLOURS = {
    "": ("0.62", "0.35"),
    "e": ("orange", "#b36b00"),
    "mu": ("skyblue", "#2f7fa8"),
    "tau": ("pink", "#c0507a"),
}  # fill, edge and label: the paper's Fig. 3 key


def _landscape_panel(
    ax: plt.Axes,
    flavour: str,
    curves: dict[str, LimitCurve],
    spec: FigureSpec,
    hnlimits: Path | None,
    converted: dict[str, set[str]],
) -> tuple[list[Any], Any]:
    """One flavour's panel of Fig. 3: the existing limits shaded (their labels returned, to be placed once the
    layout is final), this analysis's curves, and the panel's key; ``converted`` collects the 90% C.L. limits
    converted to 95%."""
    from dipole_portal.plotting.region_labels import RegionLabel

    labels = []
    for reg in load_regions(flavour, hnlimits):
        fill, edge = FLAVOUR_COLOURS[reg.flavour]
        poly_m, poly_d = reg.polygon()  # exactly the excluded region (above a curve, or an island)
        ax.fill(poly_m, poly_d, color=fill, alpha=0.45, lw=0.8, ec=edge)
        text = reg.label if reg.cl == 95 else f"{reg.label} ({reg.cl or '?'}%)"
        labels.append(RegionLabel(text, poly_m, poly_d, "0.1" if not reg.flavour else edge))
        if reg.converted and reg.rate_process:
            converted.setdefault(reg.rate_process, set()).add(reg.label)
    _draw_curves(ax, curves, spec.curves, chi2=False, bands=False)
    _limit_axes(ax, spec.xlim or (1e-3, 12), spec.ylim or (1e-8, 1e-2))
    if any(curves[n].coupling == "d_gamma" for n, _ in spec.curves if n in curves):
        ax.set_ylabel(style.D_GAMMA_LABEL)  # d = d_gamma for the photon-only curves and the existing limits too
    sub = flavour if flavour == "e" else "\\" + flavour
    key = ax.text(
        0.97,
        0.96,
        f"{FLAVOUR_LABEL[flavour]}: N couples to $\\nu_{{{sub}}}$",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=14,
        bbox={"fc": "white", "ec": "0.6", "alpha": 0.9},
    )
    style.experiment_label(ax, spec.title or "Dipole portal")
    return labels, key


LEGEND_ROW_IN = 0.33  # height of one row of the landscape's legend, inches (fontsize 11)


def _landscape_legend(
    fig: Figure, curves: dict[str, LimitCurve], spec: FigureSpec, converted: dict[str, set[str]]
) -> None:
    """Fig. 3's legend below the panels, and the note on converted confidence levels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [
        Line2D([], [], color=st.color, ls=st.linestyle, lw=2, label=curves[n].legend)
        for n, st in spec.curves
        if n in curves
    ]
    handles += [
        Patch(fc=FLAVOUR_COLOURS[f][0], ec=FLAVOUR_COLOURS[f][1], alpha=0.6, label=text)
        for f, text in (
            ("", "existing: all flavours"),
            ("e", r"existing: $d_e$"),
            ("mu", r"existing: $d_\mu$"),
            ("tau", r"existing: $d_\tau$"),
        )
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=4,
        fontsize=11,
        frameon=False,
        bbox_to_anchor=(0.5, 0.03),
        title="Expected 95% C.L. limits (this analysis, CLs median); existing limits at 95% C.L. unless marked",
        title_fontsize=11,
    )
    listed = "; ".join(f"{', '.join(sorted(labels))} ({process})" for process, labels in sorted(converted.items()))
    note = (
        f"90% C.L. limits on a scattering rate ~ d$^2$ converted to 95% (d x 1.133): {listed}. "
        "Others at the C.L. in brackets, as published (HNLimits)."
    )
    fig.text(0.5, 0.0, note, ha="center", va="bottom", fontsize=10, color="0.3")


def figure_landscape(
    curves: dict[str, LimitCurve],
    spec: FigureSpec | None = None,
    axes: Sequence[plt.Axes] | None = None,
    hnlimits: Path | None = None,
) -> Figure:
    """Fig. 3: the e+e- projections over the existing limits, one panel (of three ``axes``) per flavour.

    Existing limits in the paper's colours (grey: all flavours; orange d_e; sky blue d_mu; pink d_tau), each
    labelled inside its region (or beside it, with a leader line, when too thin), with its confidence level
    stated where it is not 95%; the 90% C.L. nu-e scattering limits are converted to 95% (see
    :mod:`dipole_portal.plotting.existing`). The legend sits below the panels, off the shading.
    """
    from dipole_portal.plotting.region_labels import place_labels

    spec = spec or default_figure("fig3_landscape")
    _missing(curves, spec.scenarios, spec.name)
    # the legend below the panels: four columns of the curves and the four kinds of existing limit; each row past
    # the paper's two adds LEGEND_ROW_IN inches to the figure, so that a long legend (the energy frontier's) keeps
    # off the axis labels
    rows = -(-(sum(n in curves for n, _ in spec.curves) + 4) // 4)
    extra = LEGEND_ROW_IN * max(0, rows - 2)
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(18, 6.5 + extra), sharey=True)
    else:
        fig = cast(Figure, axes[0].figure)
    bottom = (0.13 * 6.5 + extra) / fig.get_figheight()
    converted: dict[str, set[str]] = {}
    pending = []
    for ax, flavour in zip(axes, FLAVOURS, strict=True):
        labels, key = _landscape_panel(ax, flavour, curves, spec, hnlimits, converted)
        if ax is not axes[0]:
            ax.set_ylabel("")
        pending.append((ax, labels, key))
    fig.tight_layout(rect=(0, bottom, 1, 1))  # the final layout first: labels are placed in its pixels
    shown = [curves[n] for n, _ in spec.curves if n in curves]
    for ax, labels, key in pending:
        fig.canvas.draw()
        place_labels(ax, labels, obstacles_data=[(c.mass, c.d95) for c in shown], avoid=[key.get_window_extent()])
    _landscape_legend(fig, curves, spec, converted)
    return fig


def _detector_panel(
    ax: plt.Axes, rax: plt.Axes, title: str, rows: list[tuple[LimitCurve, LimitCurve, CurveStyle]]
) -> None:
    """One group's panel of the detector figure: each (paper, realistic, style) pair of curves above, the ratio
    realistic / paper below."""
    ratios = [1.0]
    for p, r, st in rows:
        ax.plot(p.mass, p.d95, color=st.color, lw=2, label=f"{p.label}: paper's detector")
        ax.plot(
            r.mass,
            r.d95,
            color=st.color,
            ls="none",
            marker="o",
            ms=6,
            mfc="none",
            mew=1.5,
            label="realistic detector",
        )
        ratio = r.d95 / np.interp(np.log(r.mass), np.log(p.mass), p.d95)
        ratios += [float(x) for x in ratio]
        rax.plot(r.mass, ratio, color=st.color, marker="o", ms=4, lw=1.2)
    pad = max(0.05, 0.12 * (max(ratios) - min(ratios)))  # points at 1.0 clear of the frame
    rax.set_ylim(min(ratios) - pad, max(ratios) + pad)
    lo = min(float(p.mass.min()) for p, _, _ in rows)
    hi = max(float(p.mass.max()) for p, _, _ in rows)
    d = np.concatenate([np.concatenate([p.d95, r.d95]) for p, r, _ in rows])
    _limit_axes(ax, (lo / 1.5, hi * 1.5), (float(d.min()) / 3, float(d.max()) * 3))
    ax.set_xlabel("")
    ax.set_ylabel(style.D_LABEL, fontsize=18)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.56, 0.99),
        fontsize=11,
        title="expected 95% C.L. (CLs median)",
        title_fontsize=11,
    )
    style.experiment_label(ax, f"{title}: paper's vs realistic detector")
    rax.axhline(1.0, color="0.5", lw=1)
    rax.set_xscale("log")
    rax.set_xlabel(style.M_LABEL, fontsize=18)
    rax.set_ylabel("realistic / paper", fontsize=14)


def figure_detector(
    paper: dict[str, LimitCurve], realistic: dict[str, LimitCurve], panels: dict[str, list[str]]
) -> Figure | None:
    """The paper's idealised detector against the realistic one (decay volume, measured direction, resolution):
    one panel per group of scenarios (``{title: [scenario, ...]}``), paper curves solid, the realistic detector's
    limits as open markers at the masses computed, and their ratio below."""
    panels = {t: [n for n in ns if n in paper and n in realistic] for t, ns in panels.items()}
    panels = {t: ns for t, ns in panels.items() if ns}
    if not panels:
        return None
    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(9.5 * len(panels), 9),
        squeeze=False,
        sharex="col",
        gridspec_kw={"height_ratios": [3, 1], "hspace": 0.06, "wspace": 0.3},
    )
    styles = dict(_default_styles([n for ns in panels.values() for n in ns]))
    for col, (title, names) in enumerate(panels.items()):
        _detector_panel(axes[0, col], axes[1, col], title, [(paper[n], realistic[n], styles[n]) for n in names])
    fig.align_ylabels(axes[:, 0])
    return fig


def figure_cls_vs_chi2(curves: dict[str, LimitCurve], ax: plt.Axes | None = None) -> Figure:
    """Diagnostic: d95 (CLs) / d95 (chi2) versus m_N for every scenario."""
    fig, ax = _axes(ax, (8, 6))
    for name, st in _default_styles(curves):
        c = curves[name]
        ax.plot(c.mass, c.d95 / c.d95_chi2, marker="o", ms=3, color=st.color, ls=st.linestyle, label=c.legend)
    ax.axhline(1.0, color="0.5", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(style.M_LABEL)
    ax.set_ylabel(r"$d_{95}$ (CL$_s$) / $d_{95}$ ($\chi^2$)")
    ax.set_ylim(0.8, 1.3)
    ax.legend(fontsize=9, ncol=2, loc="upper left")
    style.experiment_label(ax, "Dipole portal: diagnostics")
    return fig


def _calculator_note(c: LimitCurve) -> str:
    """The calculator of a curve's bands; with toys, why two bands can coincide."""
    if c.bands is None or "toys" not in c.calculator:
        return c.calculator
    same = np.isclose(c.bands[0], c.bands[1], rtol=1e-9)
    if not same.any():
        return c.calculator
    b = "" if c.background is None else f" (B $\\leq$ {np.nanmax(c.background[same]):.2g} events)"
    return (
        f"{c.calculator}\n$-2\\sigma$ = $-1\\sigma$ at {int(same.sum())} of {len(same)} masses{b}:\n"
        "both quantiles fall on the same count"
    )


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
        assert c.bands is not None
        ax.fill_between(c.mass, c.bands[0], c.bands[4], color="#ffdf00", lw=0, label=r"$\pm2\sigma$")
        ax.fill_between(c.mass, c.bands[1], c.bands[3], color="#00cc00", lw=0, label=r"$\pm1\sigma$")
        ax.plot(c.mass, c.bands[2], "k--", lw=1.5, label="median")
        ax.plot(c.mass, c.d95_chi2, color="C3", lw=1.2, ls=":", label=r"$\chi^2$")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # from the best limit to the lowest mass's: the divergence at threshold would squeeze the bands flat
        ax.set_ylim(float(np.min(c.bands[0])) / 1.5, float(max(c.bands[4][0], np.min(c.bands[4]) * 3)) * 1.5)
        ax.set_title(f"{c.legend}\n({_calculator_note(c)})", fontsize=10)
        ax.set_xlabel(style.M_LABEL, fontsize=11)
        ax.set_ylabel(style.D_LABEL, fontsize=11)
        ax.tick_params(which="both", labelsize=9)
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
        ax.yaxis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(1.2, 0.6)))
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle("Dipole portal, $e^+e^-$ projections: expected 95% C.L. limits, CLs median and bands", fontsize=14)
    fig.tight_layout()
    return fig
