"""The command line's options, declared once, and the typed objects they are gathered into.

A command receives objects, not loose values: ``analysis_options`` gathers the physics and statistics options
into one :class:`~dipole_portal.analysis.tasks.AnalysisOptions` (keyword ``analysis``), and ``executor_options``
the executor options into one :class:`~dipole_portal.core.executors.ExecutorSpec` (keyword ``executor``). Each
option's name, type, default and help text is written here only.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import click

from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import KINDS as EXECUTOR_KINDS
from dipole_portal.core.executors import ExecutorSpec
from dipole_portal.core.numerics import LOW_BACKGROUND, SQRT_S_MATCH_GEV
from dipole_portal.core.options import (
    DEFAULT_CC_MODES,
    DEFAULT_D_REF,
    DEFAULT_DECAY_MODEL,
    DEFAULT_DETECTOR_MODEL,
    DEFAULT_EVENTS,
    DEFAULT_N_TYPE,
    DEFAULT_SEED,
    Calculator,
    DecayModel,
    DetectorModel,
    Method,
    NType,
    Process,
)

MAX_EVENTS = 10**9  # per sample: beyond this a run would take hours and tens of GB; say so instead of hanging
MAX_SEED = 2**63 - 1
MAX_WORKERS = 256
MAX_MASSES = 10_000


def stack(opts):
    """A decorator applying click options in the order listed."""

    def apply(f):
        for opt in reversed(opts):
            f = opt(f)
        return f

    return apply


DECAY_MODEL_CHOICE = click.Choice([m.value for m in DecayModel])


decay_model_option = click.option(
    "--decay-model",
    type=DECAY_MODEL_CHOICE,
    default=DEFAULT_DECAY_MODEL.value,
    show_default=True,
    help="Photon angular law in the N rest frame: exact (full spin correlation), helicity, "
    "backward, isotropic or forward.",
)


detector_model_option = click.option(
    "--detector-model",
    type=click.Choice([m.value for m in DetectorModel]),
    default=DEFAULT_DETECTOR_MODEL.value,
    show_default=True,
    help="paper: a decay within l_D of the collision point (eq. 5); geometry: per event, "
    "along the N flight direction, inside the calorimeter's inner surface; direction: also "
    "the photon direction the calorimeter measures (collision point to impact point); "
    "realistic: also the calorimeter's energy and position resolution.",
)


n_type_option = click.option(
    "--n-type",
    type=click.Choice([m.value for m in NType]),
    default=DEFAULT_N_TYPE.value,
    show_default=True,
    help="dirac, or majorana: twice the width, an isotropic photon, the same production (DarkNews conventions).",
)


cc_modes_option = click.option(
    "--cc-modes",
    type=click.IntRange(1, 2),
    default=DEFAULT_CC_MODES,
    show_default=True,
    help="Charge-conjugate modes counted: 2 = N nubar + Nbar nu (Dirac N), 1 = N nubar only.",
)


FEW_EVENTS = 1000  # below this many MC events per sample, efficiencies and limits carry large MC errors


DEFERRED: list[str] = []  # warnings printed when the command succeeds (an error stays the one line printed)


def _warn_few_events(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value is not None and value < FEW_EVENTS:
        DEFERRED.append(
            f"--events {value}: fewer than {FEW_EVENTS} MC events per sample; efficiencies and limits "
            "carry large MC errors (see d95_mc_rel_err)"
        )
    return value


events_option = click.option(
    "--events",
    type=click.IntRange(1, MAX_EVENTS),
    default=DEFAULT_EVENTS,
    show_default=True,
    callback=_warn_few_events,
    help="MC events per sample (signal and nu nubar gamma, per energy point).",
)


seed_option = click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=DEFAULT_SEED,
    show_default=True,
    help="Run seed (non-negative).",
)


cache_option = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Cache folder (default: $DIPOLE_PORTAL_CACHE, else ~/.cache/dipole-portal).",
)


scenarios_option = click.option(
    "--scenarios",
    "scenarios_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Scenario configuration: a JSON file, or a packaged one by name: paper (the default) or colliders (the energy "
    "frontier, BESIII to FCC-ee).",
)


INSPIRE_ID = re.compile(r"ins[0-9]{7}")  # pyhf's patchset schema: ^ins[0-9]{7}$ (ASCII digits only)


def _check_inspire_id(ctx, param, value: str | None) -> str | None:
    if value is not None and not INSPIRE_ID.fullmatch(value):
        raise click.BadParameter(f"{value!r}: expected 'ins' followed by 7 digits (an INSPIRE record id)")
    return value


hepdata_ins_option = click.option(
    "--hepdata-ins",
    default=None,
    callback=_check_inspire_id,
    help="INSPIRE record id (insNNNNNNN) of the publication: the pyhf patchsets' references (pyhf requires it; "
    "without it only the per-mass patches are written).",
)


def systematics(bkg_syst: float, lumi_syst: float):
    from dipole_portal.stats.models import Systematics

    for name, v in (("--bkg-syst", bkg_syst), ("--lumi-syst", lumi_syst)):
        if not (math.isfinite(v) and 0 <= v < 1):
            raise InputError(f"{name}={v!r}: expected a relative uncertainty in [0, 1)")
    return Systematics(bkg_syst, lumi_syst)


EXECUTOR_OPTIONS = [
    click.option(
        "--executor",
        "executor_kind",
        type=click.Choice(list(EXECUTOR_KINDS)),
        default=None,
        help="Executor (default: processes, or dask with --dask-workers/--scheduler).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1, MAX_WORKERS),
        default=None,
        help="Local worker processes (default: all cores; 1 = serial, in this process).",
    ),
    click.option(
        "--dask-workers",
        type=click.IntRange(1, MAX_WORKERS),
        default=None,
        help="Run on a local Dask cluster of N worker processes.",
    ),
    click.option("--scheduler", default=None, help="Dask scheduler address (tcp://HOST:PORT): run there."),
]


def grouped(keyword: str, build: Callable[..., Any], options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Apply click ``options`` and hand the command one keyword ``keyword`` = ``build(**their values)``."""
    probe = stack(options)(lambda: None)
    names = [p.name for p in probe.__click_params__]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[keyword] = build(**{n: kwargs.pop(n) for n in names})
            return f(*args, **kwargs)

        return stack(options)(command)

    return decorate


