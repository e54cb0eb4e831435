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
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dipole_portal.analysis.tasks import LimitTask, SampleJob, YieldsRequest, load_cached, run_tasks
from dipole_portal.core.atomic import remove_stale_temporaries, write_json_atomic
from dipole_portal.core.cache import SELECTION_CODE, Cache
from dipole_portal.core.config import Presentation, Scenario, Target
from dipole_portal.core.constants import DEFAULT_CONSTANTS
from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import Executor, SerialExecutor
from dipole_portal.core.options import DEFAULT_DECAY_MODEL, DEFAULT_SEED, DecayModel
from dipole_portal.core.progress import log, progress_bar

PRESETS: dict[str, dict] = {
    # masses per curve, MC events per sample, masses per reproduction target for the model study
    "fast": {"n_masses": 4, "events": 20_000, "report_masses": 2},
    "paper": {"n_masses": 20, "events": 100_000, "report_masses": 6},
}
M_MIN_GEV = 0.01
DIAGNOSTIC_MASS_GEV = 1.0


@dataclass
class RunPlan:
    """The limit tasks of a run: curves (the default model) and the decay-model / cc-counting study."""

    curves: dict[str, list[LimitTask]]
    study: list[LimitTask] = field(default_factory=list)

    def all_tasks(self) -> list[LimitTask]:
        seen, out = set(), []
        for t in [t for ts in self.curves.values() for t in ts] + self.study:
            if t not in seen:
                seen.add(t)
                out.append(t)
        return out


def mass_grid(scenario: Scenario, n: int, m_min: float = M_MIN_GEV) -> list[float]:
    """A log grid of N masses (GeV) from ``m_min`` to 98% of the highest sqrt(s)."""
    return [float(f"{m:.6g}") for m in np.geomspace(m_min, scenario.max_sqrt_s * 0.98, n)]


def plan_run(scenarios: dict[str, Scenario], names: list[str], preset: dict, decay_model: DecayModel, seed: int,
             cache: Cache, targets: tuple[Target, ...] = ()) -> RunPlan:
    def task(sc: Scenario, m: float, model: DecayModel = decay_model, n_modes: int = 2) -> LimitTask:
        return LimitTask(sc, m, decay_model=model, n_modes=n_modes, events=preset["events"], seed=seed,
                         cache=str(cache.root))

    curves = {n: [task(scenarios[n], m) for m in mass_grid(scenarios[n], preset["n_masses"])] for n in names}
    study = []
    for tg in targets:
        if tg.scenario not in names:
            continue
        sc = scenarios[tg.scenario]
        for m in np.geomspace(tg.lo_GeV, tg.hi_GeV, preset["report_masses"]):
            study += [task(sc, float(f"{m:.6g}"), model, nm) for model in DecayModel for nm in (1, 2)]
    return RunPlan(curves, study)


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


