"""Benchmarks that print figures (never timed tests). ``python benchmarks/bench.py [--events N] [--only STAGE]``.

Stages: ``generate`` (events/s written and ratio to numpy's RNG floor), ``select`` (read-select-histogram
events/s and ratio to plain uproot reading), ``limits`` (seconds and hypotests per limit, against pyhf's
stock ``upper_limits``), ``scan`` (60 masses x 8 scenarios, chi2 + counting CLs, 2 workers) and ``e2e``
(the ``paper`` preset from an empty cache with 1 and 2 worker processes and a Dask LocalCluster, then
from a full cache).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def bench_generate(events: int, workdir: Path) -> dict:
    """Signal at Belle II (asymmetric beams, 18 branches), one core, ZSTD level 1."""
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import DEFAULT_CHUNK, UNIFORMS_PER_EVENT, SignalSpec, chunk_plan
    from dipole_portal.samples.kinematics import Beams

    spec = SignalSpec(Beams(7.0, 4.0), 1.0)
    path = workdir / "bench_signal.root"
    t0 = time.perf_counter()
    generate_to_root(spec, path, seed=1, events=events)
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    for seq, n in chunk_plan(1, events, DEFAULT_CHUNK):
        np.random.default_rng(seq).random((UNIFORMS_PER_EVENT["signal"], n))
    t_rng = time.perf_counter() - t0
    res = {
        "events": events,
        "seconds": t_write,
        "events_per_s": events / t_write,
        "rng_floor_events_per_s": events / t_rng,
        "ratio_to_floor": t_write / t_rng,
        "file_MB": path.stat().st_size / 1e6,
        "path": path,
    }
    print(f"generate: {events:.2e} signal events in {t_write:.2f} s = {res['events_per_s'] / 1e6:.2f} M ev/s written "
          f"({res['file_MB']:.0f} MB); numpy RNG floor {res['rng_floor_events_per_s'] / 1e6:.1f} M ev/s; "
          f"ratio {res['ratio_to_floor']:.1f}x")
    return res


def bench_select(path: Path) -> dict:
    """Read -> select (Belle II bBG, vector boosts) -> histogram, against plain uproot reading of the same branches."""
    import uproot

    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.process import process_sample
    from dipole_portal.selections.reader import READ_BRANCHES

    sc = get_scenario("belle2-bbg")
    sel = build_selection(sc, sc.points[0])
    t0 = time.perf_counter()
    for _ in uproot.iterate(f"{path}:events", list(READ_BRANCHES), step_size=1_000_000, library="np"):
        pass
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = process_sample(path, "signal", sel)
    t_sel = time.perf_counter() - t0
    n = res.cutflow.events[0]
    print(f"select: {n:.2e} events read+selected+histogrammed in {t_sel:.2f} s = {n / t_sel / 1e6:.2f} M ev/s; "
          f"plain uproot read {n / t_read / 1e6:.2f} M ev/s; ratio {t_sel / t_read:.2f}x")
    return {"events_per_s": n / t_sel, "read_floor_events_per_s": n / t_read, "ratio": t_sel / t_read}


def bench_limits(masses: int = 10) -> dict:
    """Seconds and hypotests per limit (chi2 + counting CLs), and pyhf's stock upper_limits on the same model."""
    import numpy as np

    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import load_scenarios
    from dipole_portal.stats.cls import pyhf_stock_upper_limit
    from dipole_portal.stats.limits import compute_limit
    from dipole_portal.stats.models import build_spec

    workdir = Path(tempfile.mkdtemp(prefix="dipole-bench-limits-"))
    times, tests, stock_t, stock_n = [], [], [], []
    for name, sc in load_scenarios().items():
        if name == "bes3":
            continue  # 43 channels: timed separately below
        for m in np.geomspace(0.05, 0.9 * sc.max_sqrt_s, masses):
            y = yields_for(sc, float(m), events=20_000, cache=workdir)
            t0 = time.perf_counter()
            r = compute_limit(y, "cls")
            times.append(time.perf_counter() - t0)
            tests.append(r.hypotests)
            spec = build_spec(y, r.d95_chi2)
            t0 = time.perf_counter()
            _, n = pyhf_stock_upper_limit(spec, hi=5.0)
            stock_t.append(time.perf_counter() - t0)
            stock_n.append(n)
    sc = load_scenarios()["bes3"]
    y = yields_for(sc, 1.0, events=20_000, cache=workdir)
    t0 = time.perf_counter()
    rb = compute_limit(y, "cls")
    t_bes3 = time.perf_counter() - t0
    print(f"limits: {len(times)} single-channel limits (chi2 + counting CLs): {np.mean(times):.3f} s/limit, "
          f"{np.mean(tests):.1f} hypotests/limit; pyhf upper_limits (41-point linear scan): "
          f"{np.mean(stock_t):.3f} s/limit, {np.mean(stock_n):.0f} hypotests/limit; ratio "
          f"{np.mean(stock_t) / np.mean(times):.1f}x")
    print(f"limits: bes3 (43 channels, {rb.calculator}) at m_N = 1 GeV: {t_bes3:.1f} s, {rb.hypotests} CLs evaluations")
    return {"s_per_limit": float(np.mean(times)), "hypotests": float(np.mean(tests))}