def _analysis(**v: Any) -> Any:
    """The values of ``PHYSICS_OPTIONS`` (and ``LIMIT_OPTIONS``, else their defaults) as one ``AnalysisOptions``,
    which parses the choices."""
    from dipole_portal.analysis.tasks import AnalysisOptions

    limits = {k: v[k] for k in ("method", "binned", "calculator") if k in v}
    return AnalysisOptions(
        decay_model=v["decay_model"],
        n_modes=v["cc_modes"],
        events=v["events"],
        seed=v["seed"],
        detector_model=v["detector_model"],
        n_type=v["n_type"],
        syst=systematics(v.get("bkg_syst", 0.0), v.get("lumi_syst", 0.0)),
        cache=v["cache_dir"] or "",
        **limits,
    )


PHYSICS_OPTIONS = [
    decay_model_option,
    detector_model_option,
    n_type_option,
    cc_modes_option,
    events_option,
    seed_option,
    cache_option,
]
LIMIT_OPTIONS = [
    click.option(
        "--method",
        type=click.Choice([m.value for m in Method]),
        default=Method.CLS.value,
        show_default=True,
        help="chi2: the paper's S^2/(S+B) = 2.71; cls: pyhf CLs (the chi2 limit is always reported too).",
    ),
    click.option("--binned", is_flag=True, help="Binned in E_gamma x theta_gamma instead of one bin per channel."),
    click.option(
        "--calculator",
        type=click.Choice([c.value for c in Calculator]),
        default=Calculator.AUTO.value,
        show_default=True,
        help=f"CLs calculator; auto uses toys below {LOW_BACKGROUND:g} background events.",
    ),
    click.option(
        "--bkg-syst",
        type=float,
        default=0.0,
        show_default=True,
        help="Relative background normalisation uncertainty.",
    ),
    click.option("--lumi-syst", type=float, default=0.0, show_default=True, help="Relative luminosity uncertainty."),
]


def analysis_options(with_limits: bool) -> Callable[[Any], Any]:
    """The physics options (and, ``with_limits``, the statistics options) as one ``analysis`` keyword."""
    return grouped("analysis", _analysis, PHYSICS_OPTIONS + (LIMIT_OPTIONS if with_limits else []))


def _executor_spec(executor_kind: str | None, workers: int | None, dask_workers: int | None, scheduler: str | None):
    if dask_workers or scheduler:
        return ExecutorSpec("dask", dask_workers, scheduler)
    return ExecutorSpec(executor_kind or "processes", workers)


executor_options = grouped("executor", _executor_spec, EXECUTOR_OPTIONS)


def _finite_positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}={value!r}: expected a finite positive number")
    return value


def _parse_beams(text: str | None, sqrt_s: float):
    from dipole_portal.samples.kinematics import Beams

    _finite_positive("--sqrt-s", sqrt_s)
    if text is None:
        return Beams.symmetric_at(sqrt_s)
    try:
        e_minus, e_plus = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--beams={text!r}: expected E_MINUS,E_PLUS in GeV, e.g. 7,4") from None
    beams = Beams(e_minus, e_plus)
    if abs(beams.sqrt_s - sqrt_s) > SQRT_S_MATCH_GEV:
        raise InputError(f"--beams={text!r} gives sqrt(s) = {beams.sqrt_s:.4f} GeV, contradicting --sqrt-s {sqrt_s:g}")
    return beams


