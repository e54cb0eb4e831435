"""Benchmarks that print figures (never timed tests). ``python benchmarks/bench.py [--events N] [--only STAGE]``.

Stages: ``generate`` (events/s written and ratio to numpy's RNG floor), ``select`` (read-select-histogram
events/s and ratio to plain uproot reading), ``limits`` (seconds and hypotests per limit).
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
    from samples.generate import generate_to_root
    from samples.generators import DEFAULT_CHUNK, UNIFORMS_PER_EVENT, SignalSpec, chunk_plan
    from samples.kinematics import Beams

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--only", choices=["generate", "select", "limits"], default=None)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="dipole-bench-"))
    stages = [args.only] if args.only else ["generate", "select", "limits"]
    gen = None
    if "generate" in stages or "select" in stages:
        gen = bench_generate(args.events, workdir)
    if "select" in stages:
        from benchmarks_select import bench_select  # noqa: PLC0415

        bench_select(gen["path"])
    if "limits" in stages:
        from benchmarks_limits import bench_limits  # noqa: PLC0415

        bench_limits()


if __name__ == "__main__":
    main()
