"""E_gamma (CM) x theta_gamma (lab) histograms with ``Weight()`` storage, to ROOT (TH2D) and UHI JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hist
import numpy as np
import uhi.io.json
import uproot

from dipole_portal.core.atomic import atomic_path, write_text_atomic
from dipole_portal.core.errors import InputError

N_E_BINS = 25
N_THETA_BINS = 36
FIT_REBIN = (5, 4)  # the 25 x 36 selection histograms are merged to 5 x 9 bins for the binned fit


def make_histogram(sqrt_s: float, n_e: int = N_E_BINS, n_theta: int = N_THETA_BINS) -> hist.Hist:
    """Empty 2D histogram: E_gamma in [0, sqrt(s)/2] GeV (CM), theta_gamma in [0, 180] deg (lab)."""
    return hist.Hist(
        hist.axis.Regular(n_e, 0.0, sqrt_s / 2, name="E_gamma", label=r"$E_\gamma$ (CM) [GeV]"),
        hist.axis.Regular(n_theta, 0.0, 180.0, name="theta_gamma", label=r"$\theta_\gamma$ (lab) [deg]"),
        storage=hist.storage.Weight(),
        label="sigma [pb]",
    )


def fit_binned(h: hist.Hist) -> hist.Hist:
    """The histogram merged to the fit binning (FIT_REBIN)."""
    return h[:: hist.rebin(FIT_REBIN[0]), :: hist.rebin(FIT_REBIN[1])]


def fill(h: hist.Hist, E: np.ndarray, theta_lab_rad: np.ndarray, weight: np.ndarray) -> None:
    h.fill(E_gamma=E, theta_gamma=np.degrees(theta_lab_rad), weight=weight)


def write_root(path: str | os.PathLike[str], histograms: dict[str, hist.Hist]) -> Path:
    """Write histograms as TH2D (sums of weights and of squared weights) atomically."""
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            for name, h in histograms.items():
                f[name] = h
    return Path(path)


def write_json(path: str | os.PathLike[str], histograms: dict[str, hist.Hist]) -> Path:
    """Write histograms in the UHI JSON serialisation atomically."""
    return write_text_atomic(path, json.dumps(histograms, default=uhi.io.json.default))


def read_json_text(text: str, where: str) -> dict[str, hist.Hist]:
    """Histograms from UHI JSON text; ``where`` names the source in errors."""
    try:
        data = json.loads(text, object_hook=uhi.io.json.object_hook)
        return {name: hist.Hist(obj) for name, obj in data.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(f"{where}: cannot read histogram JSON ({exc})") from None


def read_json(path: str | os.PathLike[str]) -> dict[str, hist.Hist]:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read histogram JSON ({exc})") from None
    return read_json_text(text, str(path))


def read_root(path: str | os.PathLike[str]) -> dict[str, hist.Hist]:
    try:
        with uproot.open(path) as f:
            out = {}
            for k in f.keys(cycle=False):
                if f[k].classname == "TH2D":
                    out[k] = _renamed(f[k].to_hist())
            return out
    except Exception as exc:
        raise InputError(f"{path}: cannot read histograms ({type(exc).__name__}: {exc})") from None


def _renamed(h: hist.Hist) -> hist.Hist:
    """Give a histogram read from ROOT (which stores titles, not names) this package's axis names back."""
    ax_e, ax_t = h.axes
    out = hist.Hist(
        hist.axis.Variable(ax_e.edges, name="E_gamma", label=ax_e.label),
        hist.axis.Variable(ax_t.edges, name="theta_gamma", label=ax_t.label),
        storage=hist.storage.Weight(),
    )
    out.view(flow=True)[...] = h.view(flow=True)
    return out