SAMPLE_SPEC_OPTIONS = [
    click.option(
        "--process",
        type=click.Choice([p.value for p in Process]),
        required=True,
        help="signal: e+e- -> N nubar, N -> nu gamma; nunugamma: SM e+e- -> nu nubar gamma.",
    ),
    click.option("--sqrt-s", type=float, required=True, help="CM energy in GeV."),
    click.option(
        "--beams",
        default=None,
        metavar="E_MINUS,E_PLUS",
        help="Beam energies in GeV for asymmetric beams (e.g. 7,4 for Belle II); the boost is kept in the "
        "metadata (branches stay in the CM frame; the selection boosts them).",
    ),
    click.option("--mass", type=float, default=None, help="N mass in GeV (signal only), 0 < m_N < sqrt(s)."),
    decay_model_option,
    click.option(
        "--d-ref", type=float, default=DEFAULT_D_REF, show_default=True, help="Reference coupling d in GeV^-1 (signal)."
    ),
    cc_modes_option,
    click.option(
        "--region",
        default=None,
        metavar="EMIN,EMAX,CMIN,CMAX",
        help="nunugamma: CM region in GeV and cos(theta) (default 0.05*sqrt(s), sqrt(s)/2, -0.95, 0.95).",
    ),
]


def _sample_spec(**v: Any) -> Any:
    """``generate``'s options as the generator's spec: a signal N of ``--mass`` or nu nubar gamma in ``--region``."""
    from dipole_portal.samples.generators import NuNuGammaSpec, SignalSpec
    from dipole_portal.samples.kinematics import PhaseSpaceRegion

    process, mass, region = v["process"], v["mass"], v["region"]
    b = _parse_beams(v["beams"], v["sqrt_s"])
    if process == "signal" and region is not None:
        raise InputError("--region applies to --process nunugamma only (signal is generated over full phase space)")
    if process == "nunugamma" and mass is not None:
        raise InputError("--mass applies to --process signal only")
    if process == "signal":
        if mass is None:
            raise InputError("--mass is required for --process signal")
        return SignalSpec(b, mass, d_ref=v["d_ref"], decay_model=v["decay_model"], n_modes=v["cc_modes"])
    if region is None:
        return NuNuGammaSpec(b, PhaseSpaceRegion(0.05 * b.sqrt_s, 0.5 * b.sqrt_s, -0.95, 0.95))
    try:
        return NuNuGammaSpec(b, PhaseSpaceRegion(*(float(x) for x in region.split(","))))
    except (TypeError, ValueError):
        raise InputError(f"--region={region!r}: expected four numbers EMIN,EMAX,CMIN,CMAX") from None


sample_spec_options = grouped("spec", _sample_spec, SAMPLE_SPEC_OPTIONS)


def _limit_source(**v: Any) -> Any:
    from dipole_portal.analysis.limit_sets import LimitSource

    return LimitSource(**v)


def _grid_request(**v: Any) -> Any:
    from dipole_portal.analysis.limit_sets import GridRequest

    return GridRequest(**v)


limit_source_options = grouped(
    "source",
    _limit_source,
    [
        click.option(
            "--yields",
            "yields_files",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="Yields files written by 'select' (repeatable; one scenario): limits from them alone.",
        ),
        click.option(
            "--scenario", default=None, help="Scenario name (instead of --yields: a mass grid, samples first)."
        ),
        scenarios_option,
    ],
)
grid_options = grouped(
    "grid",
    _grid_request,
    [
        click.option(
            "--masses",
            default=None,
            help="Comma-separated N masses in GeV (default: a grid that follows the curve: a log grid, points "
            "approaching sqrt(s), refined until neighbouring limits differ by < 25%).",
        ),
        click.option(
            "--n-masses",
            type=click.IntRange(1, MAX_MASSES),
            default=20,
            show_default=True,
            help="Points of the default grid's starting log grid.",
        ),
        click.option(
            "--refine/--no-refine",
            default=True,
            show_default=True,
            help="Refine the default grid where neighbouring limits differ by more than 25% (--no-refine: the "
            "log grid alone; steep intervals are then reported).",
        ),
        click.option(
            "--m-min", type=float, default=0.01, show_default=True, help="Lowest mass of the default grid (GeV)."
        ),
    ],
)


def _run_request(**v: Any) -> Any:
    from dipole_portal.analysis.pipeline import RunRequest

    return RunRequest(
        preset=v["preset"],
        scenarios_file=v["scenarios_file"],
        only=tuple(v["only"]),
        decay_model=DecayModel(v["decay_model"]),
        detector_model=DetectorModel(v["detector_model"]),
        seed=v["seed"],
    )


run_request_options = grouped(
    "request",
    _run_request,
    [
        click.option(
            "--preset",
            type=click.Choice(["fast", "paper"]),
            default="fast",
            show_default=True,
            help="paper: curves refined until neighbouring limits differ by < 20% (1 MeV to sqrt(s)), 1e5 "
            "events per sample; fast: 4 masses, 2e4 events.",
        ),
        scenarios_option,
        click.option("--scenario", "only", multiple=True, help="Restrict to these scenarios (repeatable)."),
        decay_model_option,
        detector_model_option,
        seed_option,
    ],
)
