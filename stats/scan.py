"""Mass scans: one task per (scenario, m_N, decay model, cc counting), run by any executor, cached on disk.

A task's result (the limit and the pyhf workspace at the limit) is stored as JSON under a content hash of
everything that determines it: the scenario definition (energies, luminosities, cuts), m_N, the decay model,
the counting, MC statistics and seed, the statistical method, the physics constants and the package version.
A result file appears only when complete (atomic write) and repeats its key, so an interrupted scan resumes
by recomputing only the missing tasks, and a file is trusted only if its key matches.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from analysis import __version__
from analysis.atomic import write_json_atomic
from analysis.config import Scenario
from analysis.constants import DEFAULT_CONSTANTS, PhysicsConstants
from analysis.executors import Executor, SerialExecutor
from analysis.progress import log, progress_bar
from samples.cache import content_hash
from selections.yields import compute_yields
from stats.limits import NO_SYST, LimitResult, compute_limit
from stats.models import Systematics, build_spec

RESULT_FORMAT = 1


@dataclass(frozen=True)
class LimitTask:
    """Everything one limit depends on; ``workdir`` holds the sample cache and the result cache."""

    scenario: Scenario
    mass: float
    decay_model: str = "helicity"
    n_modes: int = 2
    events: int = 100_000
    seed: int = 1
    method: str = "cls"
    binned: bool = False
    calculator: str = "auto"
    syst: Systematics = NO_SYST
    workdir: str = ".cache"
    constants: PhysicsConstants = DEFAULT_CONSTANTS

    def key(self) -> dict:
        """The JSON-able identity of the result (the workdir is where it is kept, not what it is)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "workdir"}
        d["scenario"] = dataclasses.asdict(self.scenario)
        d["syst"] = dataclasses.asdict(self.syst)
        d["constants"] = self.constants.as_dict()
        d["version"] = __version__
        d["format"] = RESULT_FORMAT
        return json.loads(json.dumps(d, default=str))

    def result_path(self) -> Path:
        return Path(self.workdir) / "limits" / f"{self.scenario.name}_{content_hash(self.key())}.json"


def load_cached(task: LimitTask) -> tuple[LimitResult, dict] | None:
    """The stored result of ``task`` if a complete file with the same key exists, else None."""
    path = task.result_path()
    try:
        stored = json.loads(path.read_text())
        if stored.get("key") != task.key():
            return None
        return LimitResult(**stored["result"]), stored["spec"]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def run_task(task: LimitTask) -> tuple[LimitResult, dict]:
    """Yields and limit for one task (from the cache when present); the pyhf spec has the signal at the limit."""
    cached = load_cached(task)
    if cached is not None:
        return cached
    y = compute_yields(task.scenario, task.mass, task.decay_model, task.events, task.seed, Path(task.workdir),
                       n_modes=task.n_modes, constants=task.constants)
    r = compute_limit(y, task.method, task.binned, task.calculator, task.syst)
    spec = build_spec(y, r.d95, task.binned, task.syst)
    path = task.result_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"key": task.key(), "result": r.as_dict(), "spec": spec})
    return r, spec


def run_tasks(tasks: list[LimitTask], executor: Executor | None = None, description: str = "limits",
              cached: list[tuple[LimitResult, dict] | None] | None = None) -> list[tuple[LimitResult, dict]]:
    """Run ``tasks`` (cached ones are read, not recomputed) with a progress bar; results in task order.

    ``cached``: the ``load_cached`` results of ``tasks`` when the caller has already read them.
    """
    executor = executor or SerialExecutor()
    out: list = list(cached) if cached is not None else [load_cached(t) for t in tasks]
    todo = [i for i, res in enumerate(out) if res is None]
    log(f"{description}: {len(todo)} to compute, {len(tasks) - len(todo)} cached")
    if todo:
        with progress_bar(f"{description} ({len(tasks) - len(todo)} cached)", len(todo)) as advance:
            for i, res in zip(todo, executor.map(run_task, [tasks[i] for i in todo], on_done=advance), strict=True):
                out[i] = res
    return out


def scan_masses(
    scenario: Scenario, masses: list[float], decay_model: str = "helicity", events: int = 100_000, seed: int = 1,
    workdir: str | Path = ".cache", n_modes: int = 2, method: str = "cls", binned: bool = False,
    calculator: str = "auto", syst: Systematics = NO_SYST, executor: Executor | None = None,
) -> tuple[list[LimitResult], dict[float, dict]]:
    """Limits at each mass, and each mass's workspace with the signal at its limit (for the patchset)."""
    tasks = [LimitTask(scenario, float(m), decay_model, n_modes, events, seed, method, binned, calculator, syst,
                       str(workdir)) for m in masses]
    done = run_tasks(tasks, executor, f"limits {scenario.name}")
    return [r for r, _ in done], {t.mass: spec for t, (_, spec) in zip(tasks, done, strict=True)}
