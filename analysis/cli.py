"""Command line: one command per pipeline stage (``python -m dipole_portal --help``).

Bad input ends with one line ``error: ...`` on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dipole_portal.analysis.cli_options import (
    DEFERRED,
    analysis_options,
    cache_option,
    events_option,
    executor_options,
    grid_options,
    hepdata_ins_option,
    limit_source_options,
    run_request_options,
    sample_spec_options,
    scenarios_option,
    seed_option,
    stack,
)
from dipole_portal.core import interrupts, transaction
from dipole_portal.core.cache import KINDS as CACHE_KINDS
from dipole_portal.core.errors import EXIT_INPUT_ERROR, InputError, WorkerDied
from dipole_portal.core.interrupts import Terminated
from dipole_portal.core.numerics import SQRT_S_MATCH_GEV
from dipole_portal.core.progress import configure_cli_logging, log, progress_bar, warn
from dipole_portal.core.version import __version__

if TYPE_CHECKING:
    from dipole_portal.analysis.limit_sets import GridRequest, LimitSource
    from dipole_portal.analysis.pipeline import RunRequest
    from dipole_portal.analysis.tasks import AnalysisOptions
    from dipole_portal.core.executors import ExecutorSpec
    from dipole_portal.samples.generators import NuNuGammaSpec, SignalSpec


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dipole-portal")
@click.option("-v", "--verbose", is_flag=True, help="Debug messages too.")
def cli(verbose: bool) -> None:
    """Sensitivity of e+e- colliders to the neutrino dipole portal (arXiv:2204.07802).

    Stages: generate -> select (writes a yields file) -> limit / limits (read it) -> run (all of them, with
    figures, report and HEPData); cache info / clear.
    """
    configure_cli_logging(verbose)
    from dipole_portal.core.cache import cache_limit

    cache_limit()  # a bad DIPOLE_PORTAL_CACHE_LIMIT is refused now, not after the work


def _size(n: float) -> str:
    """Bytes for a person, in the unit that keeps the number below 1000 (``340.0 MB``, ``1.2 GB``)."""
    for unit, f in (("B", 1.0), ("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if round(n / f, 1) < 1000:
            return f"{n / f:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
    return f"{n / 1e12:.1f} TB"


def _then_evict(f):
    """After the command: sample entries evicted, least recently used first, until the cache is under its limit."""
    import functools

    @functools.wraps(f)
    def command(*args, **kwargs):
        out = f(*args, **kwargs)
        from dipole_portal.core.cache import LIMIT_ENV, Cache

        analysis = kwargs.get("analysis")
        c = Cache((analysis.cache if analysis is not None else kwargs.get("cache_dir")) or None)
        ev = c.evict()
        if ev.limit_bytes is None:
            return out
        if ev.entries:
            from dipole_portal.analysis.sample_index import write_index

            write_index(c)  # the index lists only the samples still there
            log(
                f"cache: removed {ev.entries} least recently used samples ({_size(ev.freed_bytes)}) to stay under its "
                f"{_size(ev.limit_bytes)} limit ({LIMIT_ENV}); it holds {_size(ev.total_bytes)} in {c.root}"
            )
        if ev.total_bytes > ev.limit_bytes:
            warn(
                f"cache {c.root} holds {_size(ev.total_bytes)}, over its {_size(ev.limit_bytes)} limit "
                f"({LIMIT_ENV}) with no sample left to evict: results are never evicted; 'cache clear' removes them"
            )
        return out

    return command


_common_physics = stack(
    [
        click.option("--scenario", required=True, help="Scenario name from the configuration, e.g. bes3."),
        click.option("--mass", type=float, required=True, help="N mass in GeV."),
        scenarios_option,
        analysis_options(with_limits=False),
    ]
)


@cli.command()
@sample_spec_options
@events_option
@seed_option
@click.option("--chunk-size", type=int, default=1_000_000, show_default=True, help="Events per generated chunk.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="Output ROOT file.")
def generate(spec: SignalSpec | NuNuGammaSpec, events: int, seed: int, chunk_size: int, output: str) -> None:
    """Generate events into a ROOT file (TTree 'events' and JSON 'metadata')."""
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import SignalSpec

    process = "signal" if isinstance(spec, SignalSpec) else "nunugamma"
    with progress_bar(f"generate {process}", events) as advance:
        path = generate_to_root(spec, output, seed, events, chunk_size=chunk_size, on_chunk=advance)
    log(f"wrote {events} {process} events to {path}")


def _scenario_request(scenario: str, mass: float, analysis: AnalysisOptions, scenarios_file: str | None):
    from dipole_portal.core.config import get_scenario

    return analysis.request(get_scenario(scenario, scenarios_file), mass)


@cli.command()
@_common_physics
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@_then_evict
def yields(scenario: str, mass: float, scenarios_file: str | None, analysis: AnalysisOptions, as_json: bool) -> None:
    """Signal efficiency, signal cross section and background events of a scenario at one mass."""
    import json

    from dipole_portal.analysis.tasks import compute_yields
    from dipole_portal.core.cache import Cache

    y = compute_yields(_scenario_request(scenario, mass, analysis, scenarios_file), Cache(analysis.cache or None))
    if as_json:
        click.echo(json.dumps(y.summary(), indent=2))
        return
    click.echo(f"{scenario}  m_N = {mass:g} GeV  decay model {y.decay_model}")
    click.echo(f"{'channel':>12}{'eff':>9}{'sigma_sig [pb]':>16}{'B_irr':>12}{'B_gap':>12}")
    for c in y.channels:
        click.echo(
            f"{c.sqrt_s:>12.3f}{c.efficiency:>9.4f}{c.signal_xsec_pb:>16.4e}"
            f"{c.background_irreducible_events:>12.4g}{c.gap_background_events:>12.4g}"
        )
    click.echo(f"total background events: {y.background_events:.4g}")


@cli.command()
@_common_physics
@click.option("--output", type=click.Path(file_okay=False), required=True, help="Output folder.")
@_then_evict
def select(scenario: str, mass: float, scenarios_file: str | None, analysis: AnalysisOptions, output: str) -> None:
    """Select a scenario at one mass: the yields file that 'limit --yields' reads, histograms and cut-flows.

    Writes <scenario>_m<mass>_<model>_yields.json, _histograms.root (TH2D), _histograms.json (UHI) and
    _cutflows.json.
    """
    from dipole_portal.analysis.selection_files import selection_stem, write_selection
    from dipole_portal.analysis.tasks import compute_yields
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.transaction import output_transaction

    req = _scenario_request(scenario, mass, analysis, scenarios_file)  # checks the mass before anything is made
    out = Path(output)
    _check_output_folder(out)
    results: dict = {}
    y = compute_yields(req, Cache(analysis.cache or None), on_result=lambda *r: results.setdefault(r[:2], r[2]))
    for (point, process), res in results.items():
        click.echo(res.cutflow.table(f"{scenario} {process} {point.label}"))
    stem = selection_stem(req)
    with output_transaction(out) as stage:  # the four files appear together, or none of them
        write_selection(stage, stem, req, y, results)
    log(f"wrote {stem}_yields.json, _histograms.root, _histograms.json and _cutflows.json to {out}")


@cli.command()
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False),
    required=True,
    help="A sample file written by 'generate' (ROOT TTree 'events' + JSON 'metadata').",
)
@click.option("--scenario", required=True, help="Scenario whose selection to apply (at the file's sqrt(s)).")
@scenarios_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the selected E_gamma-theta_gamma histogram here (ROOT TH2D).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the cut-flow as JSON.")
def cutflow(input_file, scenario, scenarios_file, output, as_json):
    """Apply a scenario's selection to one sample file: cut-flow (events, pb) and, optionally, the histogram."""
    import json

    from dipole_portal.analysis.tasks import electroweak_signal
    from dipole_portal.core.atomic import check_writable
    from dipole_portal.core.config import get_scenario
    from dipole_portal.samples.rootio import read_metadata
    from dipole_portal.selections import histograms
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.process import process_sample

    sc = get_scenario(scenario, scenarios_file)
    if output:
        check_writable(output)
        if Path(output).absolute() == Path(input_file).absolute() or (
            Path(output).exists() and Path(input_file).exists() and Path(output).samefile(input_file)
        ):
            raise InputError(f"--output {output}: the same file as --input; the sample would be overwritten")
    meta = read_metadata(input_file)
    point = next((p for p in sc.points if abs(p.sqrt_s - meta["sqrt_s_GeV"]) < SQRT_S_MATCH_GEV), None)
    if point is None:
        known = ", ".join(p.label for p in sc.points[:5]) + (", ..." if len(sc.points) > 5 else "")
        raise InputError(
            f"{input_file}: sqrt_s_GeV {meta['sqrt_s_GeV']!r} is not an energy point of scenario {scenario} ({known})"
        )
    if meta["process"] == "nunugamma" and (meta.get("background_model") == "electroweak") != (
        sc.electroweak is not None
    ):
        raise InputError(
            f"{input_file}: a nu nubar gamma sample with "
            + ("the electroweak law" if sc.electroweak is None else "SPEC 2's law")
            + f"; scenario {scenario} expects "
            + ("SPEC 2's law (no 'electroweak' block)" if sc.electroweak is None else "the electroweak law")
        )
    ew = electroweak_signal(sc, point, meta.get("d_ref_GeV_inv", 1.0)) if meta["process"] == "signal" else None
    res = process_sample(input_file, meta["process"], build_selection(sc, point), electroweak=ew)
    if output:
        name = f"{meta['process']}_selected"
        where = (
            f"m_{{N}} = {meta['mass_GeV']:g} GeV, " if meta["process"] == "signal" else ""
        ) + f"{scenario} {point.label}"
        info = histograms.hist_info(
            meta["process"], "after cuts", where, res.cutflow.events[-1], meta.get("d_ref_GeV_inv")
        )
        histograms.write_root(
            output,
            {name: res.histogram},
            {name: info},
            {"scenario": scenario, "sample": str(input_file), "units": "pb per bin", "cutflow": res.cutflow.as_dict()},
        )
    if as_json:
        click.echo(json.dumps({"file": str(input_file), "scenario": scenario, **res.cutflow.as_dict()}))
    else:
        click.echo(res.cutflow.table(f"{input_file}: {scenario} {meta['process']} {point.label}"))


