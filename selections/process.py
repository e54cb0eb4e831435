"""Run a selection over one sample file: cut-flow, accepted cross section and a filled histogram."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import awkward as ak
import hist
import numpy as np

from dipole_portal.selections import histograms
from dipole_portal.selections.cutflow import CutFlow
from dipole_portal.selections.cuts import Selection
from dipole_portal.selections.reader import DEFAULT_STEP, check_sample, iterate_photons, photon_columns


@dataclass
class SampleResult:
    """Selected sample: cut-flow (pb), histogram of accepted events (pb per bin) and metadata."""

    process: str
    cutflow: CutFlow
    histogram: hist.Hist
    metadata: dict
    histogram_all: hist.Hist | None = None  # every event, before cuts (diagnostics only)

    @property
    def xsec_pb(self) -> float:
        """Accepted cross section (pb)."""
        return self.cutflow.sumw[-1]

    @property
    def xsec_err_pb(self) -> float:
        """MC statistical uncertainty of the accepted cross section (pb)."""
        return float(np.sqrt(self.cutflow.sumw2[-1]))

    @property
    def efficiency(self) -> float:
        return self.cutflow.efficiency


@dataclass(frozen=True)
class SelectedSample:
    """What the yields need from a selected sample, as plain numbers (JSON-able, cacheable).

    Cross sections in pb; ``fit_*`` are the accepted events in the fit binning, flattened (pb, pb^2).
    """

    process: str
    events_total: int
    xsec_total_pb: float
    xsec_pb: float
    xsec_err_pb: float
    fit_values_pb: tuple[float, ...]
    fit_variances_pb2: tuple[float, ...]
    cutflow: dict

    @property
    def efficiency(self) -> float:
        return self.xsec_pb / self.xsec_total_pb if self.xsec_total_pb else 0.0

    @classmethod
    def from_result(cls, r: SampleResult) -> SelectedSample:
        h = histograms.fit_binned(r.histogram)
        return cls(r.process, r.cutflow.events[0], r.cutflow.sumw[0], r.xsec_pb, r.xsec_err_pb,
                   tuple(float(v) for v in h.values().ravel()), tuple(float(v) for v in h.variances().ravel()),
                   r.cutflow.as_dict())

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SelectedSample:
        return cls(**{**d, "fit_values_pb": tuple(d["fit_values_pb"]),
                      "fit_variances_pb2": tuple(d["fit_variances_pb2"])})


def process_sample(
    path: str | os.PathLike[str], process: str, selection: Selection, step_size: int = DEFAULT_STEP,
    fill_all: bool = False,
) -> SampleResult:
    """Read ``path`` chunk by chunk, apply ``selection`` and fill the cut-flow and histogram.

    ``fill_all`` also fills a histogram of every event before cuts (for the diagnostics figure).
    """
    meta = check_sample(path, process, selection.sqrt_s)
    flow = CutFlow(selection.cut_names)
    h = histograms.make_histogram(selection.sqrt_s)
    h_all = histograms.make_histogram(selection.sqrt_s) if fill_all else None
    for chunk in iterate_photons(path, step_size):
        select_chunk(chunk, selection, flow, h, h_all)
    return SampleResult(process, flow, h, meta, h_all)


def select_chunk(chunk: ak.Array, selection: Selection, flow: CutFlow, h: hist.Hist,
                 h_all: hist.Hist | None = None) -> None:
    """Apply ``selection`` to one chunk of photons; add to the cut-flow and histograms."""
    cols = photon_columns(chunk, selection.beta)
    weight = np.asarray(chunk.weight, dtype=np.float64)
    mask = flow.fill(selection.masks(cols), weight)
    histograms.fill(h, cols.E[mask], cols.theta_lab[mask], weight[mask])
    if h_all is not None:
        histograms.fill(h_all, cols.E, cols.theta_lab, weight)
