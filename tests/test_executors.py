"""Executors: serial, local processes and a Dask LocalCluster give identical results; workers use one BLAS thread."""

from __future__ import annotations

import dataclasses
import os

import pytest

from dipole_portal.analysis.tasks import LimitTask, run_tasks
from dipole_portal.core.config import load_scenarios
from dipole_portal.core.errors import InputError
from dipole_portal.core.executors import BLAS_ENV, SerialExecutor, make_executor


def _tasks(workdir) -> list[LimitTask]:
    sc = load_scenarios()
    return [
        LimitTask(sc[name], m, events=5_000, cache=str(workdir))
        for name, m in (("stcf-2gev", 0.05), ("stcf-2gev", 1.0), ("belle2-bbg", 2.0), ("belle2-lowmass", 0.3))
    ]


def _as_dicts(results) -> list[dict]:
    return [dataclasses.asdict(r.limit) for r in results]


@pytest.fixture(scope="module")
def serial_results(tmp_path_factory):
    return _as_dicts(run_tasks(_tasks(tmp_path_factory.mktemp("serial")), SerialExecutor()))


def test_processes_give_the_serial_results(serial_results, tmp_path):
    with make_executor("processes", 2) as ex:
        assert ex.kind == "processes" and ex.workers == 2
        assert _as_dicts(run_tasks(_tasks(tmp_path), ex)) == serial_results


def test_process_workers_pin_blas_threads():
    with make_executor("processes", 2) as ex:
        assert ex.map(os.getenv, list(BLAS_ENV)) == ["1"] * len(BLAS_ENV)


def test_dask_local_cluster_gives_the_serial_results(serial_results, tmp_path):
    pytest.importorskip("distributed")
    with make_executor("dask", 2) as ex:
        assert "LocalCluster" in ex.describe()
        assert ex.map(os.getenv, ["OPENBLAS_NUM_THREADS"]) == ["1"]
        assert _as_dicts(run_tasks(_tasks(tmp_path), ex)) == serial_results


def test_dask_scheduler_address(serial_results, tmp_path):
    """``--scheduler tcp://...``: connect to a running cluster (here one started on loopback)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as lc:
        with make_executor(scheduler=lc.scheduler_address) as ex:
            assert ex.kind == "dask" and ex.workers == 1
            assert _as_dicts(run_tasks(_tasks(tmp_path)[:2], ex)) == serial_results[:2]


@pytest.mark.parametrize(
    ("kind", "workers", "message"), [("threads", None, "executor 'threads'"), ("processes", 0, "workers=0")]
)
def test_bad_executor_settings(kind, workers, message):
    with pytest.raises(InputError, match=message):
        make_executor(kind, workers)


def test_unreachable_scheduler_is_an_input_error():
    pytest.importorskip("distributed")
    with pytest.raises(InputError, match="cannot connect"):
        make_executor(scheduler="tcp://127.0.0.1:9")


def test_dask_local_cluster_starts_quietly_when_another_holds_the_dashboard_port():
    """Another Dask cluster (or anything) on port 8787: no 'Port 8787 is already in use' warning reaches the user
    (distributed warns even with dashboard_address=None)."""
    import socket
    import warnings

    pytest.importorskip("distributed")
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 8787))
        sock.listen()
    except OSError:
        pass  # already held by someone else: the condition under test holds anyway
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with make_executor("dask", 1):
                pass
        assert not [w for w in caught if "8787" in str(w.message)]
    finally:
        sock.close()


def test_a_worker_terminated_inside_a_weakref_callback_exits_without_a_traceback():
    """SIGTERM arriving while a worker runs a weakref callback (matplotlib's, as a figure is drawn): the SystemExit
    cannot leave the callback and Python would print its traceback and carry on; the worker instead prints nothing
    and exits with 143 (the signal delivered again outside the callback)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import os, signal, time, weakref
        from dipole_portal.core.executors import _worker_init
        _worker_init(None)
        class A: pass
        a = A()
        r = weakref.ref(a, lambda _: os.kill(os.getpid(), signal.SIGTERM))
        del a
        time.sleep(5)
        print("still running")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (res.returncode, res.stdout, res.stderr) == (143, "", "")


class _Unpicklable(Exception):
    """An exception that cannot travel between processes, as pyhf's FailedMinimization (it holds a closure)."""

    def __init__(self, message):
        super().__init__(message)
        self.closure = lambda: None


def _fail_unpicklably(x):
    raise _Unpicklable(f"fit {x} did not converge")


def _fail_picklably(x):
    raise ValueError(f"value {x} refused")


def test_a_worker_error_that_cannot_be_pickled_still_reaches_the_parent_with_its_message():
    from dipole_portal.core.executors import ProcessExecutor

    with ProcessExecutor(1) as ex:
        with pytest.raises(RuntimeError, match=r"_Unpicklable in a worker: fit 3 did not converge"):
            ex.map(_fail_unpicklably, [3])
        with pytest.raises(ValueError, match="value 4 refused"):  # one that pickles arrives as itself
            ex.map(_fail_picklably, [4])