@cli.command()
@click.option(
    "--yields",
    "yields_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A yields file written by 'select': the limit is computed from it alone.",
)
@click.option("--scenario", default=None, help="Scenario name (instead of --yields: samples and selection first).")
@click.option("--mass", type=float, default=None, help="N mass in GeV (with --scenario).")
@scenarios_option
@analysis_options(with_limits=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@_then_evict
def limit(
    yields_file: str | None,
    scenario: str | None,
    mass: float | None,
    scenarios_file: str | None,
    analysis: AnalysisOptions,
    as_json: bool,
) -> None:
    """Expected 95% C.L. upper limit on d (GeV^-1) from a yields file, or for a scenario and mass."""
    import json

    from dipole_portal.analysis.tasks import compute_yields
    from dipole_portal.core.cache import Cache
    from dipole_portal.selections.yields_file import read_yields
    from dipole_portal.stats.limits import compute_limit

    if yields_file and (scenario or mass is not None):
        raise InputError("--yields: give either yields files or --scenario and --mass, not both")
    if yields_file:
        y = read_yields(yields_file)
    elif scenario and mass is not None:
        y = compute_yields(_scenario_request(scenario, mass, analysis, scenarios_file), Cache(analysis.cache or None))
    else:
        raise InputError("expected --yields FILE, or --scenario and --mass")
    r = compute_limit(y, analysis.method, binned=analysis.binned, calculator=analysis.calculator, syst=analysis.syst)
    if as_json:
        click.echo(json.dumps(r.as_dict(), indent=2))
        return
    click.echo(
        f"{y.scenario} m_N = {y.mass:g} GeV: d95(chi2) = {r.d95_chi2:.4e} GeV^-1"
        + (f", d95(CLs, {r.calculator}) = {r.d95_cls:.4e} GeV^-1" if r.d95_cls else "")
        + f"; S = {r.signal_events:.4g}, B = {r.background_events:.4g}"
    )


@cli.command()
@limit_source_options
@grid_options
@analysis_options(with_limits=True)
@hepdata_ins_option
@click.option("--output", type=click.Path(file_okay=False), required=True, help="Output folder.")
@executor_options
@_then_evict
def limits(
    source: LimitSource,
    grid: GridRequest,
    analysis: AnalysisOptions,
    hepdata_ins: str | None,
    output: str,
    executor: ExecutorSpec,
) -> None:
    """Limits over masses: table (CSV, JSON), pyhf background-only workspace and patchset."""
    from dipole_portal.analysis import limit_sets
    from dipole_portal.analysis.mass_grid import coarse_warning
    from dipole_portal.core.config import get_scenario
    from dipole_portal.core.transaction import output_transaction

    if source.yields_files:
        if source.scenario or grid.masses:
            raise InputError("--yields: give either yields files or --scenario (and --masses), not both")
        ys = limit_sets.read_yields_set(source.yields_files)
        _check_output_folder(Path(output))
        scan = limit_sets.limits_from_yields(ys, analysis)
        name, label = ys[0].scenario, ys[0].scenario
    else:
        if not source.scenario:
            raise InputError("expected --yields FILE... or --scenario NAME")
        sc = get_scenario(source.scenario, source.scenarios_file)
        masses = grid.grid(sc)
        _check_output_folder(Path(output))
        with executor.make() as ex:
            scan = limit_sets.scan_grid(sc, masses, analysis, ex)
        name, label = sc.name, sc.label
    out = Path(output)
    with output_transaction(out) as stage:  # tables, workspace and patches together, or the earlier set untouched
        staged = limit_sets.write_limit_set(stage, name, label, scan, hepdata_ins)
    for r in scan.limits:
        click.echo(
            f"m_N = {r.mass_GeV:8.4f} GeV  d95 chi2 = {r.d95_chi2:.3e}"
            + (f"  CLs = {r.d95_cls:.3e}" if r.d95_cls else "")
            + " GeV^-1"
        )
    channels = sorted({e for r in scan.limits for e in r.channels})
    coarse = coarse_warning(name, [r.mass_GeV for r in scan.limits], [r.d95 for r in scan.limits], channels)
    if coarse is not None:
        warn(coarse)
    log(
        f"wrote {', '.join(p.name for p in staged)} to {out}"
        + ("" if hepdata_ins else " (no pyhf patchset: it needs --hepdata-ins)")
    )


@cli.command()
@run_request_options
@cache_option
@click.option("--output", type=click.Path(file_okay=False), default="output", show_default=True)
@click.option("--no-figures", is_flag=True, help="Stop after the tables (no figures, no report).")
@hepdata_ins_option
@executor_options
@_then_evict
def run(
    request: RunRequest,
    cache_dir: str | None,
    output: str,
    no_figures: bool,
    hepdata_ins: str | None,
    executor: ExecutorSpec,
) -> None:
    """Whole pipeline: samples -> selections -> limits -> tables, HEPData -> figures -> report.

    Every intermediate result is an entry of the cache (--cache), keyed on its inputs and on the code that
    computes it, so a rerun recomputes only what changed, and an interrupted run resumes where it stopped.
    """
    import time

    import matplotlib

    from dipole_portal.analysis.pipeline import run_pipeline
    from dipole_portal.core.cache import Cache
    from dipole_portal.plotting.presentation import load_configuration

    matplotlib.use("Agg")  # the command line draws into files; a notebook keeps its own backend
    scenarios, presentation = load_configuration(request.scenarios_file)
    names = list(dict.fromkeys(request.only)) or list(scenarios)
    for n in names:
        if n not in scenarios:
            raise InputError(f"--scenario {n!r} unknown, expected one of {', '.join(sorted(scenarios))}")
    t0 = time.perf_counter()
    with executor.make() as ex:
        _check_output_folder(Path(output))
        summary = run_pipeline(
            scenarios,
            names,
            request.preset,
            Path(output),
            decay_model=request.decay_model,
            detector_model=request.detector_model,
            seed=request.seed,
            executor=ex,
            cache=Cache(cache_dir),
            presentation=presentation,
            make_figures=not no_figures,
            hepdata_ins=hepdata_ins,
        )
    log(
        f"done in {time.perf_counter() - t0:.1f} s: {summary.limits_computed} limits computed, "
        f"{summary.limits_cached} from the cache, {summary.samples_made} samples made"
    )
    if "report" in summary.files:
        log(f"report: {summary.files['report'][0]}; figures in {Path(output) / 'figures'}")


@cli.group()
def cache() -> None:
    """Show or clear the cache (samples, selected samples, yields, limits, histograms, figures, HEPData)."""


@cache.command("info")
@cache_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def cache_info(cache_dir, as_json):
    """Entries and size per kind, and the size limit."""
    import json

    from dipole_portal.core.cache import LIMIT_ENV, Cache, cache_limit

    c = Cache(cache_dir)
    info = c.info()
    limit = cache_limit()
    total = sum(v["bytes"] for v in info.values())
    if as_json:
        click.echo(json.dumps({"root": str(c.root), "kinds": info, "total_bytes": total, "limit_bytes": limit}))
        return
    click.echo(f"cache: {c.root}")
    click.echo(
        f"  {_size(total)} of "
        + (f"a {_size(limit)} limit" if limit is not None else "no limit")
        + f" ({LIMIT_ENV}; samples are evicted, least recently used first, after each command)"
    )
    for kind, v in info.items():
        click.echo(f"  {kind:<12}{v['entries']:>8} entries {v['bytes'] / 1e6:>10.1f} MB")
    if not info:
        click.echo("  (empty)")


@cache.command("index")
@cache_option
def cache_index(cache_dir):
    """Write <cache>/samples/index.csv: every sample file with the parameters it was made with."""
    from dipole_portal.analysis.sample_index import write_index
    from dipole_portal.core.cache import Cache

    path = write_index(Cache(cache_dir))
    log(f"sample index: {path}")


@cache.command("clear")
@cache_option
@click.option("--kind", type=click.Choice(list(CACHE_KINDS)), default=None, help="Clear only this kind of entry.")
def cache_clear(cache_dir, kind):
    """Remove cached entries (all, or one kind)."""
    from dipole_portal.core.cache import Cache

    c = Cache(cache_dir)
    n = c.clear(kind)
    log(f"removed {n} entries from {c.root}" + (f" ({kind})" if kind else ""))


def _check_output_folder(folder: Path) -> None:
    """The output folder is a writable folder, or a new name in a writable one (created only when the command's
    outputs are complete); else an input error (exit 2) before anything is computed."""
    import os

    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError(f"--output {folder}: exists and is not a folder")
    parent = folder.absolute().parent  # the staging folder is made here; the output folder itself at commit
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--output {folder}: cannot be created ({exc.strerror})") from None
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--output {folder}: {parent} is not a writable folder")


def _interrupted(code: int) -> str:
    """The one line an interrupted command ends with: what arrived, and what it left. A signal that arrived while
    an output set was being put in place is held until the set is complete: then the set is this run's."""
    what = "terminated (SIGTERM)" if code == 143 else "interrupted"
    done = transaction.committed()
    if done:
        return f"error: {what} after this run's outputs were complete in {', '.join(map(str, done))}"
    return f"error: {what}; no partial output was kept"


def _one_line(message: str) -> str:
    """Messages from libraries may span lines; an error is one line."""
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the click group and maps input errors to one line and exit code 2.

    SIGTERM is turned into an interrupt like Ctrl-C (exit code 143, against 130 for Ctrl-C). Both are recorded
    before they are raised (``core.interrupts``): one swallowed in a finaliser is raised again at the next check,
    and a run that received one never ends with exit code 0.
    """
    import signal

    interrupts.reset()
    transaction.reset_committed()
    previous = (
        {s: signal.signal(s, interrupts.handler) for s in (signal.SIGTERM, signal.SIGINT)} if _main_thread() else {}
    )
    try:
        with interrupts.quiet_unraisable():
            code = _main(argv)
        if code == 0 and interrupts.received() is not None:  # swallowed everywhere it was raised
            code = 143 if interrupts.received() == signal.SIGTERM else 130
            print(_interrupted(code), file=sys.stderr)
        return code
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def console_main() -> None:
    """The installed ``dipole-portal`` script and ``python -m dipole_portal``: exit with ``main``'s code.

    After an interrupt the process ends at once (``os._exit``, streams flushed): a worker pool's management
    thread, joined by Python's exit handlers, can deadlock there; the outputs are already safe (transactions)
    and the workers end with this process. Before that, multiprocessing's own exit finalisers that join nothing
    (priority >= 0: close the pool's pipes, unlink its semaphores) run as at a normal exit, so that the resource
    tracker finds nothing leaked and prints no warning after the one-line message.
    """
    import os

    code = main()
    if code in (130, 143):
        from multiprocessing import util

        util._run_finalizers(0)  # type: ignore[attr-defined]  # the minimum priority: the queue threads' joins (priority -5) are left out
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _main(argv: list[str] | None) -> int:
    DEFERRED.clear()
    try:
        cli.main(args=argv, prog_name="python -m dipole_portal", standalone_mode=False)
        for message in DEFERRED:
            warn(message)
    except InputError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except click.UsageError as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except WorkerDied as exc:  # a killed worker: one line; the cache keeps what was done, a rerun resumes
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a vanished folder: one line, and nothing half-written (atomic outputs)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {_one_line(f'{where}{exc.strerror or exc}')}", file=sys.stderr)
        return 1
    except click.exceptions.Abort as exc:  # click's form of KeyboardInterrupt (and so of SIGTERM)
        code = 143 if isinstance(exc.__cause__, Terminated) else 130
        print(_interrupted(code), file=sys.stderr)
        return code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Terminated:
        print(_interrupted(143), file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(_interrupted(130), file=sys.stderr)
        return 130
    return 0


__all__ = ["cli", "main"]
