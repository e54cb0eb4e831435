"""Diagnostic: signal and nu nubar gamma in the E_gamma (CM) x theta_gamma (lab) plane, with the cuts drawn.

Reads the histograms the selection stage wrote (``histograms/<scenario>.root``: ``signal_all``,
``nunugamma_all`` before cuts, in pb per bin), shown as expected events per bin at the scenario's luminosity
(so two scenarios that differ only in luminosity differ in the figure too), and draws the boundary of the
accepted region, found by evaluating the scenario's own selection on a fine grid (the same cut functions the
event selection uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from dipole_portal.core.config import Scenario
from dipole_portal.core.numerics import SQRT_S_MATCH_GEV
from dipole_portal.plotting import style
from dipole_portal.selections import geometry as geo
from dipole_portal.selections.cuts import PhotonColumns, build_selection
from dipole_portal.selections.histograms import read_diagnostic_meta, read_root


def accepted_grid(scenario: Scenario, sqrt_s: float, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E GeV, theta_lab deg, accepted 0/1) on a grid, from the scenario's selection at ``sqrt_s``."""
    point = next(p for p in scenario.points if abs(p.sqrt_s - sqrt_s) < SQRT_S_MATCH_GEV)
    sel = build_selection(scenario, point)
    E = np.linspace(0, sqrt_s / 2, n + 1)[1:]
    th_lab = np.linspace(0.05, 179.95, n)
    EE, TT = np.meshgrid(E, th_lab, indexing="ij")
    th_cm = np.radians(geo.lab_to_cm_theta_deg(TT.ravel(), sel.beta)).reshape(TT.shape)
    ok = sel.passed(PhotonColumns(EE, th_cm, np.radians(TT)))
    return E, th_lab, ok.astype(float)


def figure_plane(scenario: Scenario, hist_file: Path, axes: Sequence[plt.Axes] | None = None) -> Figure:
    """Two panels (``axes``, or a new figure), signal and background before cuts, the selection's boundary in red."""
    hs = read_root(hist_file)
    meta = read_diagnostic_meta(hist_file.with_suffix(".json"))
    sqrt_s, mass, lumi = meta["sqrt_s_GeV"], meta["mass_GeV"], meta["lumi_fb"]
    d_ref = meta["d_ref_GeV_inv"]
    E, th, ok = accepted_grid(scenario, sqrt_s)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    else:
        fig = cast(Figure, axes[0].figure)
    for ax, key, title in (
        (axes[0], "signal_all", f"signal, $m_N$ = {mass:g} GeV ({meta['decay_model']})"),
        (axes[1], "nunugamma_all", r"$e^+e^- \to \nu\bar\nu\gamma$ (generated in the cuts' box)"),
    ):
        h = hs[key]
        vals = h.values() * 1000.0 * lumi  # pb per bin -> expected events per bin at the scenario's luminosity
        pos = vals[vals > 0]
        norm = LogNorm(vmin=max(pos.min(), pos.max() * 1e-5), vmax=pos.max()) if pos.size else None
        e_edges, t_edges = h.axes[0].edges, h.axes[1].edges
        mesh = ax.pcolormesh(e_edges, t_edges, np.where(vals > 0, vals, np.nan).T, norm=norm, cmap="viridis")
        what = f"events / bin ({lumi:g} fb$^{{-1}}$" + (
            f", $d = {style.sci_tex(d_ref)}$ GeV$^{{-1}}$)" if key.startswith("signal") else ")"
        )
        bar = fig.colorbar(mesh, ax=ax)
        bar.set_label(what, fontsize=15)
        ax.contour(E, th, ok.T, levels=[0.5], colors="red", linewidths=1.8)
        ax.set_xlabel(r"$E_\gamma$ (CM) [GeV]")
        ax.set_ylabel(r"$\theta_\gamma$ (lab) [deg]")
        ax.set_title(title, fontsize=14)
    fig.suptitle(
        f"{scenario.label}, $\\sqrt{{s}}$ = {sqrt_s:g} GeV, generator level; red line: boundary of the "
        "accepted region (phenomenological projection)",
        fontsize=14,
    )
    fig.tight_layout()
    return fig
