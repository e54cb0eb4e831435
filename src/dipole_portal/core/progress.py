"""Messages and progress for long work: ``logging`` for status lines, a rich progress bar for loops.

Status lines go to the ``dipole_portal`` logger; the command line attaches a stderr handler (stdout stays clean
for ``--json``), and a notebook or another program configures logging as it likes. Progress bars show on a
terminal and in Jupyter (rich renders there), and stay silent in pipes and CI; ``DIPOLE_PORTAL_PROGRESS=1`` or
``0`` forces them on or off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

LOGGER = logging.getLogger("dipole_portal")


def _in_jupyter() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = getattr(shell, "get_ipython", lambda: None)()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def _enabled() -> bool:
    flag = os.environ.get("DIPOLE_PORTAL_PROGRESS")
    if flag in ("0", "1"):
        return flag == "1"
    return sys.stderr.isatty() or _in_jupyter()


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback that moves a bar of ``total`` units (and raises an interrupt recorded but
    swallowed meanwhile, ``core.interrupts``)."""
    from dipole_portal.core import interrupts

    if not _enabled():
        yield lambda n: interrupts.check()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)

        def advance(n: int) -> None:
            interrupts.check()
            progress.advance(task, n)

        yield advance


def log(message: str, level: int = logging.INFO) -> None:
    """A status line through the ``dipole_portal`` logger."""
    LOGGER.log(level, message)


def warn(message: str) -> None:
    """A one-line warning (a cache entry recomputed, a fallback taken)."""
    LOGGER.warning(message)


def configure_cli_logging(verbose: bool = False) -> None:
    """Attach one stderr handler printing bare messages (warnings prefixed); used by the command line only."""
    if any(getattr(h, "_dipole_portal", False) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter())
    handler._dipole_portal = True  # type: ignore[attr-defined]
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.DEBUG if verbose else logging.INFO)
    LOGGER.propagate = False


class _CliFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        return f"warning: {msg}" if record.levelno >= logging.WARNING else msg
