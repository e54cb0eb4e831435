"""Processes end together: workers die with the main process, a killed worker ends the run in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENV = {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"}


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is dead: it only waits to be reaped
        return fh.read().split()[2] != "Z"


def _start(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "limits",
            "--scenario",
            "stcf-4gev",
            "--n-masses",
            "12",
            "--events",
            "20000",
            "--workers",
            "2",
            "--output",
            str(tmp_path / "o"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "DIPOLE_PORTAL_CACHE": str(tmp_path / "c")},
    )


def _workers(proc: subprocess.Popen, n: int = 2) -> list[int]:
    deadline = time.monotonic() + 120
    while True:
        kids = _children(proc.pid)
        if len(kids) >= n + 1:  # the resource tracker and the pool's workers
            return kids
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)


def test_workers_die_with_a_killed_main_process(tmp_path):
    proc = _start(tmp_path)
    kids = _workers(proc)
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]


def test_a_killed_worker_ends_the_run_in_one_line_and_it_resumes(tmp_path):
    proc = _start(tmp_path)
    kids = _workers(proc)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "c" / "limits").glob("*.json")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = [k for k in kids if "resource_tracker" not in Path(f"/proc/{k}/cmdline").read_text()]
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert lines[-1].startswith("error: a worker process ended without a result") and "rerun" in lines[-1]
    assert not (tmp_path / "o" / "stcf-4gev_limits.csv").exists()
    res = subprocess.run(
        proc.args, capture_output=True, text=True, env={**ENV, "DIPOLE_PORTAL_CACHE": str(tmp_path / "c")}
    )
    assert res.returncode == 0 and "cached" in res.stderr, res.stderr


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowing is the point
def test_an_interrupt_swallowed_in_a_finaliser_still_stops_the_commit(tmp_path):
    import gc

    from dipole_portal.core import interrupts
    from dipole_portal.core.transaction import output_transaction

    class ClosesAFile:  # like uproot's ReadOnlyFile.__del__: an exception raised here is printed and lost
        def __del__(self):
            interrupts.handler(signal.SIGTERM, None)

    interrupts.reset()
    try:
        obj = ClosesAFile()
        del obj
        gc.collect()
        assert interrupts.received() == signal.SIGTERM
        with pytest.raises(interrupts.Terminated), output_transaction(tmp_path / "out") as stage:
            (stage / "table.csv").write_text("would be published")
        assert not (tmp_path / "out").exists()
    finally:
        interrupts.reset()


def test_temporaries_of_a_dead_process_are_removed_and_live_ones_kept(tmp_path):
    from dipole_portal.core.atomic import remove_stale_temporaries, tmp_prefix

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / "samples").mkdir()
    gone = tmp_path / "samples" / f".dpp-abc.root.p{dead}.x1y2.tmp"
    gone.write_text("partial")
    staging = tmp_path / f".dpp-OUT.p{dead}.zz.tmp"
    (staging / "limits").mkdir(parents=True)
    live = tmp_path / "samples" / f"{tmp_prefix('def.root')}q9.tmp"
    live.write_text("being written")
    assert remove_stale_temporaries(tmp_path) == 2
    assert not gone.exists() and not staging.exists() and live.exists()


@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_over_a_long_mass_list_never_hangs_at_exit(tmp_path, attempt):
    """``limits --n-masses 10000 --workers 2``, Ctrl-C to the group once limits are coming in: the process ends
    within seconds with exit 130 and one line (it once deadlocked joining the pool's manager thread at exit), and
    no semaphore is left for the resource tracker to warn about."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "limits",
            "--scenario",
            "stcf-4gev",
            "--n-masses",
            "10000",
            "--events",
            "3000",
            "--workers",
            "2",
            "--output",
            str(tmp_path / "o"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**ENV, "DIPOLE_PORTAL_CACHE": str(tmp_path / "c")},
    )
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "c" / "limits").glob("*.json"))) < 1 + attempt:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("hung at exit after Ctrl-C")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted") and "resource_tracker" not in err, err


def test_a_swallowed_interrupt_prints_no_traceback_and_other_errors_still_do(tmp_path):
    """In a weakref callback or ``__del__`` Python prints a raised interrupt as "Exception ignored ... Traceback";
    during a command it is recorded instead (and raised again at the next check), other exceptions print."""
    code = (
        "import gc, signal, sys\n"
        "from dipole_portal.core import interrupts\n"
        "class Interrupted:\n"
        "    def __del__(self): interrupts.handler(signal.SIGINT, None)\n"
        "class Broken:\n"
        "    def __del__(self): raise ValueError('a real bug')\n"
        "interrupts.reset()\n"
        "with interrupts.quiet_unraisable():\n"
        "    a = Interrupted(); del a; gc.collect()\n"
        "    b = Broken(); del b; gc.collect()\n"
        "print(interrupts.received() == signal.SIGINT)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.stdout.strip() == "True", res.stderr
    assert "KeyboardInterrupt" not in res.stderr and "ValueError: a real bug" in res.stderr, res.stderr


def test_a_signal_inside_multiprocessing_cleanup_is_recorded_and_raised_at_the_next_check():
    """Raised between ``sem_unlink`` and the resource tracker's ``unregister`` (a semaphore's finaliser), an
    interrupt left the tracker to warn about a leaked semaphore after the one-line message: there it is recorded
    only, and ``check`` raises it."""
    import multiprocessing.synchronize as mp_sync
    from types import SimpleNamespace

    from dipole_portal.core import interrupts

    interrupts.reset()
    try:
        inside = SimpleNamespace(f_code=SimpleNamespace(co_filename=mp_sync.__file__))
        interrupts.handler(signal.SIGTERM, inside)  # no exception here
        assert interrupts.received() == signal.SIGTERM
        with pytest.raises(interrupts.Terminated):
            interrupts.check()
        with pytest.raises(KeyboardInterrupt):
            interrupts.handler(signal.SIGINT, SimpleNamespace(f_code=SimpleNamespace(co_filename=__file__)))
    finally:
        interrupts.reset()


@pytest.mark.parametrize("quiet", [True, False])
def test_the_pools_resource_tracker_cleans_up_a_leaked_semaphore_without_a_warning(tmp_path, quiet):
    """A process that ends with a semaphore still registered (an interrupt between its creation and its
    finaliser): the tracker the executors start unlinks it and prints nothing; a plain tracker warns, which is the
    text that followed the one-line message after Ctrl-C."""
    start = "executors.start_quiet_resource_tracker()" if quiet else "resource_tracker.ensure_running()"
    code = (
        "import multiprocessing, os\n"
        "from multiprocessing import resource_tracker\n"
        "from dipole_portal.core import executors\n"
        f"{start}\n"
        "lock = multiprocessing.get_context('spawn').Lock()\n"
        "print(lock._semlock.name, flush=True)\n"
        "os._exit(0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    name = res.stdout.strip()
    assert name, res.stderr
    deadline = time.monotonic() + 10  # the tracker cleans up after the process ends, in its own time
    while Path("/dev/shm", "sem." + name.lstrip("/")).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path("/dev/shm", "sem." + name.lstrip("/")).exists()
    if quiet:
        assert "resource_tracker" not in res.stderr and "leaked" not in res.stderr, res.stderr
    else:
        assert "leaked semaphore" in res.stderr, res.stderr  # the test can tell a quiet tracker from a plain one
