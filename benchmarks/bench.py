"""Benchmarks that print figures (never timed tests): each figure beside its floor or peer, and the ratio.

``python benchmarks/bench.py [--json FILE] [--only STAGE ...] [--events N] [--executors]``

Stages:

- ``generate``: signal events generated and written to ROOT per second, against the floor of drawing the same
  uniforms with numpy (``generate_vs_rng``: time / floor);
- ``select``: read + reweight + select + histogram per second, against plain ``uproot`` reading of the branches
  the selection reads (``select_vs_uproot``: time / read);
- ``limits``: our expected CLs limits against pyhf's own ``upper_limit(scan=None)`` root finding (TOMS748, same
  relative tolerance) on the same models: single-channel counting at B = 300 and 3000 events (asymptotic), and a
  43-channel counting model with 0.2 background events (toys; pyhf's cost per toy measured and scaled to our 30000
  toys, see :func:`pyhf_toy_limit_seconds`) (``limit_vs_pyhf``: pyhf time / ours, the smallest of the three);
- ``scan``: 60 masses x 8 scenarios from an empty cache, 2 workers;
- ``e2e``: ``run --preset paper`` from an empty cache (2 workers), again from the full cache, the cache's size
  after it, the peak resident memory of the run (main process and workers together, sampled from ``/proc``), and
  ``run --preset fast`` from an empty cache; ``--executors`` adds 1 worker and a Dask LocalCluster;
- ``tests``: the whole test suite and its quick subset (``-m quick``), each timed as one ``python -m pytest``.
  ``bench_total_s`` is every other stage.

``--json FILE`` writes the same rows as ``{"rows": [{"name", "value", "unit", "floor", "ratio", "target"}]}``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


@dataclass
class Row:
    """One figure: its value and unit, the floor or peer it is measured against, the ratio and the target."""

    name: str
    value: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    target: str = ""

    def line(self) -> str:
        floor = "" if self.floor is None else f"{self.floor:.4g}"
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        return f"{self.name:<24}{self.value:>12.4g} {self.unit:<12}{floor:>12} {ratio:>12}   {self.target}"


def bench_generate(events: int, workdir: Path) -> tuple[list[Row], Path]:
    """Signal at Belle II (asymmetric beams), one core, ZSTD level 1, against numpy's uniforms for it."""
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import DEFAULT_CHUNK, UNIFORMS_PER_EVENT, SignalSpec, chunk_plan
    from dipole_portal.samples.kinematics import Beams

    spec = SignalSpec(Beams(7.0, 4.0), 1.0, decay_model="isotropic")
    path = workdir / "bench_signal.root"
    t0 = time.perf_counter()
    generate_to_root(spec, path, seed=1, events=events)
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    for seq, n in chunk_plan(1, events, DEFAULT_CHUNK):
        np.random.default_rng(seq).random((UNIFORMS_PER_EVENT["signal"], n))
    t_rng = time.perf_counter() - t0
    mb = path.stat().st_size / 1e6
    print(f"generate: {events:.2e} events in {t_write:.2f} s, {mb:.0f} MB ({mb * 1e6 / events:.1f} bytes/event)")
    return [
        Row("generate_vs_rng", events / t_write / 1e6, "M events/s", events / t_rng / 1e6, t_write / t_rng, "<= 5x"),
        Row("sample_bytes_per_event", mb * 1e6 / events, "bytes"),
    ], path


def bench_select(path: Path) -> list[Row]:
    """Read -> reweight to ``exact`` -> select (Belle II bBG, vector boosts) -> histogram, against plain uproot
    reading of the same branches."""
    import uproot

    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.process import process_sample
    from dipole_portal.selections.reader import N_BRANCHES, READ_BRANCHES

    sc = get_scenario("belle2-bbg")
    sel = build_selection(sc, sc.points[0])
    t0 = time.perf_counter()
    for _ in uproot.iterate(f"{path}:events", [*READ_BRANCHES, *N_BRANCHES], step_size=1_000_000, library="np"):
        pass
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = process_sample(path, "signal", sel, decay_model="exact")
    t_sel = time.perf_counter() - t0
    n = res.cutflow.events[0]
    return [Row("select_vs_uproot", n / t_sel / 1e6, "M events/s", n / t_read / 1e6, t_sel / t_read, "<= 1.5x")]


