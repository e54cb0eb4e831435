"""Tasks that chain the stages: samples -> selected samples -> yields file -> limit, each a cache entry.

This is the only place (with the pipeline and the command line) that knows how the stages follow each other.
A limit task asks for its yields; the yields ask for the selected samples of every energy point; a selected
sample asks for its sample file. Every step is an entry of the one content-addressed cache
(:mod:`dipole_portal.core.cache`), keyed on its inputs and on the code that computes it, with its checksum
verified on read, so a rerun recomputes exactly what changed, was damaged or is missing, and an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

from dipole_portal.analysis.allocation import signal_events
from dipole_portal.analysis.mass_grid import GridSpec, initial_grid, refine
from dipole_portal.core.cache import LIMIT_CODE, SELECTION_CODE, Cache
from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import Executor, SerialExecutor
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
    parse_option,
)
from dipole_portal.core.progress import log, progress_bar, warn
from dipole_portal.samples.cache import derived_seed, ensure_sample, sample_entry
from dipole_portal.samples.electroweak_physics import (
    BeamPolarisation,
    Electroweak,
    ElectroweakDipole,
    ElectroweakSignal,
)
from dipole_portal.samples.generators import NuNuGammaSpec, SignalSpec
from dipole_portal.selections.cuts import build_selection
from dipole_portal.selections.generation import detector_response, generation_region
from dipole_portal.selections.process import SampleResult, SelectedSample, process_sample
from dipole_portal.selections.yields import ChannelYield, ScenarioYields, check_mass
from dipole_portal.selections.yields_file import yields_from_record, yields_record
from dipole_portal.stats.limits import NO_SYST, LimitResult, compute_limit
from dipole_portal.stats.models import Systematics, build_spec

RESULT_FORMAT = 2


#: receives a selected sample's full result (histogram and cut-flow): energy point, process, result
OnResult = Callable[[EnergyPoint, str, SampleResult], None]

# -- samples ---------------------------------------------------------------------------------------------------


def background_sample(
    scenario: Scenario,
    point: EnergyPoint,
    seed: int,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
    smeared: bool = False,
) -> tuple[NuNuGammaSpec, int]:
    """The nu nubar gamma generator spec of one energy point (generated in the selection's box, widened for a
    smeared selection; the electroweak law with the point's polarisation where the scenario has Z exchange) and its
    seed."""
    law = None if scenario.electroweak is None else BeamPolarisation(*(point.polarisation or (0.0, 0.0)))
    spec = NuNuGammaSpec(point.beams, generation_region(scenario, point, smeared), constants, law)
    return spec, derived_seed(seed, "nunugamma", point.sqrt_s, point.beams.as_dict())


def electroweak_signal(
    scenario: Scenario, point: EnergyPoint, d_ref: float, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> ElectroweakSignal | None:
    """The signal law of a scenario with Z exchange at one energy point (its operator's d_Z at d_gamma = d_ref, the
    point's polarisation); None for the paper's photon-only physics."""
    setting = scenario.electroweak
    if setting is None:
        return None
    dipole = ElectroweakDipole.of_operator(d_ref, setting.operator, constants, setting.dz_over_dgamma)
    pol = BeamPolarisation(*(point.polarisation or (0.0, 0.0)))
    return ElectroweakSignal(dipole, Electroweak(pol=pol, constants=constants))


#: the decay model signal samples are generated with: every model and counting is this one sample reweighted
#: event by event (``selections.process.process_sample``); from isotropic every weight lies in [0, 2]
SAMPLE_DECAY_MODEL = DecayModel.ISOTROPIC


def signal_sample(
    point: EnergyPoint,
    mass: float,
    seed: int,
    d_ref: float = DEFAULT_D_REF,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> tuple[SignalSpec, int]:
    """The signal sample of one energy point and mass (one for every decay model and counting), and its seed."""
    spec = SignalSpec(
        point.beams, mass, d_ref=d_ref, decay_model=SAMPLE_DECAY_MODEL, n_modes=DEFAULT_CC_MODES, constants=constants
    )
    return spec, derived_seed(seed, "signal", point.sqrt_s, mass, str(SAMPLE_DECAY_MODEL), DEFAULT_CC_MODES)


@dataclass(frozen=True)
class SampleJob:
    """One sample file to make: what, with which seed and how many events, in which cache."""

    spec: SignalSpec | NuNuGammaSpec
    seed: int
    events: int
    cache: str

    def run(self) -> Path:
        return ensure_sample(self.spec, self.seed, self.events, Cache(self.cache))

    def cached(self) -> bool:
        return sample_entry(self.spec, self.seed, self.events, Cache(self.cache)).json_path.exists()


@dataclass(frozen=True)
class YieldsRequest:
    """Everything the yields of one (scenario, m_N, decay model, counting) depend on."""

    scenario: Scenario
    mass: float
    _: KW_ONLY
    decay_model: DecayModel = DEFAULT_DECAY_MODEL
    n_modes: int = DEFAULT_CC_MODES
    events: int = DEFAULT_EVENTS
    seed: int = DEFAULT_SEED
    d_ref: float = DEFAULT_D_REF
    background_events: int | None = None
    constants: PhysicsConstants = DEFAULT_CONSTANTS
    detector_model: DetectorModel = DEFAULT_DETECTOR_MODEL
    n_type: NType = DEFAULT_N_TYPE

    def __post_init__(self) -> None:
        check_mass(self.scenario, self.mass)  # a finite mass that some energy point can produce
        object.__setattr__(self, "decay_model", parse_option(DecayModel, self.decay_model, "decay model"))
        object.__setattr__(self, "detector_model", parse_option(DetectorModel, self.detector_model, "detector model"))
        object.__setattr__(self, "n_type", parse_option(NType, self.n_type, "N type"))
        if self.n_type == NType.MAJORANA:
            # a Majorana N's photon is isotropic in its rest frame (NType); the default model follows, others clash
            if self.decay_model not in (DEFAULT_DECAY_MODEL, DecayModel.ISOTROPIC):
                raise InputError(
                    f"decay model {self.decay_model!r} with a Majorana N: its photon is isotropic in "
                    "its rest frame; expected the default or isotropic"
                )
            object.__setattr__(self, "decay_model", DecayModel.ISOTROPIC)
        det = self.scenario.detector
        for needed, what in (
            (self.detector_model.decay_volume, "decay_volume"),
            (self.detector_model.resolution, "calorimeter_resolution"),
        ):
            if needed and getattr(det, what) is None:
                raise InputError(
                    f"scenario {self.scenario.name}: detector {det.name!r} has no {what} in the "
                    f"configuration; the {self.detector_model!r} detector model needs one"
                )
        for name in ("events", "seed", "n_modes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "seed" else 1):
                raise InputError(f"{name}={v!r}: expected a {'non-negative' if name == 'seed' else 'positive'} integer")
        if not (math.isfinite(self.d_ref) and self.d_ref > 0):
            raise InputError(f"d_ref={self.d_ref!r}: expected a finite positive coupling in GeV^-1")

    def key(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["scenario"] = self.scenario.as_dict()
        d["constants"] = self.constants.as_dict()
        return d

    def jobs(self, cache: Cache) -> list[tuple[EnergyPoint, SampleJob, SampleJob]]:
        """Per energy point: the signal and the nu nubar gamma sample it reads (signal events allocated across a
        combination's points by :func:`dipole_portal.analysis.allocation.signal_events`)."""
        points = check_mass(self.scenario, self.mass)
        n_signal = signal_events(self.scenario, points, self.mass, self.events, self.constants)
        out = []
        for point, n in zip(points, n_signal, strict=True):
            sig = signal_sample(point, self.mass, self.seed, self.d_ref, self.constants)
            bkg = background_sample(
                self.scenario, point, self.seed, self.constants, smeared=self.detector_model.resolution
            )
            out.append(
                (
                    point,
                    SampleJob(*sig, n, str(cache.root)),
                    SampleJob(*bkg, self.background_events or self.events, str(cache.root)),
                )
            )
        return out


def selected_sample(
    job: SampleJob,
    scenario: Scenario,
    point: EnergyPoint,
    process: str,
    cache: Cache,
    *,
    decay_model: DecayModel | None = None,
    n_modes: int | None = None,
    detector_model: DetectorModel = DEFAULT_DETECTOR_MODEL,
    on_result: OnResult | None = None,
    electroweak: ElectroweakSignal | None = None,
) -> SelectedSample:
    """The selection of one sample file (cached: nu nubar gamma is selected once for every mass), a signal
    sample reweighted to ``decay_model`` and counted with ``n_modes``. With a detector model beyond the paper's the
    cuts see the measured photon, and a signal sample's accepted events record their decay probabilities in the
    detector's decay volume; nu nubar gamma (prompt) differs from the paper's only with the resolution.

    ``on_result`` (histograms and cut-flows wanted, which the cache does not keep): the sample is selected again
    and ``on_result(point, process, result)`` receives the full result."""
    sample_key = sample_entry(job.spec, job.seed, job.events, cache).key
    key = {"sample": sample_key, "process": process, "scenario": scenario.as_dict(), "sqrt_s": point.sqrt_s}
    if point.polarisation is not None:
        key["polarisation"] = list(point.polarisation)
    if process == "signal":
        key |= {"decay_model": decay_model, "n_modes": n_modes}
        if electroweak is not None:
            key["electroweak"] = electroweak.as_dict()
    elif not detector_model.resolution:
        detector_model = DEFAULT_DETECTOR_MODEL  # a prompt photon from the collision point: the paper's selection
    response = detector_response(scenario, detector_model, job.seed)
    if response is not None:
        key["detector_model"] = detector_model
    entry = cache.entry("selected", key, SELECTION_CODE)
    stored = None if on_result else entry.load_json()
    if stored is not None:
        return SelectedSample.from_dict(stored)
    selection = build_selection(scenario, point)
    full = process_sample(
        job.run(),
        process,
        selection,
        decay_model=decay_model,
        n_modes=n_modes,
        response=response,
        electroweak=electroweak if process == "signal" else None,
    )
    if on_result:
        on_result(point, process, full)
    res = SelectedSample.from_result(full)
    entry.store_json(res.as_dict())
    return res


def _channel(
    request: YieldsRequest,
    cache: Cache,
    point: EnergyPoint,
    sig_job: SampleJob,
    bkg_job: SampleJob,
    on_result: OnResult | None,
) -> tuple[ChannelYield, dict[str, Any]]:
    """One energy point's yields from its selected samples, and the record of which samples they are."""
    from dipole_portal.selections.yields import channel_yield

    ew = electroweak_signal(request.scenario, point, request.d_ref, request.constants)
    sig = selected_sample(
        sig_job,
        request.scenario,
        point,
        "signal",
        cache,
        decay_model=request.decay_model,
        n_modes=request.n_modes,
        detector_model=request.detector_model,
        on_result=on_result,
        electroweak=ew,
    )
    bkg = selected_sample(
        bkg_job, request.scenario, point, "nunugamma", cache, detector_model=request.detector_model, on_result=on_result
    )
    channel = channel_yield(
        request.scenario,
        point,
        request.mass,
        request.d_ref,
        sig,
        bkg,
        constants=request.constants,
        # the N width over the Dirac photon width: a Majorana N's 2, and 1 / Br(nu gamma) above M_Z
        width_factor=request.n_type.width_factor / (1.0 if ew is None else ew.branching(request.mass)),
        polarisation=point.polarisation,
    )
    record = {
        "channel": point.label,
        "signal_sample": sample_entry(sig_job.spec, sig_job.seed, sig_job.events, cache).key,
        "nunugamma_sample": sample_entry(bkg_job.spec, bkg_job.seed, bkg_job.events, cache).key,
        "signal_events": sig_job.events,
        "nunugamma_events": bkg_job.events,
    }
    return channel, record


def compute_yields(
    request: YieldsRequest, cache: Cache | None = None, on_result: OnResult | None = None
) -> ScenarioYields:
    """The yields of a request, from the cache or from its (cached) selected samples; ``on_result`` receives
    every sample's full selection result (see :func:`selected_sample`)."""
    cache = cache or Cache()
    entry = cache.entry("yields", request.key(), SELECTION_CODE)
    stored = None if on_result else entry.load_json()
    if stored is not None:
        return yields_from_record(stored, f"cache entry yields/{entry.key}")
    channels, provenance = [], []
    for point, sig_job, bkg_job in request.jobs(cache):
        channel, record = _channel(request, cache, point, sig_job, bkg_job, on_result)
        channels.append(channel)
        provenance.append(record)
    y = ScenarioYields(
        request.scenario.name,
        request.mass,
        request.decay_model,
        request.n_modes,
        channels,
        {"samples": provenance, "seed": request.seed, "cache_entry": entry.key},
        str(request.detector_model),
        str(request.n_type),
    )
    entry.store_json(yields_record(y, request.scenario, request.constants))
    return y


# -- limits ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitTask(YieldsRequest):
    """Everything one limit depends on: its yields request and the statistics; ``cache`` is where its entries are
    kept, not part of what it is."""

    method: Method = Method.CLS
    binned: bool = False
    calculator: Calculator = Calculator.AUTO
    syst: Systematics = NO_SYST
    cache: str = ""

    @property
    def request(self) -> YieldsRequest:
        """The yields this limit is computed from."""
        return YieldsRequest(**{f.name: getattr(self, f.name) for f in dataclasses.fields(YieldsRequest)})

    def key(self) -> dict:
        """The JSON-able identity of the result."""
        d = {**self.request.key(), "method": self.method, "binned": self.binned, "calculator": self.calculator}
        d["syst"] = dataclasses.asdict(self.syst)
        d["format"] = RESULT_FORMAT
        return d

    def entry(self):
        return Cache(self.cache or None).entry("limits", self.key(), LIMIT_CODE)


@dataclass(frozen=True)
class TaskResult:
    """A limit task's result: the limit, the pyhf workspace with the signal at the limit, and what computing it
    cost: ``seconds`` (CPU seconds of selections and limit when it was computed; None if not recorded) and the
    cache keys of the sample files it read."""

    limit: LimitResult
    spec: dict
    seconds: float | None = None
    samples: tuple[str, ...] = ()


def load_cached(task: LimitTask) -> TaskResult | None:
    """The stored result of ``task`` if a valid entry exists; a damaged or implausible one is recomputed."""
    entry = task.entry()
    record = entry.load_record()
    if record is None:
        return None
    stored = record["content"]
    try:
        return TaskResult(
            LimitResult(**stored["result"]).validate(),
            stored["spec"],
            record.get("cpu_seconds"),
            tuple(stored.get("samples", ())),
        )
    except (TypeError, KeyError, ValueError) as exc:
        warn(f"cache entry limits/{entry.key} fails its checks ({exc}); recomputing it")
        entry.json_path.unlink(missing_ok=True)
        return None


def run_task(task: LimitTask) -> TaskResult:
    """Yields and limit for one task (from the cache when present); the pyhf spec has the signal at the limit."""
    cached = load_cached(task)
    if cached is not None:
        return cached
    t0 = time.process_time()  # CPU time of this process: what the report sums over workers
    y = compute_yields(task.request, Cache(task.cache or None))
    r = compute_limit(y, task.method, binned=task.binned, calculator=task.calculator, syst=task.syst).validate()
    spec = build_spec(y, r.d95, task.binned, task.syst)
    samples = sorted(
        {
            key
            for ch in y.provenance.get("samples", [])
            for key in (ch.get("signal_sample"), ch.get("nunugamma_sample"))
            if key
        }
    )
    seconds = time.process_time() - t0
    # the spec as a cached rerun reads it back (JSON, sorted keys): a cold and a warm run write the same bytes
    stored = task.entry().store_json({"result": r.as_dict(), "spec": spec, "samples": samples}, cpu_seconds=seconds)
    return TaskResult(r, stored["spec"], round(seconds, 4), tuple(samples))


def run_tasks(
    tasks: list[LimitTask],
    executor: Executor | None = None,
    description: str = "limits",
    cached: list[TaskResult | None] | None = None,
) -> list[TaskResult]:
    """Run ``tasks`` (cached ones are read, not recomputed) with a progress bar; results in task order.

    ``cached``: the ``load_cached`` results of ``tasks`` when the caller has already read them.
    """
    executor = executor or SerialExecutor()
    out: list = list(cached) if cached is not None else [load_cached(t) for t in tasks]
    # the longest first (a scenario's energy points are its channels: BESIII has 43), so that no long task starts
    # last and leaves the other workers idle; results still come back in task order
    todo = sorted((i for i, res in enumerate(out) if res is None), key=lambda i: -len(tasks[i].scenario.points))
    log(f"{description}: {len(todo)} to compute, {len(tasks) - len(todo)} cached")
    if todo:
        with progress_bar(f"{description} ({len(tasks) - len(todo)} cached)", len(todo)) as advance:
            for i, res in zip(todo, executor.map(run_task, [tasks[i] for i in todo], on_done=advance), strict=True):
                out[i] = res
    return out


@dataclass
class ScanResult:
    """A mass scan: limits in mass order, and each mass's pyhf workspace with the signal at its limit."""

    limits: list[LimitResult]
    specs: dict[float, dict]


@dataclass(frozen=True)
class AnalysisOptions:
    """How every limit of a scan is computed: all of a :class:`LimitTask` but its scenario and mass.

    The command line builds one from its options, the API from its keywords, and a scan makes its tasks from it:

    >>> from dipole_portal.core.config import get_scenario
    >>> task = AnalysisOptions(events=5_000, method="chi2").task(get_scenario("stcf-4gev"), 1.0)
    >>> task.events, task.method, task.decay_model
    (5000, <Method.CHI2: 'chi2'>, <DecayModel.EXACT: 'exact'>)
    """

    decay_model: DecayModel = DEFAULT_DECAY_MODEL
    n_modes: int = DEFAULT_CC_MODES
    events: int = DEFAULT_EVENTS
    seed: int = DEFAULT_SEED
    detector_model: DetectorModel = DEFAULT_DETECTOR_MODEL
    n_type: NType = DEFAULT_N_TYPE
    method: Method = Method.CLS
    binned: bool = False
    calculator: Calculator = Calculator.AUTO
    syst: Systematics = NO_SYST
    cache: str = ""  # the cache folder ("" = the default one)

    def __post_init__(self) -> None:
        for name, enum in (
            ("decay_model", DecayModel),
            ("detector_model", DetectorModel),
            ("n_type", NType),
            ("method", Method),
            ("calculator", Calculator),
        ):
            object.__setattr__(self, name, parse_option(enum, getattr(self, name), name))
        object.__setattr__(self, "cache", str(self.cache or ""))

    def task(self, scenario: Scenario, mass: float) -> LimitTask:
        """The limit task of ``scenario`` at ``mass`` GeV (checks the mass and the options)."""
        return LimitTask(scenario, float(mass), **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    def request(self, scenario: Scenario, mass: float) -> YieldsRequest:
        """The yields request of ``scenario`` at ``mass`` GeV."""
        return self.task(scenario, mass).request


def scan_masses(
    scenario: Scenario,
    masses: list[float],
    options: AnalysisOptions = AnalysisOptions(),  # noqa: B008 - frozen, so one shared default is safe
    executor: Executor | None = None,
) -> ScanResult:
    """Limits at each mass (cached), run by ``executor``."""
    if not masses:
        raise InputError(f"scan of {scenario.name}: no masses given")
    tasks = [options.task(scenario, m) for m in masses]
    done = run_tasks(tasks, executor, f"limits {scenario.name}")
    return ScanResult([d.limit for d in done], {t.mass: d.spec for t, d in zip(tasks, done, strict=True)})


def scan_following(
    scenario: Scenario,
    spec: GridSpec,
    options: AnalysisOptions = AnalysisOptions(),  # noqa: B008 - frozen, so one shared default is safe
    executor: Executor | None = None,
) -> ScanResult:
    """Limits on a grid that follows the curve (``mass_grid``): ``spec``'s initial grid, then refinement rounds
    until neighbouring limits differ by less than ``spec.max_ratio`` (or ``spec.max_rounds`` are done).

    Each round's new masses are one :func:`scan_masses` (cached ones are read).
    """
    thresholds = sorted({p.sqrt_s for p in scenario.points})
    limits: dict[float, LimitResult] = {}
    specs: dict[float, dict] = {}
    todo = initial_grid(thresholds, spec)
    for _ in range(spec.max_rounds + 1):
        if not todo:
            break
        res = scan_masses(scenario, todo, options, executor)
        limits.update({r.mass_GeV: r for r in res.limits})
        specs.update(res.specs)
        grid = sorted(limits)
        todo = refine(grid, [limits[m].d95 for m in grid], thresholds, spec)
    grid = sorted(limits)
    return ScanResult([limits[m] for m in grid], {m: specs[m] for m in grid})


def yields_for(
    scenario: Scenario,
    mass: float,
    *,
    decay_model: DecayModel = DEFAULT_DECAY_MODEL,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    cache: str | Path | Cache | None = None,
    n_modes: int = DEFAULT_CC_MODES,
    d_ref: float = DEFAULT_D_REF,
    background_events: int | None = None,
) -> ScenarioYields:
    """Yields of ``scenario`` at ``mass`` GeV: samples made and selected as needed (all cached)."""
    c = cache if isinstance(cache, Cache) else Cache(cache)
    req = YieldsRequest(
        scenario,
        mass,
        decay_model=DecayModel(decay_model),
        n_modes=n_modes,
        events=events,
        seed=seed,
        d_ref=d_ref,
        background_events=background_events,
    )
    return compute_yields(req, c)
