"""The files ``select`` writes for one scenario and mass: the yields file, the selected histograms (ROOT TH2D and
UHI JSON) and the cut-flows, named after what they were computed with."""

from __future__ import annotations

from pathlib import Path

from dipole_portal.analysis.tasks import YieldsRequest
from dipole_portal.core.atomic import write_json_atomic
from dipole_portal.core.config import EnergyPoint
from dipole_portal.core.names import check_name, mass_text
from dipole_portal.core.options import DEFAULT_DETECTOR_MODEL, DEFAULT_N_TYPE
from dipole_portal.selections import histograms
from dipole_portal.selections.process import SampleResult
from dipole_portal.selections.yields import ScenarioYields
from dipole_portal.selections.yields_file import write_yields


def selection_stem(req: YieldsRequest) -> str:
    """The files' common name: scenario, mass, decay model, and what differs from the defaults.

    >>> from dipole_portal.core.config import get_scenario
    >>> selection_stem(YieldsRequest(get_scenario("stcf-4gev"), 1.0, n_modes=1, detector_model="geometry"))
    'stcf-4gev_m1_exact_cc1_geometry'
    """
    return (
        f"{check_name(req.scenario.name, 'scenario')}_m{mass_text(req.mass)}_{req.decay_model}"
        + ("_cc1" if req.n_modes == 1 else "")
        + ("" if req.detector_model == DEFAULT_DETECTOR_MODEL else f"_{req.detector_model}")
        + ("" if req.n_type == DEFAULT_N_TYPE else f"_{req.n_type}")
    )


def write_selection(
    stage: Path,
    stem: str,
    req: YieldsRequest,
    y: ScenarioYields,
    results: dict[tuple[EnergyPoint, str], SampleResult],
) -> None:
    """``<stem>_yields.json``, ``_histograms.root``, ``_histograms.json`` and ``_cutflows.json`` into ``stage``
    (the caller's transaction makes them one set); ``results``: each energy point's and process's selection."""
    scenario = req.scenario.name
    hists, flows, info = {}, {}, {}
    for (point, process), res in results.items():
        name = f"{process}_{point.label}"
        hists[name] = res.histogram
        flows[name] = res.cutflow.as_dict()
        where = (f"m_{{N}} = {req.mass:g} GeV, " if process == "signal" else "") + f"{scenario} {point.label}"
        info[name] = histograms.hist_info(process, "after cuts", where, res.cutflow.events[-1], req.d_ref)
    write_yields(stage / f"{stem}_yields.json", y, req.scenario)
    histograms.write_root(
        stage / f"{stem}_histograms.root",
        hists,
        info,
        {
            "scenario": scenario,
            "mass_GeV": req.mass,
            "decay_model": str(req.decay_model),
            "detector_model": str(req.detector_model),
            "n_type": str(req.n_type),
            "n_cc_modes": req.n_modes,
            "d_ref_GeV_inv": req.d_ref,
            "units": "pb per bin",
            "cutflows": flows,
        },
    )
    histograms.write_json(stage / f"{stem}_histograms.json", hists)
    write_json_atomic(stage / f"{stem}_cutflows.json", {"scenario": scenario, "mass_GeV": req.mass, "cutflows": flows})