def counting_spec(signal: np.ndarray, background: np.ndarray) -> dict:
    """A pyhf workspace of counting channels and Asimov background-only data; each background carries a 0.1%
    MC-statistics error (``staterror``, as the analysis's models do; pyhf's fits need a free parameter besides
    mu), so it is fixed in all but name."""
    mu = [{"name": "mu", "type": "normfactor", "data": None}]
    names = [f"c{i}" for i in range(len(signal))]
    chans = [
        {
            "name": n,
            "samples": [
                {"name": "signal", "data": [float(s)], "modifiers": mu},
                {
                    "name": "background",
                    "data": [float(b)],
                    "modifiers": [{"name": f"staterror_{n}", "type": "staterror", "data": [1e-3 * float(b)]}],
                },
            ],
        }
        for n, s, b in zip(names, signal, background, strict=True)
    ]
    obs = [{"name": n, "data": [float(b)]} for n, b in zip(names, background, strict=True)]
    return {
        "channels": chans,
        "observations": obs,
        "version": "1.0.0",
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }


def pyhf_toy_limit_seconds(spec: dict, mu: float, ntoys: int) -> tuple[float, int, float]:
    """What pyhf's toy-based ``upper_limit(scan=None)`` would take with ``ntoys`` toys: a full run is out of reach
    (about a second per toy with 43 channels), so one hypotest is timed at 4 and 12 toys, which gives its fixed
    cost and its cost per toy, and multiplied by the hypotests TOMS748 needs on the same model (counted with the
    asymptotic calculator). Returns (seconds, hypotests, seconds per toy)."""
    import pyhf

    from dipole_portal.stats.cls import pyhf_upper_limit
    from dipole_portal.stats.pyhf_setup import pyhf_backend

    _, n = pyhf_upper_limit(spec, rtol=2e-3)
    times = {}
    with pyhf_backend():
        model = pyhf.Workspace(spec).model()
        data = pyhf.Workspace(spec).data(model)
        for k in (4, 12):
            t0 = time.perf_counter()
            pyhf.infer.hypotest(
                mu, data, model, calctype="toybased", ntoys=k, track_progress=False, return_expected_set=True
            )
            times[k] = time.perf_counter() - t0
    per_toy = max(times[12] - times[4], 0.0) / 8
    return n * (times[4] - 4 * per_toy + ntoys * per_toy), n, per_toy


