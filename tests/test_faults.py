"""Faults: a full disk (simulated), a killed process and damaged cache entries never leave a truncated file under a
final name, nor a cache entry that a later run would trust."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import uproot

from dipole_portal.analysis.cli import main
from dipole_portal.analysis.tasks import LimitTask, load_cached, run_task
from dipole_portal.core import atomic
from dipole_portal.core.cache import Cache
from dipole_portal.core.config import get_scenario
from dipole_portal.samples.cache import ensure_sample, sample_entry
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.samples.kinematics import Beams


def _disk_full(monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync)


def _final_files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_full_disk_while_caching_a_limit(tmp_path, monkeypatch):
    task = LimitTask(get_scenario("stcf-2gev"), 0.5, events=5_000, cache=str(tmp_path))
    _disk_full(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        run_task(task)
    assert not task.entry().json_path.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # not even a temporary file is left
    monkeypatch.undo()
    assert load_cached(task) is None
    r = run_task(task).limit
    assert load_cached(task).limit == r


def test_full_disk_while_writing_a_sample(tmp_path, monkeypatch):
    spec = SignalSpec(Beams.symmetric_at(4.0), 1.0)
    _disk_full(monkeypatch)
    with pytest.raises(OSError):
        ensure_sample(spec, 1, 50_000, Cache(tmp_path))
    assert not sample_entry(spec, 1, 50_000, Cache(tmp_path)).file_path("root").exists()
    assert _final_files(tmp_path) == []


def test_full_disk_at_the_command_line_keeps_earlier_tables(tmp_path, monkeypatch):
    out = tmp_path / "o"
    args = [
        "limits",
        "--scenario",
        "stcf-2gev",
        "--masses",
        "0.5",
        "--events",
        "5000",
        "--workers",
        "1",
        "--cache",
        str(tmp_path / "w"),
        "--output",
        str(out),
    ]
    assert main(args) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _disk_full(monkeypatch)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([*args[:4], "0.6", *args[5:]])
    assert code == 1
    assert err.getvalue().strip().splitlines()[-1] == "error: No space left on device"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_killed_generation_leaves_no_file_under_the_final_name(tmp_path):
    final = tmp_path / "big.root"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "generate",
            "--process",
            "signal",
            "--sqrt-s",
            "4",
            "--mass",
            "1",
            "--events",
            "20000000",
            "--seed",
            "1",
            "--output",
            str(final),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".dpp-big.root.") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not final.exists()


def test_damaged_cache_entries_are_not_trusted(tmp_path):
    task = LimitTask(get_scenario("stcf-2gev"), 0.5, events=5_000, cache=str(tmp_path))
    r = run_task(task).limit
    path = task.entry().json_path
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # truncated under the final name (e.g. by another tool)
    assert load_cached(task) is None
    stored = json.loads(text)
    stored["inputs"]["mass"] = 0.6  # a complete entry for another task copied over this one
    path.write_text(json.dumps(stored))
    assert load_cached(task) is None
    assert run_task(task).limit == r
    # a truncated sample under its final name is regenerated, not read
    spec = SignalSpec(Beams.symmetric_at(4.0), 1.0)
    p = ensure_sample(spec, 1, 50_000, Cache(tmp_path / "s"))
    with uproot.open(p) as f:
        good = f["events"].arrays(library="np")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 3])
    assert ensure_sample(spec, 1, 50_000, Cache(tmp_path / "s")) == p
    with uproot.open(p) as f:
        again = f["events"].arrays(library="np")
    assert again.keys() == good.keys() and all((again[k] == good[k]).all() for k in good)


def _file_size_limit(limit_bytes: int):
    """A real write failure in every process of the run, workers included: writes past ``limit_bytes`` fail
    with EFBIG (SIGXFSZ ignored), as a full disk fails them with ENOSPC."""
    import resource

    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return pre


@pytest.mark.parametrize("executor", [["--workers", "2"], ["--dask-workers", "1"]], ids=["processes", "dask"])
def test_a_write_failure_in_a_worker_is_one_line_and_leaves_nothing(tmp_path, executor):
    """A sample too large for the filesystem, written inside a worker process (local pool or Dask): the run ends
    with one line naming the failure, exit 1, no worker or distributed traceback, and no file or temporary."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "limits",
            "--scenario",
            "stcf-4gev",
            "--masses",
            "1",
            "--events",
            "50000",
            *executor,
            "--cache",
            str(tmp_path / "c"),
            "--output",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(300_000),
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: File too large", proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
