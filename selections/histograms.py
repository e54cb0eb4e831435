"""E_gamma (CM) x theta_gamma (lab) histograms with ``Weight()`` storage, to ROOT (TH2D) and UHI JSON."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

import hist
import numpy as np
import uhi.io.json
import uproot

from dipole_portal.core.atomic import atomic_path, write_text_atomic
from dipole_portal.core.errors import InputError
from dipole_portal.core.schemas import POSITIVE, check_schema

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
    merged = h[:: hist.rebin(FIT_REBIN[0]), :: hist.rebin(FIT_REBIN[1])]
    assert isinstance(merged, hist.Hist)  # slicing with rebin keeps both axes: a histogram, not a number
    return merged


def fill(h: hist.Hist, E: np.ndarray, theta_lab_rad: np.ndarray, weight: np.ndarray) -> None:
    h.fill(E_gamma=E, theta_gamma=np.degrees(theta_lab_rad), weight=weight)


ROOT_AXIS_TITLES = ("E_{#gamma}^{CM} [GeV]", "#theta_{#gamma}^{lab} [deg]")  # TLatex, as ROOT draws them
METADATA_KEY = "metadata"


@dataclass(frozen=True)
class RootHistInfo:
    """What a TH2D says about itself in ROOT: its title, z-axis title (with unit) and number of entries."""

    title: str
    z_title: str
    entries: int


def d_latex(d_GeV_inv: float) -> str:
    """A coupling in TLatex: ``d = 10^{-5} GeV^{-1}``, ``d = 3#times10^{-6} GeV^{-1}``.

    >>> d_latex(1e-5), d_latex(3e-6)
    ('d = 10^{-5} GeV^{-1}', 'd = 3#times10^{-6} GeV^{-1}')
    """
    mant, exp = f"{d_GeV_inv:.0e}".split("e")
    power = f"10^{{{int(exp)}}}"
    return f"d = {power if mant == '1' else mant + '#times' + power} GeV^{{-1}}"


def hist_info(process: str, stage: str, where: str, entries: int, d_ref: float | None = None) -> RootHistInfo:
    """Title, z title and entries of a TH2D of ``process`` ('signal' or 'nunugamma') ``stage`` ('before cuts' or
    'after cuts') at ``where`` (scenario and energy); the signal's z title names its coupling."""
    name = "signal" if process == "signal" else "e^{+}e^{-} #rightarrow #nu#bar{#nu}#gamma"
    z = "#sigma per bin [pb]" + (f" at {d_latex(d_ref)}" if process == "signal" and d_ref else "")
    return RootHistInfo(f"{name}, {stage}, {where}", z, int(entries))


def root_title(text: str) -> str:
    """A title as ROOT keeps it: ``;`` separates a histogram's title from its axis titles in ``SetTitle`` (and
    ``ProjectionX`` and ``SetTitle(GetTitle())`` split on it), so it never appears inside one title.

    >>> root_title("signal, after cuts; m_N = 1 GeV")
    'signal, after cuts, m_N = 1 GeV'
    """
    return text.replace(";", ",")


def to_th2d(h: hist.Hist, info: RootHistInfo | None = None) -> object:
    """uproot's writable TH2D of ``h`` with TLatex axis titles and, given ``info``, its title, z title and the
    number of filled events as entries (uproot would store the sum of weights there).

    The sum of squared weights ``fTsumw2`` is set from the bins' variances (uproot 5 writes the sum of weights
    there), so ROOT's ``GetEffectiveEntries`` = sumw^2 / sumw2 is right.
    """
    th2 = uproot.to_writable(h)
    th1 = th2.bases[0].bases[0]
    variances = h.variances(flow=False)
    assert variances is not None  # Weight() storage
    th1._members["fTsumw2"] = float(np.sum(variances))
    for axis, title in zip((th1.member("fXaxis"), th1.member("fYaxis")), ROOT_AXIS_TITLES, strict=True):
        axis.bases[0]._members["fTitle"] = root_title(title)
    if info is not None:
        th1.bases[0]._members["fTitle"] = root_title(info.title)
        th1.member("fZaxis").bases[0]._members["fTitle"] = root_title(info.z_title)
        th1._members["fEntries"] = float(info.entries)
    return th2


def write_root(
    path: str | os.PathLike[str],
    histograms: dict[str, hist.Hist],
    info: dict[str, RootHistInfo] | None = None,
    metadata: dict | None = None,
) -> Path:
    """Write histograms as TH2D (sums of weights and of squared weights) atomically.

    ``info``: per histogram, the title, z-axis title and entries ROOT shows; ``metadata``: stored inside the file as
    a TObjString ``metadata`` holding JSON (scenario, mass, units), so the file describes itself.
    """
    info = info or {}
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            for name, h in histograms.items():
                f[name] = to_th2d(h, info.get(name))
            if metadata is not None:
                f[METADATA_KEY] = json.dumps(metadata, sort_keys=True, allow_nan=False)
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
    from dipole_portal.core.readers import read_bytes

    try:
        text = read_bytes(path, "histogram JSON").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read histogram JSON ({exc})") from None
    return read_json_text(text, str(path))


def read_root(path: str | os.PathLike[str]) -> dict[str, hist.Hist]:
    from dipole_portal.core.readers import check_regular

    check_regular(path, "ROOT histogram")
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


class DiagnosticMeta(TypedDict):
    """What a diagnostic histogram file holds (``<scenario>.json`` beside ``<scenario>.root``): the scenario, the
    data set (sqrt(s) [GeV], luminosity [fb^-1]), the signal point (m_N [GeV], d [GeV^-1], photon law, charge
    conjugate modes), units, axes and both cut-flows."""

    scenario: str
    label: str
    sqrt_s_GeV: float
    lumi_fb: float
    mass_GeV: float
    d_ref_GeV_inv: float
    decay_model: str
    n_cc_modes: int
    units: str
    axes: dict[str, str]
    events_per_bin: str
    cutflow_signal: dict[str, Any]
    cutflow_nunugamma: dict[str, Any]


DIAGNOSTIC_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["meta"],
    "properties": {
        "meta": {
            "type": "object",
            "required": list(DiagnosticMeta.__annotations__),  # every key
            "properties": {
                **{k: {"type": "string"} for k in ("scenario", "label", "decay_model", "units", "events_per_bin")},
                **{k: POSITIVE for k in ("sqrt_s_GeV", "lumi_fb", "mass_GeV", "d_ref_GeV_inv")},
                "n_cc_modes": {"enum": [1, 2]},
                "axes": {"type": "object", "additionalProperties": {"type": "string"}},
                "cutflow_signal": {"type": "object"},
                "cutflow_nunugamma": {"type": "object"},
            },
        }
    },
}


def read_diagnostic_meta(path: str | os.PathLike[str]) -> DiagnosticMeta:
    """The ``meta`` record of a diagnostic histogram file's JSON companion, checked against its schema."""
    from dipole_portal.core.readers import read_json as read_json_document

    data = read_json_document(path, "histogram record")
    check_schema(data, DIAGNOSTIC_META_SCHEMA, str(path))
    return cast(DiagnosticMeta, data["meta"])
