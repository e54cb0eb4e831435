"""Command line: one command per pipeline stage (``python -m analysis --help``).

Bad input ends with one line ``error: ...`` on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from analysis import __version__
from analysis.errors import EXIT_INPUT_ERROR, InputError
from analysis.progress import log, progress_bar


def _finite_positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}={value!r}: expected a finite positive number")
    return value


def _parse_beams(text: str | None, sqrt_s: float):
    from samples.kinematics import Beams

    _finite_positive("--sqrt-s", sqrt_s)
    if text is None:
        return Beams.symmetric_at(sqrt_s)
    try:
        e_minus, e_plus = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--beams={text!r}: expected E_MINUS,E_PLUS in GeV, e.g. 7,4") from None
    beams = Beams(e_minus, e_plus)
    if abs(beams.sqrt_s - sqrt_s) > 1e-3:
        raise InputError(f"--beams={text!r} gives sqrt(s) = {beams.sqrt_s:.4f} GeV, contradicting --sqrt-s {sqrt_s:g}")
    return beams


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dipole-portal")
def cli() -> None:
    """Sensitivity of e+e- colliders to the neutrino dipole portal (arXiv:2204.07802).

    Stages: generate -> select / yields -> limit / limits -> run (all of them, with plots and report).
    """


@cli.command()
@click.option("--process", type=click.Choice(["signal", "nunugamma"]), required=True,
              help="signal: e+e- -> N nubar, N -> nu gamma; nunugamma: SM e+e- -> nu nubar gamma.")
@click.option("--sqrt-s", type=float, required=True, help="CM energy in GeV.")
@click.option("--beams", default=None, metavar="E_MINUS,E_PLUS",
              help="Beam energies in GeV for asymmetric beams (e.g. 7,4 for Belle II); lab-frame branches are added.")
@click.option("--mass", type=float, default=None, help="N mass in GeV (signal only), 0 < m_N < sqrt(s).")
@click.option("--decay-model", default="helicity", show_default=True,
              help="Photon angle in the N rest frame: helicity, backward, isotropic or forward.")
@click.option("--d-ref", type=float, default=1e-5, show_default=True, help="Reference coupling d in GeV^-1 (signal).")
@click.option("--cc-modes", type=click.IntRange(1, 2), default=2, show_default=True,
              help="Charge-conjugate modes counted: 2 = N nubar + Nbar nu (Dirac N), 1 = N nubar only.")
@click.option("--region", default=None, metavar="EMIN,EMAX,CMIN,CMAX",
              help="nunugamma: CM region in GeV and cos(theta) (default 0.05*sqrt(s), sqrt(s)/2, -0.95, 0.95).")
@click.option("--events", type=int, required=True, help="Number of events.")
@click.option("--seed", type=int, required=True, help="Seed of numpy.random.SeedSequence.")
@click.option("--chunk-size", type=int, default=1_000_000, show_default=True, help="Events per generated chunk.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="Output ROOT file.")
def generate(process, sqrt_s, beams, mass, decay_model, d_ref, cc_modes, region, events, seed, chunk_size, output):
    """Generate events into a ROOT file (TTree 'events' and JSON 'metadata')."""
    from samples.generate import generate_to_root
    from samples.generators import NuNuGammaSpec, SignalSpec
    from samples.kinematics import PhaseSpaceRegion

    b = _parse_beams(beams, sqrt_s)
    if events is None or events <= 0:
        raise InputError(f"--events={events!r}: expected a positive integer")
    if seed < 0:
        raise InputError(f"--seed={seed!r}: expected a non-negative integer")
    if process == "signal":
        if mass is None:
            raise InputError("--mass is required for --process signal")
        spec = SignalSpec(b, mass, d_ref=d_ref, decay_model=decay_model, n_modes=cc_modes)
    else:
        if region is None:
            reg = PhaseSpaceRegion(0.05 * b.sqrt_s, 0.5 * b.sqrt_s, -0.95, 0.95)
        else:
            try:
                reg = PhaseSpaceRegion(*(float(x) for x in region.split(",")))
            except (TypeError, ValueError):
                raise InputError(f"--region={region!r}: expected four numbers EMIN,EMAX,CMIN,CMAX") from None
        spec = NuNuGammaSpec(b, reg)
    with progress_bar(f"generate {process}", events) as advance:
        path = generate_to_root(spec, output, seed, events, chunk_size=chunk_size, on_chunk=advance)
    log(f"wrote {events} {process} events to {path}")


def _stack(opts):
    """A decorator applying click options in the order listed."""

    def apply(f):
        for opt in reversed(opts):
            f = opt(f)
        return f

    return apply


_common_physics = _stack(
    [
        click.option("--scenario", required=True, help="Scenario name (see data/scenarios.json), e.g. bes3."),
        click.option("--mass", type=float, required=True, help="N mass in GeV."),
        click.option("--decay-model", default="helicity", show_default=True,
                     help="helicity, backward, isotropic or forward."),
        click.option("--cc-modes", type=click.IntRange(1, 2), default=2, show_default=True,
                     help="Charge-conjugate modes counted (2: N nubar + Nbar nu)."),
        click.option("--events", type=int, default=200_000, show_default=True,
                     help="MC events per sample (signal and nu nubar gamma, per energy point)."),
        click.option("--seed", type=int, default=1, show_default=True, help="Run seed."),
        click.option("--workdir", type=click.Path(file_okay=False), default=".cache", show_default=True,
                     help="Folder of cached sample ROOT files."),
        click.option("--scenarios", "scenarios_file", type=click.Path(dir_okay=False), default=None,
                     help="Scenario file (default: the packaged one)."),
    ]
)


def _yields(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file):
    from analysis.config import get_scenario
    from samples.generators import DECAY_MODELS
    from selections.yields import compute_yields

    if decay_model not in DECAY_MODELS:
        raise InputError(f"--decay-model {decay_model!r}: expected one of {', '.join(DECAY_MODELS)}")
    if events <= 0:
        raise InputError(f"--events={events!r}: expected a positive integer")
    if seed < 0:
        raise InputError(f"--seed={seed!r}: expected a non-negative integer")
    sc = get_scenario(scenario, scenarios_file)
    return compute_yields(sc, mass, decay_model, events, seed, workdir, n_modes=cc_modes, verbose=True)


@cli.command()
@_common_physics
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def yields(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file, as_json):
    """Signal efficiency, signal cross section and background events of a scenario at one mass."""
    import json

    y = _yields(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file)
    summary = y.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{scenario}  m_N = {mass:g} GeV  decay model {decay_model}")
    click.echo(f"{'channel':>12}{'eff':>9}{'sigma_sig [pb]':>16}{'B_irr':>12}{'B_gap':>12}")
    for c in y.channels:
        click.echo(f"{c.sqrt_s:>12.3f}{c.efficiency:>9.4f}{c.signal_xsec_pb:>16.4e}"
                   f"{c.background_irreducible_events:>12.4g}{c.gap_background_events:>12.4g}")
    click.echo(f"total background events: {y.background_events:.4g}")


@cli.command()
@_common_physics
@click.option("--output", type=click.Path(file_okay=False), required=True, help="Output folder.")
def select(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file, output):
    """Write E_gamma-theta_gamma histograms (ROOT TH2D and UHI JSON) and cut-flows for a scenario."""
    from analysis.atomic import write_json_atomic
    from selections import histograms

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    y = _yields(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file)
    hists, flows = {}, {}
    for label, samples in y.samples.items():
        for process, res in samples.items():
            hists[f"{process}_{label}"] = res.histogram
            flows[f"{process}_{label}"] = res.cutflow.as_dict()
            click.echo(res.cutflow.table(f"{scenario} {process} {label}"))
    stem = f"{scenario}_m{mass:g}_{decay_model}"
    histograms.write_root(out / f"{stem}_histograms.root", hists)
    histograms.write_json(out / f"{stem}_histograms.json", hists)
    write_json_atomic(out / f"{stem}_cutflows.json", {"scenario": scenario, "mass_GeV": mass, "cutflows": flows})
    log(f"wrote {stem}_histograms.root, _histograms.json and _cutflows.json to {out}")


@cli.command()
@click.option("--input", "input_file", type=click.Path(dir_okay=False), required=True,
              help="A sample file written by 'generate' (ROOT TTree 'events' + JSON 'metadata').")
@click.option("--scenario", required=True, help="Scenario whose selection to apply (at the file's sqrt(s)).")
@click.option("--scenarios", "scenarios_file", type=click.Path(dir_okay=False), default=None)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the selected E_gamma-theta_gamma histogram here (ROOT TH2D).")
@click.option("--json", "as_json", is_flag=True, help="Print the cut-flow as JSON.")
def cutflow(input_file, scenario, scenarios_file, output, as_json):
    """Apply a scenario's selection to one sample file: cut-flow (events, pb) and, optionally, the histogram."""
    import json

    from analysis.atomic import check_writable
    from analysis.config import get_scenario
    from samples.rootio import read_metadata
    from selections import histograms
    from selections.cuts import build_selection
    from selections.process import process_sample

    sc = get_scenario(scenario, scenarios_file)
    if output:
        check_writable(output)
    meta = read_metadata(input_file)
    point = next((p for p in sc.points if abs(p.sqrt_s - meta["sqrt_s_GeV"]) < 1e-3), None)
    if point is None:
        known = ", ".join(p.label for p in sc.points[:5]) + (", ..." if len(sc.points) > 5 else "")
        raise InputError(f"{input_file}: sqrt_s_GeV {meta['sqrt_s_GeV']!r} is not an energy point of scenario "
                         f"{scenario} ({known})")
    res = process_sample(input_file, meta["process"], build_selection(sc, point))
    if output:
        histograms.write_root(output, {f"{meta['process']}_selected": res.histogram})
    if as_json:
        click.echo(json.dumps({"file": str(input_file), "scenario": scenario, **res.cutflow.as_dict()}))
    else:
        click.echo(res.cutflow.table(f"{input_file}: {scenario} {meta['process']} {point.label}"))