def bench_scan(n_masses: int = 60, workers: int = 2, events: int = 20_000) -> dict:
    """A 60-mass scan of all eight scenarios (chi2 and counting CLs) from an empty cache."""
    from dipole_portal.analysis.mass_grid import log_grid
    from dipole_portal.analysis.tasks import LimitTask, run_tasks
    from dipole_portal.core.config import load_scenarios
    from dipole_portal.core.executors import make_executor

    workdir = Path(tempfile.mkdtemp(prefix="dipole-bench-scan-"))
    tasks = [LimitTask(sc, m, events=events, cache=str(workdir))
             for sc in load_scenarios().values() for m in log_grid(sc.max_sqrt_s, n_masses)]
    t0 = time.perf_counter()
    with make_executor("processes", workers) as ex:
        res = run_tasks(tasks, ex, "scan")
    dt = time.perf_counter() - t0
    tests = np.mean([r.hypotests for r, _ in res])
    print(f"scan: {n_masses} masses x 8 scenarios = {len(tasks)} limits (chi2 + counting CLs, {events:.0e} events per "
          f"sample, samples generated too) with {workers} workers: {dt:.1f} s; {tests:.1f} CLs evaluations per limit")
    return {"seconds": dt, "limits": len(tasks), "hypotests": float(tests)}


def bench_e2e(preset: str = "paper") -> dict:
    """``python -m dipole_portal run --preset paper`` from an empty cache: 1, 2 workers and a Dask LocalCluster."""
    import subprocess
    import sys

    out = {}
    env = {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"}
    runs = (("1 worker", ["--workers", "1"]), ("2 workers", ["--workers", "2"]),
            ("Dask LocalCluster, 2 workers", ["--dask-workers", "2"]))
    for label, args in runs:
        folder = tempfile.mkdtemp(prefix="dipole-bench-e2e-")
        cmd = [sys.executable, "-m", "dipole_portal", "run", "--preset", preset, "--output", folder, *args]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        out[label] = time.perf_counter() - t0
        print(f"e2e: run --preset {preset}, empty cache, {label}: {out[label]:.1f} s", flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    out["full cache"] = time.perf_counter() - t0
    print(f"e2e: run --preset {preset}, full cache: {out['full cache']:.1f} s")
    return out


STAGES = ("generate", "select", "limits", "scan", "e2e")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--only", choices=STAGES, default=None)
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="dipole-bench-"))
    stages = [args.only] if args.only else list(STAGES)
    gen = None
    if "generate" in stages or "select" in stages:
        gen = bench_generate(args.events, workdir)
    if "select" in stages:
        bench_select(gen["path"])
    if "limits" in stages:
        bench_limits()
    if "scan" in stages:
        bench_scan()
    if "e2e" in stages:
        bench_e2e()


if __name__ == "__main__":
    main()
