"""Progress display for long work: a rich progress bar on stderr, silent when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _enabled() -> bool:
    if os.environ.get("DIPOLE_PORTAL_PROGRESS") == "1":
        return True
    return sys.stderr.isatty() and os.environ.get("DIPOLE_PORTAL_PROGRESS") != "0"


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback that moves a bar of ``total`` units."""
    if not _enabled():
        yield lambda n: None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def log(message: str) -> None:
    """A status line on stderr (stdout stays clean for --json output)."""
    print(message, file=sys.stderr, flush=True)