_limit_options = _stack(
    [
        click.option("--method", type=click.Choice(["chi2", "cls"]), default="cls", show_default=True,
                     help="chi2: the paper's S^2/(S+B) = 2.71; cls: pyhf CLs (the chi2 limit is always reported too)."),
        click.option("--binned", is_flag=True, help="Binned in E_gamma x theta_gamma instead of one bin per channel."),
        click.option("--calculator", type=click.Choice(["auto", "asymptotic", "toys"]), default="auto",
                     show_default=True, help="CLs calculator; auto uses toys below 5 background events."),
        click.option("--bkg-syst", type=float, default=0.0, show_default=True,
                     help="Relative background normalisation uncertainty."),
        click.option("--lumi-syst", type=float, default=0.0, show_default=True,
                     help="Relative luminosity uncertainty."),
    ]
)


def _syst(bkg_syst: float, lumi_syst: float):
    from stats.models import Systematics

    for name, v in (("--bkg-syst", bkg_syst), ("--lumi-syst", lumi_syst)):
        if not (math.isfinite(v) and 0 <= v < 1):
            raise InputError(f"{name}={v!r}: expected a relative uncertainty in [0, 1)")
    return Systematics(bkg_syst, lumi_syst)


@cli.command()
@_common_physics
@_limit_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def limit(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file, method, binned, calculator,
          bkg_syst, lumi_syst, as_json):
    """Expected 95% C.L. upper limit on d (GeV^-1) for one scenario and mass."""
    import json

    from stats.limits import compute_limit

    syst = _syst(bkg_syst, lumi_syst)
    y = _yields(scenario, mass, decay_model, cc_modes, events, seed, workdir, scenarios_file)
    r = compute_limit(y, method, binned, calculator, syst)
    if as_json:
        click.echo(json.dumps(r.as_dict(), indent=2))
        return
    click.echo(f"{scenario} m_N = {mass:g} GeV: d95(chi2) = {r.d95_chi2:.4e} GeV^-1"
               + (f", d95(CLs, {r.calculator}) = {r.d95_cls:.4e} GeV^-1" if r.d95_cls else "")
               + f"; S = {r.signal_events:.4g}, B = {r.background_events:.4g}")