def bench_limits() -> list[Row]:
    """Our expected limits against pyhf's TOMS748 ``upper_limit(scan=None)`` on the same counting models."""
    from dipole_portal.stats.cls import asymptotic_limits, pyhf_upper_limit, toy_limits

    rows, ratios = [], []
    for b in (300.0, 3000.0):
        spec = counting_spec(np.array([2.5 * np.sqrt(b)]), np.array([b]))  # the limit near mu = 1
        reps = 5
        t0 = time.perf_counter()
        for _ in range(reps):
            ours = asymptotic_limits(spec, guess=1.0)
        t_ours = (time.perf_counter() - t0) / reps
        t0 = time.perf_counter()
        theirs, n = pyhf_upper_limit(spec, rtol=2e-3)
        t_pyhf = time.perf_counter() - t0
        assert np.allclose(ours.bands, theirs, rtol=1e-2), (ours.bands, theirs)  # the same limits
        print(
            f"limits: counting B = {b:g}: ours {t_ours:.3f} s ({ours.hypotests} CLs evaluations), pyhf TOMS748 "
            f"{t_pyhf:.3f} s ({n} hypotests); median mu {ours.bands[2]:.4f} vs {theirs[2]:.4f}"
        )
        rows.append(Row(f"limit_vs_pyhf_B{b:g}", t_ours, "s/limit", t_pyhf, t_pyhf / t_ours, ">= 5x"))
        ratios.append(t_pyhf / t_ours)
    rng = np.random.default_rng(1)
    share = rng.dirichlet(np.ones(43))
    s, b = 3.0 * share, 0.2 * rng.dirichlet(np.ones(43))
    t0 = time.perf_counter()
    ours = toy_limits(s, b, guess=1.0, ntoys=30_000)
    t_ours = time.perf_counter() - t0
    t_pyhf, n, per_toy = pyhf_toy_limit_seconds(counting_spec(s, b), ours.bands[2], 30_000)
    print(
        f"limits: 43 channels, B = 0.2, toys: ours {t_ours:.2f} s with 30000 toys ({ours.hypotests} CLs "
        f"evaluations); pyhf: {per_toy * 1e3:.0f} ms per toy, x 30000 toys x {n} TOMS748 hypotests = {t_pyhf:.0f} s"
    )
    rows.append(Row("limit_vs_pyhf_toys43", t_ours, "s/limit", t_pyhf, t_pyhf / t_ours, ">= 5x"))
    ratios.append(t_pyhf / t_ours)
    worst = min(range(len(ratios)), key=ratios.__getitem__)
    rows.append(
        Row(
            "limit_vs_pyhf",
            rows[worst].value,
            "s/limit",
            rows[worst].floor,
            ratios[worst],
            ">= 5x (the smallest of the three)",
        )
    )
    return rows


def bench_scan(n_masses: int = 60, workers: int = 2, events: int = 20_000) -> list[Row]:
    """A 60-mass scan of all eight scenarios (chi2 and counting CLs) from an empty cache."""
    from dipole_portal.analysis.mass_grid import log_grid
    from dipole_portal.analysis.pipeline import make_samples
    from dipole_portal.analysis.tasks import LimitTask, run_tasks
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.config import load_scenarios
    from dipole_portal.core.executors import make_executor

    workdir = Path(tempfile.mkdtemp(prefix="dipole-bench-scan-"))
    tasks = [
        LimitTask(sc, m, events=events, cache=str(workdir))
        for sc in load_scenarios().values()
        for m in log_grid(sc.max_sqrt_s, n_masses)
    ]
    t0 = time.perf_counter()
    with make_executor("processes", workers) as ex:
        make_samples(tasks, ex, Cache(workdir))
        run_tasks(tasks, ex, "scan")
    dt = time.perf_counter() - t0
    shutil.rmtree(workdir, ignore_errors=True)
    return [Row("scan_60x8_s", dt, "s", None, None, "<= 60 s")]


