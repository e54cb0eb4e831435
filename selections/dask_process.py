"""Selections over many (or larger-than-memory) sample files through uproot's Dask interface (dask-awkward).

``uproot.dask`` maps the files' ``events`` trees onto a lazy dask-awkward array with one partition per step;
each partition is selected on its own (cut-flow and histogram) and the partial results are summed, so no
worker ever holds more than one partition. The files are independent samples of one process (for example
different seeds), each normalised to the full cross section, so their weighted sums are averaged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import hist

from dipole_portal.core.errors import InputError
from dipole_portal.samples.rootio import TREE
from dipole_portal.selections import histograms
from dipole_portal.selections.cutflow import CutFlow
from dipole_portal.selections.cuts import Selection
from dipole_portal.selections.process import SampleResult, select_chunk
from dipole_portal.selections.reader import READ_BRANCHES, as_photons, check_sample


def _select_partition(arrays, selection: Selection) -> tuple[CutFlow, hist.Hist]:
    flow = CutFlow(selection.cut_names)
    h = histograms.make_histogram(selection.sqrt_s)
    select_chunk(as_photons(arrays), selection, flow, h)
    return flow, h


def process_files_dask(
    paths: Sequence[str | os.PathLike[str]],
    process: str,
    selection: Selection,
    step_size: int | str = "100 MB",
    scheduler: object = None,
) -> SampleResult:
    """Select ``process`` events from every file in ``paths`` in partitions; ``scheduler`` as for dask.compute."""
    try:
        import dask
        import uproot
    except ImportError:
        raise InputError("reading through Dask needs the 'dask' extra: pip install 'dipole-portal[dask]'") from None
    if not paths:
        raise InputError("no sample files given")
    metas = [check_sample(p, process, selection.sqrt_s) for p in paths]
    try:
        lazy = uproot.dask(
            {str(p): TREE for p in paths}, filter_name=list(READ_BRANCHES), step_size=step_size, open_files=True
        )
    except Exception as exc:
        raise InputError(f"{', '.join(map(str, paths))}: cannot map for Dask ({type(exc).__name__}: {exc})") from None
    parts = [dask.delayed(_select_partition)(part, selection) for part in lazy.to_delayed()]
    partial = dask.compute(*parts, scheduler=scheduler)
    flow = CutFlow(selection.cut_names)
    h = histograms.make_histogram(selection.sqrt_s)
    n_files = len(paths)
    for f, hp in partial:
        flow.events = [a + b for a, b in zip(flow.events, f.events, strict=True)]
        flow.sumw = [a + b / n_files for a, b in zip(flow.sumw, f.sumw, strict=True)]
        flow.sumw2 = [a + b / n_files**2 for a, b in zip(flow.sumw2, f.sumw2, strict=True)]
        h += hp * (1.0 / n_files)
    return SampleResult(process, flow, h, metas[0])
