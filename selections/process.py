"""Run a selection over one sample file: cut-flow, accepted cross section and a filled histogram."""

from __future__ import annotations

import os
from dataclasses import dataclass

import awkward as ak
import hist
import numpy as np

from selections import histograms
from selections.cutflow import CutFlow
from selections.cuts import Selection
from selections.reader import DEFAULT_STEP, check_sample, iterate_photons, photon_columns


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
