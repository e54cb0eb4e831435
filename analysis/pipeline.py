"""``python -m dipole_portal run``: samples -> selections and limits -> histograms -> tables -> figures -> report.

Every stage writes files and the next reads them. Samples, selected samples, yields, limits and the diagnostic
histograms are entries of one content-addressed cache (``dipole_portal.core.cache``) keyed on their inputs and
on the code that computes them, so a rerun recomputes only what changed or is missing: a changed plot
recomputes nothing, a changed cut keeps the samples, an edited formula redoes what depends on it, and an
interrupted run resumes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from dipole_portal.analysis.manifest import RunSettingsRecord, manifest_files, write_manifest
from dipole_portal.analysis.mass_grid import GridSpec, coarse_warning, grid_quality, initial_grid, refine
from dipole_portal.analysis.study_file import (
    BeyondDetector,
    BeyondPaper,
    BeyondPaperRow,
    DecayVolumeRecord,
    DetectorRow,
    DetectorStepRecord,
)
from dipole_portal.analysis.tasks import LimitTask, SampleJob, TaskResult, YieldsRequest, load_cached, run_tasks
from dipole_portal.analysis.verdict import band_minima
from dipole_portal.core.atomic import remove_stale_temporaries, write_json_atomic
from dipole_portal.core.cache import SELECTION_CODE, Cache
from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.core.constants import DEFAULT_CONSTANTS
from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import Executor, SerialExecutor
from dipole_portal.core.names import NAME_PATTERN
from dipole_portal.core.numerics import in_band
from dipole_portal.core.options import (
    DEFAULT_DECAY_MODEL,
    DEFAULT_DETECTOR_MODEL,
    DEFAULT_SEED,
    Calculator,
    DecayModel,
    DetectorModel,
    NType,
)
from dipole_portal.core.progress import log, progress_bar, warn
from dipole_portal.core.transaction import check_output_folder, output_transaction, remove_output
from dipole_portal.plotting.presentation import Presentation
from dipole_portal.stats.models import Systematics


@dataclass(frozen=True)
class Preset:
    """A run's size: the curves' mass grid, MC events per sample, and masses per target in the model study."""

    grid: GridSpec
    events: int
    report_masses: int


PRESETS: dict[str, Preset] = {
    # fast: a coarse 4-point grid (10 MeV to 0.98 sqrt(s)); paper: 1 MeV to sqrt(s), refined until neighbouring
    # limits differ by less than 20%, with points at 0.9, 0.99 and 0.999 sqrt(s) and 0.1% below every other energy
    "fast": Preset(GridSpec(m_min_GeV=0.01, n_log=4, approach=(0.02,)), 20_000, 2),
    "paper": Preset(
        GridSpec(m_min_GeV=1e-3, n_log=25, approach=(0.1, 0.01, 0.001), approach_each=1e-3, max_ratio=1.2), 100_000, 6
    ),
}
DIAGNOSTIC_MASS_GEV = 1.0


def thresholds(scenario: Scenario) -> list[float]:
    """The scenario's kinematic thresholds: its distinct sqrt(s) in GeV, ascending."""
    return sorted({p.sqrt_s for p in scenario.points})


@dataclass
class RunPlan:
    """The limit tasks of a run: curves (the default model, on grids that follow each curve) and the decay-model /
    cc-counting study at the masses of those grids where the default curve is lowest, overall and in each mass
    band of the report's verdict."""

    curves: dict[str, list[LimitTask]]
    study: list[LimitTask] = field(default_factory=list)

    def all_tasks(self) -> list[LimitTask]:
        seen, out = set(), []
        for t in [t for ts in self.curves.values() for t in ts] + self.study:
            if t not in seen:
                seen.add(t)
                out.append(t)
        return out