def write_diagnostic_histograms(scenario: Scenario, events: int, seed: int, decay_model: DecayModel, cache: Cache,
                                folder: Path) -> list[Path]:
    """Signal (m_N = 1 GeV) and nu nubar gamma at the scenario's largest data set, before and after cuts.

    Computed once into the cache (UHI JSON, keyed on the inputs and the selection code) and written to
    ``folder`` as TH2D (ROOT), UHI JSON and a JSON record of what they are.
    """
    import uhi.io.json

    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.histograms import read_json_text, write_json, write_root
    from dipole_portal.selections.process import process_sample

    point = max(scenario.points, key=lambda p: p.lumi_fb)
    mass = DIAGNOSTIC_MASS_GEV
    one = dataclasses.replace(scenario, points=(point,))
    request = YieldsRequest(one, mass, decay_model=decay_model, events=events, seed=seed)
    (_, sig_job, bkg_job), = request.jobs(cache)
    entry = cache.entry("histograms", {**request.key(), "what": "diagnostic"}, SELECTION_CODE)
    stored = entry.load_json()
    if stored is None:
        sel = build_selection(scenario, point)
        sig = process_sample(sig_job.run(), "signal", sel, fill_all=True)
        bkg = process_sample(bkg_job.run(), "nunugamma", sel, fill_all=True)
        hists = {"signal_all": sig.histogram_all, "signal_selected": sig.histogram,
                 "nunugamma_all": bkg.histogram_all, "nunugamma_selected": bkg.histogram}
        stored = {"hists": json.dumps(hists, default=uhi.io.json.default),
                  "cutflow_signal": sig.cutflow.as_dict(), "cutflow_nunugamma": bkg.cutflow.as_dict()}
        stored = entry.store_json(stored)  # as a later run reads it back: the same bytes either way
    hists = read_json_text(stored["hists"], f"cache entry histograms/{entry.key}")
    folder.mkdir(parents=True, exist_ok=True)
    root_path = folder / f"{scenario.name}.root"
    write_root(root_path, hists)
    uhi_path = write_json(folder / f"{scenario.name}_uhi.json", hists)
    meta_path = write_json_atomic(root_path.with_suffix(".json"), {"meta": {
        "scenario": scenario.name, "sqrt_s_GeV": point.sqrt_s, "lumi_fb": point.lumi_fb, "mass_GeV": mass,
        "decay_model": str(decay_model), "units": "pb per bin", "cutflow_signal": stored["cutflow_signal"],
        "cutflow_nunugamma": stored["cutflow_nunugamma"]}})
    return [root_path, uhi_path, meta_path]


@dataclass
class RunSummary:
    output: Path
    seconds: dict[str, float]
    files: dict[str, list[Path]]
    limits_computed: int
    limits_cached: int
    samples_made: int


