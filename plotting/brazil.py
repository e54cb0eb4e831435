"""Diagnostic: expected CLs versus the signal strength mu (a Brazil band, as ``pyhf.contrib.viz.brazil`` draws it)
at one mass per scenario, from the published pyhf files (``workspaces/<scenario>_bkgonly.json`` and the patch of
that mass). The patch holds the signal at the tabulated limit, so the median must cross CLs = 0.05 at mu = 1.

Toy-based points (BESIII) are drawn from the same numpy toys that computed their limit; the others from pyhf's
asymptotic calculator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from dipole_portal.core.errors import InputError
from dipole_portal.stats.cls_scan import MU_SCAN, cls_scan
from dipole_portal.stats.limit_table import read_limit_table
from dipole_portal.stats.models import patch_name


def _read_json(path: Path, what: str) -> Any:
    from dipole_portal.core.readers import read_json

    return read_json(path, what)


def _patch_errors() -> tuple[type[Exception], ...]:
    """What jsonpatch and pyhf raise for a patch that does not fit its workspace."""
    import jsonpatch
    import pyhf.exceptions

    return (
        jsonpatch.JsonPatchException,
        jsonpatch.JsonPointerException,
        pyhf.exceptions.InvalidModel,
        pyhf.exceptions.InvalidSpecification,
    )


def figure_brazil(limits_folder: Path, workspaces: Path, target_mass_GeV: float = 1.0) -> Figure | None:
    """One panel per scenario at the tabulated mass nearest ``target_mass_GeV``; None without workspaces."""
    from pyhf.contrib.viz import brazil

    caught: tuple[type[Exception], ...] = (*_patch_errors(), KeyError, TypeError, ValueError)
    panels = []
    for table_path in sorted(limits_folder.glob("*_limits.json")):
        table = read_limit_table(table_path)
        name = table["scenario"]
        bkg_path = workspaces / f"{name}_bkgonly.json"
        if not bkg_path.exists() or not table["limits"]:
            continue
        row = min(table["limits"], key=lambda r: abs(np.log(r["mass_GeV"] / target_mass_GeV)))
        patch_path = workspaces / f"{name}_patches" / f"{patch_name(row['mass_GeV'])}.json"
        bkg, patch = _read_json(bkg_path, "background-only workspace"), _read_json(patch_path, "per-mass patch")
        toys = (row.get("calculator") or "").startswith("toys")
        try:
            scan = cls_scan(bkg, patch, toys)
        except caught as exc:
            raise InputError(
                f"{patch_path}: not a signal patch of {bkg_path.name} that pyhf can fit ({type(exc).__name__}: {exc})"
            ) from None
        panels.append((table.get("label", name), row, scan, toys))
    if not panels:
        return None
    ncol = 4
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 4.2 * nrow), squeeze=False)
    for ax, (label, row, results, toys) in zip(axes.flat, panels, strict=False):
        brazil.plot_results(MU_SCAN, results, test_size=0.05, ax=ax)
        ax.axvline(1.0, color="C3", lw=1, ls="--")
        ax.set_xlabel(r"$\mu$ (signal at the tabulated $d_{95}$ = 1)", fontsize=11)
        ax.set_ylabel(r"expected CL$_s$", fontsize=11)
        ax.set_title(
            f"{label}\n$m_N$ = {row['mass_GeV']:.3g} GeV, $d_{{95}}$ = {row['d95']:.3g} GeV$^{{-1}}$ "
            f"({'numpy toys' if toys else 'asymptotic'})",
            fontsize=9,
        )
        ax.tick_params(labelsize=9)
        if ax.get_legend():
            ax.get_legend().remove()
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="upper right")
    fig.suptitle(
        "Expected CLs versus $\\mu$ from the published pyhf files: the median crosses 0.05 at $\\mu$ = 1 "
        "(phenomenological projection)",
        fontsize=13,
    )
    fig.tight_layout()
    return fig