def _compute(
    tasks: list[LimitTask], executor: Executor, cache: Cache, seconds: dict[str, float], what: str
) -> tuple[dict[LimitTask, TaskResult], int, int]:
    """Samples then limits for ``tasks``: results by task, how many were read from the cache, samples made."""
    cached = [load_cached(t) for t in tasks]
    t0 = time.perf_counter()
    n_samples = make_samples([t for t, c in zip(tasks, cached, strict=True) if c is None], executor, cache)
    seconds["samples"] = seconds.get("samples", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    res = run_tasks(tasks, executor, what, cached)
    seconds["limits"] = seconds.get("limits", 0.0) + time.perf_counter() - t0
    return dict(zip(tasks, res, strict=True)), sum(c is not None for c in cached), n_samples


def compute_curves(
    scenarios: dict[str, Scenario],
    names: list[str],
    preset: Preset,
    make_task,
    executor: Executor,
    *,
    cache: Cache,
    seconds: dict[str, float],
) -> tuple[dict[str, list[LimitTask]], dict, int, int]:
    """Every curve on a grid that follows it: the initial grids, then refinement rounds (``mass_grid.refine``).

    Returns the tasks per curve (mass order), all results, and how many limits were cached and samples made.
    """
    grids = {n: initial_grid(thresholds(scenarios[n]), preset.grid) for n in names}
    results: dict[LimitTask, TaskResult] = {}
    n_cached = n_samples = 0
    for rnd in range(preset.grid.max_rounds + 1):
        todo = [make_task(scenarios[n], m) for n in names for m in grids[n]]
        todo = [t for t in todo if t not in results]
        if not todo:
            break
        what = "curves" if rnd == 0 else f"curves, refinement {rnd}"
        res, c, s = _compute(todo, executor, cache, seconds, what)
        results.update(res)
        n_cached, n_samples = n_cached + c, n_samples + s
        if rnd == preset.grid.max_rounds:
            break
        for n in names:
            ts = [make_task(scenarios[n], m) for m in grids[n]]
            grids[n] = sorted(
                grids[n] + refine(grids[n], [results[t].limit.d95 for t in ts], thresholds(scenarios[n]), preset.grid)
            )
    curves = {n: [make_task(scenarios[n], m) for m in grids[n]] for n in names}
    return curves, results, n_cached, n_samples


def study_masses(curve: list[tuple[float, float]], lo: float, hi: float, n: int) -> list[float]:
    """The ``n`` masses of a curve's grid in [lo, hi] GeV where its d95 is lowest (ascending mass).

    >>> study_masses([(0.1, 3.0), (0.3, 1.0), (1.0, 1.5), (3.0, 2.0), (9.0, 0.5)], 0.1, 3.0, 2)
    [0.3, 1.0]
    """
    inside = [(d, m) for m, d in curve if in_band(m, lo, hi)]
    return sorted(m for _, m in sorted(inside)[:n])


def make_samples(pending: list[LimitTask], executor: Executor, cache: Cache) -> int:
    """Generate, in parallel, every sample the unfinished tasks ``pending`` will read and that is not cached yet.

    Returns how many were generated. (A cached file's checksum is verified again when it is read.)
    """
    jobs: dict[SampleJob, None] = {}
    for t in pending:
        for _, sig, bkg in t.request.jobs(cache):
            jobs[sig] = jobs[bkg] = None
    todo = [j for j in jobs if not j.cached()]
    if todo:
        with progress_bar("samples", len(todo)) as advance:
            executor.map(_run_job, todo, on_done=advance)
    return len(todo)


def _run_job(job: SampleJob) -> str:
    return str(job.run())


def _diagnostic_selection(
    request: YieldsRequest, point: EnergyPoint, sel: Any, sig_job: SampleJob, bkg_job: SampleJob
) -> dict:
    """Signal and nu nubar gamma before and after ``sel``: the four histograms (UHI JSON text) and the cut-flows."""
    import uhi.io.json

    from dipole_portal.analysis.tasks import electroweak_signal
    from dipole_portal.selections.process import process_sample

    ew = electroweak_signal(request.scenario, point, request.d_ref, request.constants)
    sig = process_sample(
        sig_job.run(),
        "signal",
        sel,
        fill_all=True,
        decay_model=request.decay_model,
        n_modes=request.n_modes,
        electroweak=ew,
    )
    bkg = process_sample(bkg_job.run(), "nunugamma", sel, fill_all=True)
    made = {
        "signal_all": sig.histogram_all,
        "signal_selected": sig.histogram,
        "nunugamma_all": bkg.histogram_all,
        "nunugamma_selected": bkg.histogram,
    }
    return {
        "hists": json.dumps(made, default=uhi.io.json.default),
        "cutflow_signal": sig.cutflow.as_dict(),
        "cutflow_nunugamma": bkg.cutflow.as_dict(),
    }


def write_diagnostic_histograms(
    scenario: Scenario, events: int, seed: int, decay_model: DecayModel, cache: Cache, folder: Path
) -> list[Path]:
    """Signal (m_N = 1 GeV) and nu nubar gamma at the scenario's largest data set, before and after cuts.

    Computed once into the cache (UHI JSON, keyed on the inputs and the selection code) and written to
    ``folder`` as TH2D (ROOT), UHI JSON and a JSON record of what they are.
    """
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.histograms import DiagnosticMeta, read_json_text, write_json, write_root

    point = max(scenario.points, key=lambda p: p.lumi_fb)
    mass = DIAGNOSTIC_MASS_GEV
    one = dataclasses.replace(scenario, points=(point,))
    request = YieldsRequest(one, mass, decay_model=decay_model, events=events, seed=seed)
    ((_, sig_job, bkg_job),) = request.jobs(cache)
    entry = cache.entry("histograms", {**request.key(), "what": "diagnostic"}, SELECTION_CODE)
    stored = entry.load_json()
    if stored is None:  # stored as a later run reads it back: the same bytes either way
        stored = entry.store_json(
            _diagnostic_selection(request, point, build_selection(scenario, point), sig_job, bkg_job)
        )
    hists = read_json_text(stored["hists"], f"cache entry histograms/{entry.key}")
    folder.mkdir(parents=True, exist_ok=True)
    root_path = folder / f"{scenario.name}.root"
    meta: DiagnosticMeta = {
        "scenario": scenario.name,
        "label": scenario.label,
        "sqrt_s_GeV": point.sqrt_s,
        "lumi_fb": point.lumi_fb,
        "mass_GeV": mass,
        "d_ref_GeV_inv": request.d_ref,
        "decay_model": str(decay_model),
        "n_cc_modes": request.n_modes,
        "units": "pb per bin",
        "axes": {"E_gamma": "photon energy, CM frame [GeV]", "theta_gamma": "photon polar angle, lab [deg]"},
        "events_per_bin": "sigma [pb] x 1000 x lumi_fb (x the detector efficiency, not applied here)",
        "cutflow_signal": stored["cutflow_signal"],
        "cutflow_nunugamma": stored["cutflow_nunugamma"],
    }
    info = diagnostic_info(scenario, point.sqrt_s, mass, request.d_ref, decay_model, stored)
    write_root(root_path, hists, info, {"format": "dipole-portal-histograms", "format_version": 1, **meta})
    uhi_path = write_json(folder / f"{scenario.name}_uhi.json", hists)
    meta_path = write_json_atomic(root_path.with_suffix(".json"), {"meta": meta})
    return [root_path, uhi_path, meta_path]


def diagnostic_info(
    scenario: Scenario, sqrt_s: float, mass: float, d_ref: float, decay_model: DecayModel, stored: dict
) -> dict:
    """Title, z-axis title (TLatex, with unit) and entries of each diagnostic TH2D."""
    from dipole_portal.selections.histograms import hist_info

    where = f"{scenario.label.replace('$^{-1}$', '^{-1}')}, #sqrt{{s}} = {sqrt_s:g} GeV"
    out = {}
    for proc in ("signal", "nunugamma"):
        events = stored[f"cutflow_{proc}"]["events"]
        what = f"m_{{N}} = {mass:g} GeV ({decay_model}), " if proc == "signal" else ""
        out[f"{proc}_all"] = hist_info(proc, "before cuts", what + where, events[0], d_ref)
        out[f"{proc}_selected"] = hist_info(proc, "after cuts", what + where, events[-1], d_ref)
    return out


BEYOND_VARIANTS = (
    ("binned E_gamma x theta_gamma shape fit", {"binned": True}),
    ("background normalisation 10%", {"syst": Systematics(background_norm=0.1)}),
    ("background normalisation 30%", {"syst": Systematics(background_norm=0.3)}),
    ("shape fit with background normalisation 30%", {"binned": True, "syst": Systematics(background_norm=0.3)}),
)


def beyond_paper_tasks(
    plan: RunPlan, results: dict, presentation: Presentation, names: list[str]
) -> list[tuple[str, str, LimitTask, LimitTask]]:
    """(variant, target scenario, reference task, variant task) at the mass of each target's best limit.

    The reference is the counting model without systematics (the paper's). The toy calculator carries no
    nuisance parameters, so where the reference uses toys (BESIII) the systematics variants and their reference
    are computed with the asymptotic calculator, and the ratio compares like with like; the binned fit with a
    normalisation uncertainty is left out there (its asymptotic fits over 43 energies x bins take minutes). With a
    detector model beyond the paper's the binned variants are left out: the signal's shape would depend on d.
    """
    out = []
    for tg in presentation.targets:
        if tg.scenario not in names:
            continue
        inside = [t for t in plan.curves[tg.scenario] if in_band(t.mass, tg.lo_GeV, tg.hi_GeV)]
        if not inside:
            continue
        base = min(inside, key=lambda t: results[t].limit.d95)
        toys = (results[base].limit.calculator or "").startswith("toys")
        for variant, change in BEYOND_VARIANTS:
            ref = base
            if change.get("binned") and base.detector_model.decay_volume:
                continue
            if toys and "syst" in change and change.get("binned"):
                continue  # hundreds of parameters (43 energies x bins, one anchor each): asymptotic fits take minutes
            if toys and "syst" in change:
                ref = dataclasses.replace(base, calculator=Calculator.ASYMPTOTIC)
                change = {**change, "calculator": Calculator.ASYMPTOTIC}
            out.append((variant, tg.scenario, ref, dataclasses.replace(base, **change)))
    return out


#: the realistic detector's steps, each added to the one before (name, what it adds, the task's changed fields)
DETECTOR_STEPS: tuple[tuple[str, str, dict], ...] = (
    (
        "geometry",
        "decay volume: per event, along the N flight direction, inside the calorimeter's inner surface",
        {"detector_model": DetectorModel.GEOMETRY},
    ),
    (
        "direction",
        "+ the photon direction the calorimeter measures (collision point to impact point)",
        {"detector_model": DetectorModel.DIRECTION},
    ),
    (
        "realistic",
        "+ the calorimeter's energy and position resolution (the realistic detector)",
        {"detector_model": DetectorModel.REALISTIC},
    ),
    (
        "majorana",
        "the realistic detector with a Majorana N (twice the width, isotropic photon)",
        {"detector_model": DetectorModel.REALISTIC, "n_type": NType.MAJORANA},
    ),
)
OVERLAY_MASSES = 16  # masses of each target's curve recomputed with the realistic detector for the overlay figure


def detector_tasks(
    plan: RunPlan, results: dict, presentation: Presentation, names: list[str]
) -> list[tuple[str, str, LimitTask, dict[str, LimitTask]]]:
    """(where, target scenario, paper-detector task, {step: task}) for each reproduction target, at its curve's
    lightest mass (long-lived N: the geometry matters), at the mass of its best limit (prompt), and at the curve mass
    nearest their geometric mean (between the two: a displaced decay with a photon off the N line)."""
    out = []
    for tg in presentation.targets:
        if tg.scenario not in names or tg.scenario not in plan.curves:
            continue
        inside = [t for t in plan.curves[tg.scenario] if in_band(t.mass, tg.lo_GeV, tg.hi_GeV)]
        if not inside or plan.curves[tg.scenario][0].scenario.detector.decay_volume is None:
            continue
        best = min(inside, key=lambda t: results[t].limit.d95)
        lightest = plan.curves[tg.scenario][0]
        middle = min(plan.curves[tg.scenario], key=lambda t: abs(math.log(t.mass**2 / (lightest.mass * best.mass))))
        for where, base in (("lightest mass", lightest), ("intermediate mass", middle), ("best mass", best)):
            out.append(
                (
                    where,
                    tg.scenario,
                    base,
                    {name: dataclasses.replace(base, **change) for name, _, change in DETECTOR_STEPS},
                )
            )
    return out


def overlay_tasks(plan: RunPlan, presentation: Presentation, names: list[str]) -> dict[str, list[LimitTask]]:
    """Per target scenario, the curve masses nearest OVERLAY_MASSES points evenly spread in log m_N over the curve,
    with the realistic detector: the realistic curves of the overlay figure."""
    out = {}
    for tg in presentation.targets:
        curve = plan.curves.get(tg.scenario) if tg.scenario in names else None
        if not curve or curve[0].scenario.detector.decay_volume is None:
            continue
        log_m = np.log([t.mass for t in curve])
        idx = sorted({int(np.argmin(np.abs(log_m - x))) for x in np.linspace(log_m[0], log_m[-1], OVERLAY_MASSES)})
        out[tg.scenario] = [dataclasses.replace(curve[i], detector_model=DetectorModel.REALISTIC) for i in idx]
    return out


def _row_tasks(row: tuple) -> list[LimitTask]:
    """The limit tasks of a comparison row (the tasks among its fields)."""
    return [t for t in row if isinstance(t, LimitTask)]


def _describe(r) -> str:
    return f"{r.model}, {r.calculator or 'chi2'}"


def computing_time(results: list[TaskResult], cache: Cache) -> dict:
    """The compute time recorded when the numbers of ``results`` were computed (by this run or an earlier one):
    selections + limits summed over the limits, generation over the distinct samples they read.

    A warm rerun therefore still reports what computing its numbers cost, not its own (cached) time.
    """
    sample_keys = sorted({k for r in results for k in r.samples})
    sample_s = [cache.entry_by_key("samples", k).recorded_seconds() for k in sample_keys]
    return {
        "limits": len(results),
        "limits_cpu_s": round(sum(r.seconds or 0.0 for r in results), 1),
        "limits_unrecorded": sum(r.seconds is None or not r.samples for r in results),
        "samples": len(sample_keys),
        "samples_cpu_s": round(sum(x for x in sample_s if x), 1),
        "samples_unrecorded": sum(x is None for x in sample_s),
    }


@dataclass
class RunSummary:
    output: Path
    seconds: dict[str, float]
    files: dict[str, list[Path]]
    limits_computed: int
    limits_cached: int
    samples_made: int


def run_pipeline(
    scenarios: dict[str, Scenario],
    names: list[str],
    preset_name: str,
    output: Path,
    *,
    decay_model: DecayModel = DEFAULT_DECAY_MODEL,
    seed: int = DEFAULT_SEED,
    executor: Executor | None = None,
    cache: Cache | None = None,
    presentation: Presentation | None = None,
    make_figures: bool = True,
    hepdata_ins: str | None = None,
    detector_model: DetectorModel = DEFAULT_DETECTOR_MODEL,
) -> RunSummary:
    """The whole analysis; each stage logs a header line and shows progress.

    One transaction (``core.transaction``): every stage writes into a staging folder and reads only from it, so
    the HEPData submission, the figures and the report hold this run's results and nothing another command left
    in ``output``. The staged set replaces its namesakes in ``output`` when complete; files of the earlier run
    that this one does not make (its ``manifest.json``) are removed then. A refusal, an error, a full disk or a
    signal leaves ``output`` as it was.
    """
    if preset_name not in PRESETS:
        raise InputError(f"preset {preset_name!r}: expected one of {', '.join(PRESETS)}")
    final = check_output_folder(output)
    if make_figures:  # colours, line styles and mathtext refused now, not after the tables are computed
        from dipole_portal.plotting.style import check_presentation

        check_presentation(presentation or Presentation(), {n: scenarios[n] for n in names}, "configuration")
    cache = cache or Cache()
    root = cache.root.absolute()
    if final == root or root in final.parents:
        raise InputError(
            f"--output {output}: inside the cache {cache.root}; 'cache clear' would delete the results "
            "(choose an output folder outside the cache)"
        )
    for folder in (final, cache.root):  # what a killed earlier run may have left
        n = remove_stale_temporaries(folder)  # 0 where the folder does not exist yet
        if n:
            log(f"removed {n} stale temporary files under {folder}")
    old = manifest_files(final)
    with output_transaction(final) as stage:
        run = RunSettings(
            scenarios,
            names,
            preset_name,
            decay_model,
            seed,
            detector_model,
            hepdata_ins,
            presentation or Presentation(),
            cache,
        )
        summary = _run_into(stage, run, executor or SerialExecutor(), make_figures)
        earlier = {Path(rel).parts[0] for rel in old if Path(rel).parts and NAME_PATTERN.fullmatch(Path(rel).parts[0])}
        for name in sorted(earlier - {p.name for p in stage.iterdir()}):
            remove_output(stage, name)  # an earlier run's entry this one does not make: it goes at the commit
    files = {k: [final / Path(p).relative_to(stage) for p in ps] for k, ps in summary.files.items()}
    return dataclasses.replace(summary, output=final, files=files)


@dataclass(frozen=True)
class RunRequest:
    """What ``run`` is asked for: a preset (``PRESETS``), the configuration file (None: the packaged one), the
    scenarios to run (empty: all), the photon law and detector model of the curves, and the run seed."""

    preset: str = "fast"
    scenarios_file: str | None = None
    only: tuple[str, ...] = ()
    decay_model: DecayModel = DEFAULT_DECAY_MODEL
    detector_model: DetectorModel = DEFAULT_DETECTOR_MODEL
    seed: int = DEFAULT_SEED


@dataclass(frozen=True, eq=False)
class RunSettings:
    """What a run computes and shows: the scenarios, the preset, the options every limit task shares, and the
    configuration's presentation."""

    scenarios: dict[str, Scenario]
    names: list[str]
    preset_name: str
    decay_model: DecayModel
    seed: int
    detector_model: DetectorModel
    hepdata_ins: str | None
    presentation: Presentation
    cache: Cache

    @property
    def preset(self) -> Preset:
        return PRESETS[self.preset_name]

    def task(self, sc: Scenario, m: float, model: DecayModel | None = None, n_modes: int = 2) -> LimitTask:
        """The limit task of ``sc`` at ``m`` GeV with the run's events, seed, cache and detector model."""
        return LimitTask(
            sc,
            m,
            decay_model=model or self.decay_model,
            n_modes=n_modes,
            events=self.preset.events,
            seed=self.seed,
            cache=str(self.cache.root),
            detector_model=self.detector_model,
        )

    def as_dict(self) -> RunSettingsRecord:
        """The settings the manifest records."""
        return {
            "preset": self.preset_name,
            "seed": self.seed,
            "decay_model": str(self.decay_model),
            "scenarios": self.names,
            "detector_model": str(self.detector_model),
        }


@dataclass
class Computed:
    """Every limit of a run, by task, and the rows of the studies beyond the paper that read them."""

    plan: RunPlan
    results: dict[LimitTask, TaskResult]
    beyond: list[tuple]
    detector: list[tuple]
    overlay: dict[str, list[LimitTask]]
    n_cached: int
    n_samples: int

    @property
    def tasks(self) -> list[LimitTask]:
        """Every task the run's outputs read, once."""
        rows = self.beyond + _detector_rows(self.detector, self.overlay)
        return list(dict.fromkeys(self.plan.all_tasks() + [t for row in rows for t in _row_tasks(row)]))


def _detector_rows(detector: list[tuple], overlay: dict[str, list[LimitTask]]) -> list[tuple]:
    """The limit tasks of the detector study, as rows: each step row's reference and steps, each realistic curve."""
    return [(row[2], *row[3].values()) for row in detector] + [tuple(ts) for ts in overlay.values()]


def compute_limits(run: RunSettings, executor: Executor, seconds: dict[str, float], stages: int) -> Computed:
    """Stages 1 and 2: the curves on grids that follow them, the decay-model and counting study, and the studies
    beyond the paper (binned fit and background normalisation; the detector steps and realistic curves)."""
    scenarios, names, cache = run.scenarios, run.names, run.cache
    log(f"[1/{stages}] curves: samples, selections and limits on grids that follow each curve ({executor.describe()})")
    curves, results, n_cached, n_samples = compute_curves(
        scenarios, names, run.preset, run.task, executor, cache=cache, seconds=seconds
    )
    for n, ts in curves.items():
        q = grid_quality([t.mass for t in ts], [results[t].limit.d95 for t in ts], thresholds(scenarios[n]))
        log(f"  {n}: {q.points} masses, largest neighbour ratio {q.max_ratio:.3f} away from thresholds")
        coarse = coarse_warning(n, [t.mass for t in ts], [results[t].limit.d95 for t in ts], thresholds(scenarios[n]))
        if coarse is not None:
            warn(coarse)
    study = []
    for tg in run.presentation.targets:
        if tg.scenario in names:
            curve = [(t.mass, results[t].limit.d95) for t in curves[tg.scenario]]
            masses = sorted(
                set(study_masses(curve, tg.lo_GeV, tg.hi_GeV, run.preset.report_masses))
                | set(band_minima(curve, tg.lo_GeV, tg.hi_GeV))
            )
            study += [
                run.task(scenarios[tg.scenario], m, model, nm) for m in masses for model in DecayModel for nm in (1, 2)
            ]
    plan = RunPlan(curves, study)
    log(f"[2/{stages}] decay-model and counting study: {len(plan.study)} limits")
    todo = [t for t in plan.all_tasks() if t not in results]
    res, c, s = _compute(todo, executor, cache, seconds, "model study")
    results.update(res)
    n_cached, n_samples = n_cached + c, n_samples + s
    beyond = beyond_paper_tasks(plan, results, run.presentation, names)
    paper_detector = run.detector_model == DetectorModel.PAPER
    detector = detector_tasks(plan, results, run.presentation, names) if paper_detector else []
    overlay = overlay_tasks(plan, run.presentation, names) if paper_detector else {}
    detector_rows = _detector_rows(detector, overlay)
    for rows, what, detail in (
        (beyond, "beyond the paper", ": binned fit and background normalisation"),
        (detector_rows, "beyond the paper's detector", ": steps and realistic curves"),
    ):
        todo = list(dict.fromkeys(t for row in rows for t in _row_tasks(row) if t not in results))
        if todo:
            log(f"{what}{detail}: {len(todo)} limits")
            res, c, s = _compute(todo, executor, cache, seconds, what)
            results.update(res)
            n_cached, n_samples = n_cached + c, n_samples + s
    return Computed(plan, results, beyond, detector, overlay, n_cached, n_samples)


def _beyond_paper_table(c: Computed) -> BeyondPaper:
    """``beyond_paper.json``: each variant's d95 beside the limit it varies."""
    rows: list[BeyondPaperRow] = [
        {
            "scenario": t.scenario.name,
            "mass_GeV": t.mass,
            "variant": variant,
            "reference": _describe(c.results[ref].limit),
            "reference_d95": c.results[ref].limit.d95,
            "d95": c.results[t].limit.d95,
            "calculator": c.results[t].limit.calculator,
        }
        for variant, _, ref, t in c.beyond
    ]
    return {"rows": rows}


def _beyond_detector_table(c: Computed) -> BeyondDetector:
    """``beyond_detector.json``: the detector steps and, per row, the paper's d95 and each step's."""
    steps = [
        cast(DetectorStepRecord, {"name": name, "adds": adds, **{k: str(v) for k, v in change.items()}})
        for name, adds, change in DETECTOR_STEPS
    ]
    rows: list[DetectorRow] = [
        {
            "scenario": ref.scenario.name,
            "mass_GeV": ref.mass,
            "where": where,
            "d95_paper": c.results[ref].limit.d95,
            "calculator": c.results[ref].limit.calculator,
            "d95": {name: c.results[t].limit.d95 for name, t in by_step.items()},
            "decay_volume": cast(DecayVolumeRecord, {**ref.scenario.detector.params["decay_volume"]}),
            "calorimeter_resolution": ref.scenario.detector.params.get("calorimeter_resolution"),
        }
        for where, _, ref, by_step in c.detector
    ]
    return {"steps": steps, "rows": rows}


def write_tables(output: Path, run: RunSettings, c: Computed) -> list[Path]:
    """Stage 4's tables: each curve's limits and pyhf workspaces, the model study, the studies beyond the paper
    and the realistic-detector curves."""
    from dipole_portal.analysis.energy_frontier import electroweak_record
    from dipole_portal.stats.outputs import write_limit_tables, write_workspaces

    files = []
    for name, ts in c.plan.curves.items():
        limits = [c.results[t].limit for t in ts]
        specs = {t.mass: c.results[t].spec for t in ts}
        files += write_limit_tables(
            output / "limits", name, limits, run.scenarios[name].label, electroweak_record(run.scenarios[name])
        )
        files += write_workspaces(output / "workspaces", name, specs, run.hepdata_ins, results=limits)
    study = {
        "targets": [dataclasses.asdict(t) for t in run.presentation.targets if t.scenario in run.names],
        "comparisons": [x for x in run.presentation.comparisons if all(n in run.names for n in x["scenarios"])],
        "decay_model": str(run.decay_model),
        "limits": [c.results[t].limit.as_dict() for t in c.plan.study],
        "preset": run.preset_name,
        "seed": run.seed,
        "constants": DEFAULT_CONSTANTS.as_dict(),
    }
    files.append(write_json_atomic(output / "limits" / "model_study.json", study))
    frontier = [n for n in c.plan.curves if run.scenarios[n].electroweak is not None]
    if frontier:  # scenarios with Z exchange: the energy frontier's table
        from dipole_portal.analysis import energy_frontier as ef

        curves = {n: [c.results[t].limit for t in c.plan.curves[n]] for n in frontier}
        rows = [
            ef.frontier_row(run.scenarios[n], curves[n], {t.mass: c.results[t].spec for t in c.plan.curves[n]})
            for n in frontier
        ]
        composition = ef.composition_table([run.scenarios[n] for n in frontier])
        files += ef.write_frontier_table(output / "limits", rows, composition, ef.lep_comparison(rows, curves))
    if c.beyond:  # only when a reproduction target is in the run
        files.append(write_json_atomic(output / "limits" / "beyond_paper.json", _beyond_paper_table(c)))
    if c.detector:
        files.append(write_json_atomic(output / "limits" / "beyond_detector.json", _beyond_detector_table(c)))
    for name, ts in c.overlay.items():
        limits = [c.results[t].limit for t in ts]
        files += write_limit_tables(output / "limits" / "realistic_detector", name, limits, run.scenarios[name].label)
    return files


def _run_into(output: Path, run: RunSettings, executor: Executor, make_figures: bool) -> RunSummary:
    """The stages of ``run_pipeline``, writing into (and reading from) the staging folder ``output``."""
    from dipole_portal.analysis.hepdata_export import write_hepdata
    from dipole_portal.analysis.sample_index import write_index

    seconds: dict[str, float] = {}
    files: dict[str, list[Path]] = {}
    stages = 6 if make_figures else 4
    c = compute_limits(run, executor, seconds, stages)
    tasks = c.tasks
    compute = computing_time([c.results[t] for t in tasks], run.cache)

    t0 = time.perf_counter()
    log(f"[3/{stages}] diagnostic histograms")
    files["histograms"] = [
        p
        for n in run.names
        for p in write_diagnostic_histograms(
            run.scenarios[n], run.preset.events, run.seed, run.decay_model, run.cache, output / "histograms"
        )
    ]
    log(f"sample index: {write_index(run.cache)}")  # after every stage that makes samples
    seconds["histograms"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log(f"[4/{stages}] tables, pyhf workspaces, HEPData")
    files["tables"] = write_tables(output, run, c)
    locations = {
        n: "; ".join(f"Figure {f.name}: {f.caption}" for f in run.presentation.figures if n in f.scenarios)
        for n in run.names
    }
    files["hepdata"] = write_hepdata(output / "limits", output / "hepdata", locations, output / "workspaces", run.cache)
    seconds["tables"] = time.perf_counter() - t0

    if make_figures:
        t0 = time.perf_counter()
        log(f"[5/{stages}] figures")
        from dipole_portal.analysis.figure_stage import make_all_figures

        files["figures"] = make_all_figures(output, run.scenarios, run.names, run.presentation, run.cache, executor)
        seconds["figures"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        log(f"[6/{stages}] report")
        from dipole_portal.analysis.report import write_report

        counts = {"computed": len(tasks) - c.n_cached, "cached": c.n_cached}
        captions = {f.name: f.caption for f in run.presentation.figures}
        files["report"] = [write_report(output, run.preset_name, seconds, compute, counts, captions)]
        seconds["report"] = time.perf_counter() - t0
    write_manifest(output, files, run.as_dict())
    return RunSummary(output, seconds, files, len(tasks) - c.n_cached, c.n_cached, c.n_samples)