def run_pipeline(scenarios: dict[str, Scenario], names: list[str], preset_name: str, output: Path, *,
                 decay_model: DecayModel = DEFAULT_DECAY_MODEL, seed: int = DEFAULT_SEED,
                 executor: Executor | None = None, cache: Cache | None = None,
                 presentation: Presentation | None = None, make_figures: bool = True,
                 hepdata_ins: str | None = None) -> RunSummary:
    """The whole analysis; each stage logs a header line and shows progress."""
    from dipole_portal.stats.outputs import write_limit_tables, write_workspaces

    if preset_name not in PRESETS:
        raise InputError(f"preset {preset_name!r}: expected one of {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    executor = executor or SerialExecutor()
    cache = cache or Cache()
    for folder in (output, cache.root):  # what a killed earlier run may have left
        n = remove_stale_temporaries(folder)
        if n:
            log(f"removed {n} stale temporary files under {folder}")
    seconds: dict[str, float] = {}
    files: dict[str, list[Path]] = {}
    presentation = presentation or Presentation()
    plan = plan_run(scenarios, names, preset, decay_model, seed, cache, presentation.targets)
    tasks = plan.all_tasks()
    cached = [load_cached(t) for t in tasks]  # read once; the stages below reuse it
    n_cached = sum(c is not None for c in cached)
    stages = 6 if make_figures else 4

    t0 = time.perf_counter()
    log(f"[1/{stages}] samples ({executor.describe()})")
    n_samples = make_samples([t for t, c in zip(tasks, cached, strict=True) if c is None], executor, cache)
    seconds["samples"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log(f"[2/{stages}] selections and limits: {len(tasks)} limits, {n_cached} cached")
    results = dict(zip(tasks, run_tasks(tasks, executor, "selections + limits", cached), strict=True))
    seconds["limits"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log(f"[3/{stages}] diagnostic histograms")
    files["histograms"] = [p for n in names for p in write_diagnostic_histograms(
        scenarios[n], preset["events"], seed, decay_model, cache, output / "histograms")]
    seconds["histograms"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    log(f"[4/{stages}] tables, pyhf workspaces, HEPData")
    files["tables"] = []
    for name, ts in plan.curves.items():
        res = [results[t].limit for t in ts]
        specs = {t.mass: results[t].spec for t in ts}
        files["tables"] += write_limit_tables(output / "limits", name, res, scenarios[name].label)
        files["tables"] += write_workspaces(output / "workspaces", name, specs, hepdata_ins, results=res)
    study = [results[t].limit.as_dict() for t in plan.study]
    files["tables"].append(write_json_atomic(output / "limits" / "model_study.json", {
        "targets": [dataclasses.asdict(t) for t in presentation.targets if t.scenario in names],
        "comparisons": [c for c in presentation.comparisons if all(n in names for n in c["scenarios"])],
        "decay_model": str(decay_model), "limits": study,
        "preset": preset_name, "seed": seed, "constants": DEFAULT_CONSTANTS.as_dict()}))
    from dipole_portal.analysis.hepdata_export import write_hepdata

    settings = {"preset": preset_name, "seed": seed, "decay_model": str(decay_model), "scenarios": names}
    replace_output_set(output, files, settings)  # before HEPData, which reads every table in limits/
    locations = {n: "; ".join(f"Figure {f.name}: {f.caption}" for f in presentation.figures if n in f.scenarios)
                 for n in names}
    files["hepdata"] = write_hepdata(output / "limits", output / "hepdata", locations)
    seconds["tables"] = time.perf_counter() - t0

    if make_figures:
        t0 = time.perf_counter()
        log(f"[5/{stages}] figures")
        files["figures"] = make_all_figures(output, scenarios, names, presentation)
        seconds["figures"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        log(f"[6/{stages}] report")
        from dipole_portal.analysis.report import write_report

        files["report"] = [write_report(output, preset_name, seconds)]
        seconds["report"] = time.perf_counter() - t0
    replace_output_set(output, files, settings)
    return RunSummary(output, seconds, files, len(tasks) - n_cached, n_cached, n_samples)


MANIFEST = "manifest.json"


def replace_output_set(output: Path, files: dict[str, list[Path]], settings: dict) -> Path:
    """Record this run's outputs in ``manifest.json`` and remove what an earlier run wrote and this one did not.

    The folder then holds one consistent set: every table, workspace, figure and the report come from the same
    run (settings recorded beside them), never a mixture of two runs' choices.
    """
    import shutil

    mine = {str(Path(p).resolve().relative_to(output.resolve())) for ps in files.values() for p in ps}
    old_path = output / MANIFEST
    try:
        old = json.loads(old_path.read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        old = []
    root = output.resolve()
    for rel in old:
        if not isinstance(rel, str) or rel in mine:
            continue
        target = (output / rel).resolve()
        if root not in target.parents:  # only inside the output folder, whatever the manifest says
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.is_file() or target.is_symlink():
            target.unlink(missing_ok=True)
    return write_json_atomic(old_path, {"settings": settings, "files": sorted(mine)})


def make_all_figures(output: Path, scenarios: dict[str, Scenario], names: list[str],
                     presentation: Presentation) -> list[Path]:
    """Every figure from the files of the earlier stages (``limits/``, ``histograms/``), as PDF and PNG.

    The configuration's figures (the paper's), then one figure for each scenario that none of them shows (a custom
    scenario), the diagnostics, and the E_gamma-theta_gamma planes.
    """
    from dipole_portal.plotting import limit_figures as lf
    from dipole_portal.plotting.plane_figures import figure_plane
    from dipole_portal.plotting.style import save, use_style

    use_style()
    curves = lf.load_curves(output / "limits")
    folder = output / "figures"
    paths: list[Path] = []
    steps = []
    for spec in presentation.figures:
        if not any(n in curves for n in spec.scenarios):
            continue
        maker = lf.figure_landscape if spec.kind == "landscape" else lf.figure_from_spec
        steps.append((spec.name, lambda spec=spec, maker=maker: maker(curves, spec)))
    shown = presentation.shown()
    steps += [(f"fig_{n}", lambda n=n: lf.figure_limits({n: curves[n]})) for n in names
              if n not in shown and n in curves]
    steps += [("diag_cls_vs_chi2", lambda: lf.figure_cls_vs_chi2(curves)),
              ("diag_bands", lambda: lf.figure_bands(curves))]
    steps += [(f"diag_plane_{n}", lambda n=n: figure_plane(scenarios[n], output / "histograms" / f"{n}.root"))
              for n in names]
    with progress_bar("figures", len(steps)) as advance:
        for name, step in steps:
            fig = step()
            if fig is not None:
                paths += save(fig, folder, name)
            advance(1)
    return paths