def _executor_options(f):
    f = click.option("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:PORT): run there.")(f)
    f = click.option("--dask-workers", type=click.IntRange(1), default=None,
                     help="Run on a local Dask cluster of N worker processes.")(f)
    f = click.option("--workers", type=click.IntRange(1), default=None,
                     help="Local worker processes (default: all cores; 1 = serial, in this process).")(f)
    return click.option("--executor", "executor_kind", type=click.Choice(["serial", "processes", "dask"]),
                        default=None, help="Executor (default: processes, or dask with --dask-workers/--scheduler).")(f)


def _executor(kind, workers, dask_workers, scheduler):
    from analysis.executors import make_executor

    if dask_workers or scheduler:
        return make_executor("dask", dask_workers, scheduler)
    return make_executor(kind or "processes", workers)


@cli.command()
@click.option("--scenario", required=True, help="Scenario name.")
@click.option("--masses", default=None, help="Comma-separated N masses in GeV (default: a log grid).")
@click.option("--n-masses", type=int, default=20, show_default=True, help="Points of the default log grid.")
@click.option("--m-min", type=float, default=0.01, show_default=True, help="Lowest mass of the default grid (GeV).")
@click.option("--decay-model", default="helicity", show_default=True)
@click.option("--cc-modes", type=click.IntRange(1, 2), default=2, show_default=True)
@click.option("--events", type=int, default=100_000, show_default=True, help="MC events per sample.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False), default=".cache", show_default=True)
@click.option("--scenarios", "scenarios_file", type=click.Path(dir_okay=False), default=None)
@_limit_options
@click.option("--hepdata-ins", default=None, help="INSPIRE id (insNNNNNNN) for the pyhf patchset's references.")
@click.option("--output", type=click.Path(file_okay=False), required=True, help="Output folder.")
@_executor_options
def limits(scenario, masses, n_masses, m_min, decay_model, cc_modes, events, seed, workdir, scenarios_file, method,
           binned, calculator, bkg_syst, lumi_syst, hepdata_ins, output, executor_kind, workers, dask_workers,
           scheduler):
    """Scan a mass grid: limits table (CSV, JSON), pyhf background-only workspace and patchset."""
    from analysis.config import get_scenario
    from selections.yields import check_mass
    from stats.outputs import write_limit_tables, write_workspaces
    from stats.scan import scan_masses

    syst = _syst(bkg_syst, lumi_syst)
    if hepdata_ins is not None and not (len(hepdata_ins) == 10 and hepdata_ins.startswith("ins")
                                        and hepdata_ins[3:].isdigit()):
        raise InputError(f"--hepdata-ins={hepdata_ins!r}: expected 'ins' followed by 7 digits")
    sc = get_scenario(scenario, scenarios_file)
    if masses:
        try:
            grid = [float(m) for m in masses.split(",")]
        except ValueError:
            raise InputError(f"--masses={masses!r}: expected comma-separated numbers in GeV") from None
    else:
        from analysis.pipeline import mass_grid

        grid = mass_grid(sc, n_masses, m_min)
    for m in grid:
        check_mass(sc, m)
    with _executor(executor_kind, workers, dask_workers, scheduler) as ex:
        results, specs = scan_masses(sc, grid, decay_model, events, seed, workdir, cc_modes, method, binned,
                                     calculator, syst, ex)
    out = Path(output)
    paths = write_limit_tables(out, scenario, results, sc.label) + write_workspaces(out, scenario, specs, hepdata_ins)
    for r in results:
        click.echo(f"m_N = {r.mass_GeV:8.4f} GeV  d95 chi2 = {r.d95_chi2:.3e}"
                   + (f"  CLs = {r.d95_cls:.3e}" if r.d95_cls else "") + " GeV^-1")
    log(f"wrote {len(paths)} files ({scenario}_limits.csv/.json, _bkgonly.json, _patchset.json, _patches/) to {out}")


@cli.command()
@click.option("--preset", type=click.Choice(["fast", "paper"]), default="fast", show_default=True,
              help="paper: 20 masses and 1e5 events per sample; fast: 4 masses, 2e4 events.")
@click.option("--config", "scenarios_file", type=click.Path(dir_okay=False), default=None,
              help="Scenario configuration (JSON, the format of analysis/data/scenarios.json).")
@click.option("--scenario", "only", multiple=True, help="Restrict to these scenarios (repeatable).")
@click.option("--decay-model", default="helicity", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--output", type=click.Path(file_okay=False), default="output", show_default=True)
@click.option("--no-figures", is_flag=True, help="Stop after the tables (no figures, no report).")
@_executor_options
def run(preset, scenarios_file, only, decay_model, seed, output, no_figures, executor_kind, workers, dask_workers,
        scheduler):
    """Whole pipeline: samples -> selections -> limits -> tables, HEPData -> figures -> report.

    Samples and limits are cached under OUTPUT/cache by a content hash of their inputs, so a rerun recomputes
    only what changed, and an interrupted run resumes where it stopped.
    """
    import time

    from analysis.config import load_scenarios
    from analysis.pipeline import run_pipeline

    scenarios = load_scenarios(scenarios_file)
    names = list(dict.fromkeys(only)) or list(scenarios)
    for n in names:
        if n not in scenarios:
            raise InputError(f"--scenario {n!r} unknown, expected one of {', '.join(sorted(scenarios))}")
    t0 = time.perf_counter()
    with _executor(executor_kind, workers, dask_workers, scheduler) as ex:
        summary = run_pipeline(scenarios, names, preset, Path(output), decay_model, seed, ex,
                               make_figures=not no_figures)
    log(f"done in {time.perf_counter() - t0:.1f} s: {summary.limits_computed} limits computed, "
        f"{summary.limits_cached} from the cache, {summary.samples_made} samples made")
    if "report" in summary.files:
        log(f"report: {summary.files['report'][0]}; figures in {Path(output) / 'figures'}")


def _one_line(message: str) -> str:
    """Messages from libraries may span lines; an error is one line."""
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the click group and maps input errors to one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="python -m analysis", standalone_mode=False)
    except InputError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except click.UsageError as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except OSError as exc:  # a full disk, a vanished folder: one line, and nothing half-written (atomic outputs)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {_one_line(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 1
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    return 0


__all__ = ["cli", "main"]