def _tree_rss_bytes(pid: int) -> int:
    """The resident memory of ``pid`` and all its descendants (Linux ``/proc``; 0 elsewhere)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        p = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(p)  # field 4 of stat: the parent's pid
        rss[p] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: resident pages
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def _run_measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``cmd`` to the end: its wall seconds and the peak resident memory of its process tree in MB (the
    command and its workers together, sampled every 0.1 s)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_bytes(proc.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{err[-2000:]}")
    return seconds, peak / 1e6


def _run_preset(preset: str, args: list[str], folder: str) -> tuple[float, float]:
    cmd = [
        sys.executable,
        "-m",
        "dipole_portal",
        "run",
        "--preset",
        preset,
        "--output",
        folder,
        "--cache",
        os.path.join(folder, "cache"),
        *args,
    ]
    return _run_measured(cmd, {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"})


def _size_gb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e9


def bench_e2e(executors: bool = False, keep: Path | None = None) -> list[Row]:
    """The presets end to end, each in a fresh output folder and cache; ``keep``: leave the paper run there."""
    rows = []

    def new_folder(label: str) -> str:
        if keep:
            (keep / label).mkdir(parents=True)
            return str(keep / label)
        return tempfile.mkdtemp(prefix=f"dipole-bench-{label}-")

    folder = new_folder("paper")
    cold, rss = _run_preset("paper", ["--workers", "2"], folder)
    warm, _ = _run_preset("paper", ["--workers", "2"], folder)
    cache_gb = _size_gb(Path(folder) / "cache")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    rows += [
        Row("paper_cold_s", cold, "s", None, None, "<= 60 s"),
        Row("paper_warm_s", warm, "s", None, None, "<= 3 s"),
        Row("paper_cache_GB", cache_gb, "GB", None, None, "<= 1 GB (the whole cache, default limit)"),
        Row("paper_rss_MB", rss, "MB", None, None, "<= 1000 MB (main process and workers together)"),
    ]
    folder = tempfile.mkdtemp(prefix="dipole-bench-fast-")
    rows.append(Row("fast_cold_s", _run_preset("fast", ["--workers", "2"], folder)[0], "s", None, None, "<= 15 s"))
    shutil.rmtree(folder, ignore_errors=True)
    if executors:
        for name, args in (
            ("paper_cold_1worker_s", ["--workers", "1"]),
            ("paper_cold_dask2_s", ["--dask-workers", "2"]),
        ):
            folder = new_folder(name.removesuffix("_s"))
            rows.append(Row(name, _run_preset("paper", args, folder)[0], "s", cold, None, "(2 processes as floor)"))
            rows[-1].ratio = rows[-1].value / cold
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
    return rows


def bench_tests() -> list[Row]:
    """The test suite as CI runs it (``python -m pytest``) and its quick subset (``-m quick``), from the
    repository root, each timed end to end."""
    root = Path(__file__).resolve().parent.parent
    rows = []
    for name, extra, target in (("tests_full_s", [], "<= 300 s"), ("tests_quick_s", ["-m", "quick"], "<= 60 s")):
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(root / "tests")]
        seconds, _ = _run_measured(cmd, {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"})
        rows.append(Row(name, seconds, "s", None, None, target))
    return rows


STAGES = ("generate", "select", "limits", "scan", "e2e", "tests")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=5_000_000, help="events for generate/select (default 5e6)")
    ap.add_argument("--only", choices=STAGES, nargs="+", default=None, help="run only these stages")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    ap.add_argument("--executors", action="store_true", help="also time the paper preset with 1 worker and Dask")
    ap.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="run the paper preset(s) into sub-folders of this (new) folder and keep them",
    )
    args = ap.parse_args()
    stages = args.only or list(STAGES)
    workdir = Path(tempfile.mkdtemp(prefix="dipole-bench-"))
    rows: list[Row] = []
    t_start = time.perf_counter()
    try:
        if "generate" in stages or "select" in stages:
            gen_rows, path = bench_generate(args.events, workdir)
            rows += gen_rows
            if "select" in stages:
                rows += bench_select(path)
        if "limits" in stages:
            rows += bench_limits()
        if "scan" in stages:
            rows += bench_scan()
        if "e2e" in stages:
            if args.keep and args.keep.exists():
                ap.error(f"--keep {args.keep}: expected a folder that does not exist yet")
            rows += bench_e2e(args.executors, args.keep)
        bench_s = time.perf_counter() - t_start
        if "tests" in stages:
            rows += bench_tests()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows.append(Row("bench_total_s", bench_s, "s", None, None, "<= 300 s (every stage but the tests)"))
    print(f"\n{'figure':<24}{'value':>12} {'unit':<12}{'floor/peer':>12} {'ratio':>12}   target")
    for r in rows:
        print(r.line())
    if args.json:
        from dipole_portal.core.atomic import write_json_atomic

        write_json_atomic(
            args.json,
            {"rows": [asdict(r) for r in rows], "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}},
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
