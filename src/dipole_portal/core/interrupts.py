"""Interrupts that cannot be swallowed: a signal is recorded before it is raised, and checked again later.

Python raises KeyboardInterrupt (and the command line's SIGTERM handler raises ``Terminated``) in whatever frame
runs when the signal arrives. Inside a finaliser (``__del__``, for instance uproot closing a file) the exception
is printed as "Exception ignored" and lost, and the run would go on to finish with exit code 0. So the handlers
record the signal first, and ``check`` raises it again where the project looks: after every finished task, and
before an output set is committed. An interrupted run therefore never commits and never reports success.

While a command runs, ``quiet_unraisable`` keeps Python from printing such a swallowed interrupt as "Exception
ignored ... Traceback" (it is not lost: ``check`` raises it again); every other unraisable exception is printed as
usual.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

_received: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled exactly like Ctrl-C: temporaries removed, workers stopped, nothing half-written."""


def _raise(signum: int) -> None:
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


#: standard-library modules whose bookkeeping an exception raised mid-statement corrupts (a semaphore unlinked but
#: never unregistered from the resource tracker, which then warns at exit): a signal there is only recorded
_DEFER_IN = ("multiprocessing/synchronize.py", "multiprocessing/util.py", "multiprocessing/resource_tracker.py")


def handler(signum: int, frame: Any) -> None:
    """The command line's SIGINT and SIGTERM handler: record, then raise; inside multiprocessing's own cleanup
    (``_DEFER_IN``) only record, and ``check`` raises it at the next task or commit."""
    global _received
    _received = signum
    code = getattr(frame, "f_code", None)
    if code is not None and code.co_filename.replace("\\", "/").endswith(_DEFER_IN):
        return
    _raise(signum)


def received() -> int | None:
    """The signal recorded since the last ``reset`` (None: none)."""
    return _received


def check() -> None:
    """Raise the recorded interrupt again, if there is one (it may have been swallowed where it first arose)."""
    if _received is not None:
        _raise(_received)


def reset() -> None:
    global _received
    _received = None


@contextlib.contextmanager
def quiet_unraisable() -> Iterator[None]:
    """Within the block, an interrupt swallowed in a finaliser or weakref callback is not printed (it is recorded)."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _received is not None:
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
