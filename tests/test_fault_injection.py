"""Fault injection into ``run``: signals at random moments, a full disk at a random size, links and FIFOs planted in
the output folder and the cache, and a killed worker.

Each attack hits a rerun with another photon law (``--decay-model helicity``, so it computes for real) over an
earlier output set, or the plain rerun over a planted link or FIFO. After every fault:

- the earlier output set is intact byte for byte (or, when the rerun finished before the fault or the signal came
  while its set was being put in place, and the message says so, it is the rerun's complete set); the command
  ended in one ``error:`` line, never a traceback or a hang;
- no process of the run is left, nothing outside the run's folders changed;
- a plain rerun from the attacked cache gives the reference tables, figures and workspaces byte for byte and leaves
  no temporary behind.

The moments, sizes and places are drawn from a seeded generator (``DIPOLE_PORTAL_ATTACK_SEED``), and
``DIPOLE_PORTAL_ATTACK_ROUNDS`` multiplies the number of attacks per class (1 in CI: about 2 minutes). The tally of
attacks tried and held per class is printed at the end.
"""

from __future__ import annotations

import collections
import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SEED = int(os.environ.get("DIPOLE_PORTAL_ATTACK_SEED", "2026"))
ROUNDS = int(os.environ.get("DIPOLE_PORTAL_ATTACK_ROUNDS", "1"))
ENV = {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"}
RUN = ("run", "--preset", "fast", "--scenario", "stcf-4gev", "--workers", "2")
#: what a rerun reproduces byte for byte (the report states run times; ROOT files and tarballs carry timestamps)
VOLATILE = ("report.md", ".root", ".tar.gz")
TALLY: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals, FIFOs and RLIMIT_FSIZE as on Linux")


def _snapshot(folder: Path, stable_only: bool = False) -> dict[str, str]:
    """Every entry under ``folder``: links as their target, FIFOs as such, files by SHA-256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if stable_only and rel.endswith(VOLATILE):
            continue
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_fifo():
            out[rel] = "fifo"
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _start(base: Path, *extra: str, preexec=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dipole_portal", *RUN, "--output", "OUT", *extra],
        cwd=base,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "DIPOLE_PORTAL_CACHE": str(base / "cache")},
        preexec_fn=preexec,
        start_new_session=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the command hung (no exit within {timeout} s)")
    return proc.returncode, err


def _assert_one_line(err: str) -> None:
    """The command's last word is one ``error:`` line (progress lines may precede it), never a traceback."""
    lines = err.strip().splitlines()
    assert "Traceback" not in err and lines and lines[-1].startswith("error: "), err
    assert sum(ln.startswith("error") for ln in lines) == 1, err


def _group_gone(pgid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The reference run (exact law) with its cache, and the helicity rerun over it: its set and its wall time."""
    base = tmp_path_factory.mktemp("reference")
    code, err = _finish(_start(base))
    assert code == 0, err
    shutil.copytree(base / "cache", base / "cache0")
    (base / "OUT").rename(base / "REF")
    t0 = time.monotonic()
    code, err = _finish(_start(base, "--decay-model", "helicity"))
    assert code == 0, err
    seconds = time.monotonic() - t0
    (base / "OUT").rename(base / "HEL")
    return {
        "base": base,
        "ref": _snapshot(base / "REF", True),
        "hel": _snapshot(base / "HEL", True),
        "seconds": seconds,
    }


def _arena(reference, tmp_path: Path) -> Path:
    """A fresh copy of the reference output set and of its cache (helicity entries not yet computed)."""
    shutil.copytree(reference["base"] / "REF", tmp_path / "OUT", symlinks=True)
    shutil.copytree(reference["base"] / "cache0", tmp_path / "cache", symlinks=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("not the run's")
    return tmp_path


def _assert_recovers(reference, base: Path) -> None:
    """A plain rerun from the attacked cache: the reference set, no temporaries, nothing outside touched."""
    outside = _snapshot(base / "outside")
    code, err = _finish(_start(base))
    assert code == 0, err
    assert _snapshot(base / "OUT", True) == reference["ref"]
    left = [p for p in base.rglob("*") if p.name.startswith((".dpp-", ".tmp")) or p.name.endswith(".tmp")]
    assert not left, left
    assert _snapshot(base / "outside") == outside


def _outcome(reference, base: Path, before: dict, code: int, err: str, expected: set[int]) -> str:
    """Check one attacked command's end; return 'held (kept)' or 'held (finished)' for the tally."""
    after = _snapshot(base / "OUT", True)
    if code == 0:  # it finished before the fault could matter: then it is the rerun's complete set
        assert after == reference["hel"], "exit 0 but not the helicity set"
        return "finished first"
    if code in (-signal.SIGINT, -signal.SIGTERM):  # outside the command's handlers: at start-up or at exit
        if after == reference["hel"]:
            return "signalled at exit, after finishing"
        assert _snapshot(base / "OUT") == before, "ended by the signal with neither the earlier nor the new set"
        return "signalled while starting, nothing written"
    assert code in expected, (code, err)
    if code > 0:
        _assert_one_line(err)
    if "outputs were complete" in err:  # the signal arrived during the commit, which it waited for
        assert after == reference["hel"], "said complete but is not the rerun's set"
        return "interrupted during the commit"
    assert _snapshot(base / "OUT") == before, "the earlier set changed"
    return "interrupted"


def _tally(cls: str, outcome: str) -> None:
    TALLY[cls]["tried"] += 1
    TALLY[cls][outcome] += 1


def test_signals_at_random_moments(reference, tmp_path_factory):
    rng = random.Random(SEED)
    for i in range(3 * ROUNDS):
        base = _arena(reference, tmp_path_factory.mktemp(f"signal{i}"))
        sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
        delay = rng.uniform(0.02, 1.0) * reference["seconds"]
        before = _snapshot(base / "OUT")
        proc = _start(base, "--decay-model", "helicity")
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
        code, err = _finish(proc)
        outcome = _outcome(reference, base, before, code, err, {130, 143, -signal.SIGKILL})
        assert _group_gone(proc.pid), f"processes of the run outlived {sig.name}"
        _assert_recovers(reference, base)
        _tally(f"signal ({sig.name})", outcome)


def test_a_full_disk_at_a_random_size(reference, tmp_path_factory):
    """RLIMIT_FSIZE: the kernel refuses any write past the size (EFBIG, SIGXFSZ ignored), as a full disk does."""
    rng = random.Random(SEED + 1)
    for i in range(2 * ROUNDS):
        base = _arena(reference, tmp_path_factory.mktemp(f"disk{i}"))
        limit = int(10 ** rng.uniform(2, 5.7))  # 100 B to 500 kB, log-uniform

        def preexec(limit=limit):
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        before = _snapshot(base / "OUT")
        code, err = _finish(_start(base, "--decay-model", "helicity", preexec=preexec))
        _tally("full disk", _outcome(reference, base, before, code, err, {1, 2}))
        _assert_recovers(reference, base)


def _plant(rng: random.Random, base: Path) -> str:
    """Replace a random file or folder of the output set or the cache by a link (to outside, or to /dev/null) or a
    FIFO; returns what was planted where."""
    root = rng.choice(["OUT", "cache"])
    victims = sorted(p for p in (base / root).rglob("*") if not p.name.startswith(".lock"))
    victim = rng.choice(victims)
    kind = rng.choice(["link outside", "link to /dev/null", "fifo"])
    shutil.rmtree(victim) if victim.is_dir() and not victim.is_symlink() else victim.unlink()
    if kind == "fifo":
        os.mkfifo(victim)
    else:
        victim.symlink_to(base / "outside" if kind == "link outside" else Path("/dev/null"))
    return f"{kind} as {victim.relative_to(base)}"


def test_links_and_fifos_planted_in_the_output_folder_and_cache(reference, tmp_path_factory):
    rng = random.Random(SEED + 2)
    for i in range(4 * ROUNDS):
        base = _arena(reference, tmp_path_factory.mktemp(f"plant{i}"))
        where = _plant(rng, base)
        outside = _snapshot(base / "outside")
        before = _snapshot(base / "OUT")
        code, err = _finish(_start(base), timeout=120)
        if code == 0:
            assert _snapshot(base / "OUT", True) == reference["ref"], where
            outcome = "replaced or healed"
        else:
            assert code == 2, (where, err)
            _assert_one_line(err)
            assert _snapshot(base / "OUT") == before, where
            outcome = "refused"
        assert _snapshot(base / "outside") == outside, where
        _tally(f"planted {where.split(' as ')[0]}", outcome)


def test_a_worker_killed_at_a_random_moment(reference, tmp_path_factory):
    rng = random.Random(SEED + 3)
    for i in range(ROUNDS):
        base = _arena(reference, tmp_path_factory.mktemp(f"worker{i}"))
        before = _snapshot(base / "OUT")
        proc = _start(base, "--decay-model", "helicity")
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True, text=True)
            workers = [int(ln.split()[0]) for ln in out.stdout.splitlines() if "resource_tracker" not in ln]
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.2) * reference["seconds"])  # while the pool computes
        if workers and proc.poll() is None:
            os.kill(rng.choice(workers), signal.SIGKILL)
        code, err = _finish(proc)
        _tally("killed worker", _outcome(reference, base, before, code, err, {1}))
        assert _group_gone(proc.pid)
        _assert_recovers(reference, base)


def test_the_tally(capsys):
    """Print attacks tried and held per class (every attack that did not hold failed its test above)."""
    with capsys.disabled():
        print(f"\nfault injection (seed {SEED}): class, tried, outcomes")
        for cls, c in sorted(TALLY.items()):
            rest = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k != "tried")
            print(f"  {cls}: {c['tried']} tried, all held ({rest})")
    assert TALLY, "no attack ran"
