"""A command's outputs as one transaction: built in a staging folder, put in place only when complete.

``output_transaction(folder)`` yields a fresh staging folder beside ``folder`` (same file system). The command
writes everything there, and later stages read only from it, so nothing another run left in ``folder`` can be
taken for this run's. When the block completes, each top-level entry of the staging folder replaces its namesake
in ``folder`` (a file by ``os.replace``; a subfolder whole: the old one is renamed aside, then removed), with
SIGINT and SIGTERM held back until the last rename; other entries of ``folder`` are left alone. A refusal, an
error, a full disk or a signal before that leaves ``folder`` exactly as it was, and the staging folder is removed;
one that a SIGKILL left is removed by the next transaction on ``folder`` (its name carries the dead owner's pid).

A namesake that is a symbolic link or not a regular file or folder is replaced, never followed. ``folder`` itself
must be a real folder or a new name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from dipole_portal.core import interrupts
from dipole_portal.core.atomic import new_folder_beside, remove_stale_temporaries, tmp_prefix
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import NAME_PATTERN

REMOVED = ".dpp-removed."  # in a staging folder: the namesake in the final folder goes when the set is committed
_COMMITTED: list[Path] = []  # the folders whose set this process has put in place (what an interrupt message says)


def committed() -> tuple[Path, ...]:
    """The output folders whose new set this process has put in place, complete, in commit order."""
    return tuple(_COMMITTED)


def reset_committed() -> None:
    """Forget earlier commits (a new command in the same process)."""
    _COMMITTED.clear()


def remove_output(folder: Path, name: str) -> None:
    """Take entry ``name`` (one path component) out of an output set: from a staging folder when it is committed
    (the earlier set keeps it until then), from any other folder at once."""
    from dipole_portal.core.atomic import TMP_PREFIX

    if not NAME_PATTERN.fullmatch(name) or name.startswith(TMP_PREFIX):
        raise ValueError(f"output entry {name!r}: expected one file or folder name")
    if folder.name.startswith(TMP_PREFIX):
        (folder / f"{REMOVED}{name}").touch()
    else:
        (folder / name).unlink(missing_ok=True)


def check_output_folder(folder: str | os.PathLike[str]) -> Path:
    """``folder`` if it is a real folder or a new name; else an InputError (a link, a file, a device)."""
    p = Path(folder)
    if p.is_symlink():
        raise InputError(f"output {p}: a symbolic link; expected a folder (it would be replaced, not followed)")
    if p.exists() and not p.is_dir():
        raise InputError(f"output {p}: exists and is not a folder")
    return p.absolute()


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (delivered on exit) while the block runs: a commit is not cut in half."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def commit(stage: Path, folder: Path) -> list[Path]:
    """Move every top-level entry of ``stage`` onto its namesake in ``folder`` (module docstring); the final paths."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = sorted(stage.iterdir())
    aside = Path(tempfile.mkdtemp(prefix=tmp_prefix(f"{folder.name}.old"), suffix=".tmp", dir=folder))
    out = []
    with _signals_held():
        try:
            for src in entries:
                if src.name.startswith(REMOVED):  # a name this set no longer has (``remove_output``)
                    gone = folder / src.name[len(REMOVED) :]
                    if gone.exists() or gone.is_symlink():
                        os.replace(gone, aside / gone.name)
                    continue
                dst = folder / src.name
                if src.is_dir():
                    if dst.exists() or dst.is_symlink():
                        os.replace(dst, aside / src.name)  # renamed aside, whatever it is (never followed)
                    os.replace(src, dst)
                else:
                    if dst.is_dir() and not dst.is_symlink():
                        os.replace(dst, aside / src.name)
                    os.replace(src, dst)  # replaces a link or file itself
                out.append(dst)
            _COMMITTED.append(folder)  # before the held signals arrive: their message says the set is complete
        finally:
            shutil.rmtree(aside, ignore_errors=True)
    return out


@contextlib.contextmanager
def output_transaction(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder whose entries replace their namesakes in ``folder`` when the block completes."""
    final = check_output_folder(folder)
    remove_stale_temporaries(final.parent, name=final.name)  # staging folders of killed earlier runs
    stage = new_folder_beside(final)
    try:
        yield stage
        interrupts.check()  # an interrupt swallowed on the way (in a finaliser) still stops the commit
        check_output_folder(final)  # still a folder or a new name (it may have changed meanwhile)
        commit(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
