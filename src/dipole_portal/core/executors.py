"""Interchangeable executors for the pipeline's independent tasks: serial, local processes, Dask distributed.

Every executor runs the same pure task function on the same task objects, and results are put back in task
order, so the choice of executor never changes a result (tasks carry their own seeds). Workers run with one
BLAS/OpenMP thread each: the parallelism is over tasks, and oversubscribing the cores only slows it down.

This module imports neither numpy nor anything that does, so that a spawned worker can pin its BLAS threads
(through the environment) before numpy is loaded.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from dipole_portal.core import interrupts
from dipole_portal.core.errors import InputError, WorkerDied

BLAS_ENV = {
    var: "1"
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    )
}
KINDS = ("serial", "processes", "dask")


def pin_blas_threads() -> None:
    """One BLAS/OpenMP thread in this process (effective when called before numpy is imported)."""
    os.environ.update(BLAS_ENV)


PARENT_POLL_S = 0.5  # how often a worker checks that the process that started it is alive


def _die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` ends, even by SIGKILL (no orphan keeps computing): on Linux the kernel sends
    SIGKILL at once (``PR_SET_PDEATHSIG``); everywhere a daemon thread sees the parent's pid change."""
    import threading
    import time

    with contextlib.suppress(Exception):  # Linux only; the thread below covers the rest
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the lines above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


#: the resource tracker's warnings about semaphores an interrupted pool left registered (it unlinks them all the
#: same): a -W option the tracker process inherits from ``sys.warnoptions`` when it is started
QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def start_quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (if not running) with its leak warnings ignored.

    A pool stopped by Ctrl-C or SIGTERM can be interrupted between creating a semaphore and registering it, or
    between unlinking and unregistering it. The tracker then cleans up at exit as designed, but prints "leaked
    semaphore" or "No such file" after the command's one-line message. Only the tracker's own ``UserWarning``s are
    filtered; its cleanup is unchanged.
    """
    import sys
    from multiprocessing import resource_tracker

    added = QUIET_TRACKER not in sys.warnoptions
    if added:
        sys.warnoptions.append(QUIET_TRACKER)
    try:
        resource_tracker.ensure_running()
    finally:
        if added:
            sys.warnoptions.remove(QUIET_TRACKER)


_terminating = False


def _on_terminate(signum: int, frame: object) -> None:
    global _terminating
    _terminating = True
    raise SystemExit(143)  # unwinds the task: its temporaries are removed (atomic writes clean up on any exit)


def _exit_swallowed_in_callback(unraisable: Any) -> None:
    """A worker's unraisable-exception hook: the SystemExit of a SIGTERM that arrived inside a finaliser or weakref
    callback (matplotlib's, while a figure is drawn) cannot leave it, and Python would print its traceback. It is
    not printed; the signal is delivered again a moment later (from a timer thread: delivered here, it would be
    swallowed again), so the task still ends, at a point where it can."""
    if _terminating and isinstance(unraisable.exc_value, SystemExit):
        import threading

        threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return
    sys.__unraisablehook__(unraisable)


def _call_portably(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)`` in a worker. An exception that cannot travel back to the parent (it does not pickle: pyhf's
    FailedMinimization carries its fit's closure) becomes a RuntimeError that names it, so the parent reports the
    error itself rather than a pickling failure."""
    try:
        return fn(item)
    except Exception as exc:
        try:
            pickle.dumps(exc)
        except Exception:
            raise RuntimeError(f"{type(exc).__name__} in a worker: {exc}") from None
        raise


def _worker_init(parent: int | None = None) -> None:
    """A pool worker: one BLAS thread, Ctrl-C left to the main process (which stops the pool), so an interrupt
    prints no worker tracebacks and cannot be swallowed by a worker; SIGTERM (the pool stopped) unwinds the
    running task, removing its temporaries; and it ends when the main process does."""
    pin_blas_threads()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    sys.unraisablehook = _exit_swallowed_in_callback
    if parent is not None:
        _die_with_parent(parent)


class Executor:
    """Runs ``fn`` over ``items``; ``imap`` yields ``(index, result)`` as tasks finish."""

    kind = "serial"
    workers = 1

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, fn(item)

    def map(
        self, fn: Callable[[Any], Any], items: Sequence[Any], on_done: Callable[[int], None] | None = None
    ) -> list[Any]:
        """Results in the order of ``items``; ``on_done(1)`` after each finished task (progress)."""
        out: list[Any] = [None] * len(items)
        for i, res in self.imap(fn, items):
            out[i] = res
            if on_done:
                on_done(1)
        return out

    def close(self) -> None:
        """Release workers."""

    def describe(self) -> str:
        return f"{self.kind} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.abort()
        else:
            self.close()

    def abort(self) -> None:
        """Stop at once (an interrupt): running tasks are killed, nothing waits for them."""
        self.close()


class SerialExecutor(Executor):
    """In this process, one task after the other (tests, debugging)."""


class ProcessExecutor(Executor):
    """A pool of spawned local processes, each with one BLAS thread."""

    kind = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        start_quiet_resource_tracker()
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        pending = {self._pool.submit(_call_portably, fn, item): i for i, item in enumerate(items)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        raise WorkerDied(
                            f"a worker process ended without a result (killed, or out of memory) with "
                            f"{len(pending)} tasks unfinished; what was computed is cached: rerun the "
                            "same command to resume"
                        ) from None
                    interrupts.check()
                    yield pending.pop(fut), result
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def abort(self) -> None:
        procs = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(timeout=5)


class DaskExecutor(Executor):
    """Dask distributed: an existing scheduler (``tcp://HOST:PORT``) or a LocalCluster of ``workers`` processes."""

    kind = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError("the dask executor needs the 'dask' extra: pip install 'dipole-portal[dask]'") from None
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="10s")
            except Exception as exc:  # OSError, ValueError, TypeError, TimeoutError: a bad or unreachable address
                raise InputError(
                    f"--scheduler {scheduler!r}: cannot connect ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())[:200]}); expected tcp://HOST:PORT of a running "
                    "Dask scheduler"
                ) from None
            self.workers = len(self._client.scheduler_info().get("workers", {})) or 1
        else:
            self.workers = workers or os.cpu_count() or 1
            start_quiet_resource_tracker()
            with dask.config.set({"distributed.nanny.pre-spawn-environ": BLAS_ENV}):
                # dashboard on any free port (None still binds 8787, and warns when another cluster has it)
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=":0",
                    silence_logs=logging.CRITICAL,
                )  # errors reach us as exceptions
            self._client = Client(self._cluster)

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        futures = self._client.map(functools.partial(_call_portably, fn), list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def describe(self) -> str:
        where = "LocalCluster" if self._cluster is not None else getattr(self._client.scheduler, "address", "?")
        return f"dask ({where}, {self.workers} workers)"


def make_executor(kind: str = "processes", workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor named ``kind``; a scheduler address implies Dask."""
    if scheduler:
        kind = "dask"
    if kind not in KINDS:
        raise InputError(f"executor {kind!r}: expected one of {', '.join(KINDS)}")
    if workers is not None and workers < 1:
        raise InputError(f"workers={workers!r}: expected a positive number")
    if kind == "serial" or (kind == "processes" and workers == 1):
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    return DaskExecutor(scheduler, workers)


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor a command runs on; ``make`` starts it (only once the inputs are known to be good)."""

    kind: str = "processes"
    workers: int | None = None
    scheduler: str | None = None

    def make(self) -> Executor:
        return make_executor(self.kind, self.workers, self.scheduler)
