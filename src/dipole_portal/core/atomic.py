"""Atomic file output: write under a temporary name in the target folder, then rename.

An exception or an interruption (KeyboardInterrupt; SIGTERM, which the command line turns into the same) removes
the temporary file, so a final name only ever holds a complete file. An output path must be a regular file or a
new name: a device, FIFO, socket, directory or symbolic link is refused (``os.replace`` would land on whatever
the path names). Files get the permissions the umask allows (``mkstemp``'s 0600 is widened accordingly), and
temporaries of this project left by a killed process are recognisable by their prefix and removed on start.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dipole_portal.core.errors import InputError

TMP_PREFIX = ".dpp-"  # every temporary of this project: .dpp-<final name>.p<pid>.<random>.tmp
_OWNER = re.compile(r"\.p(\d+)\.[^.]*\.tmp$")


def tmp_prefix(name: str) -> str:
    """The prefix of a temporary for ``name``, naming this process: a later run removes it once this process is
    gone (``remove_stale_temporaries``), however it ended."""
    return f"{TMP_PREFIX}{name}.p{os.getpid()}."


def _owner_alive(name: str) -> bool | None:
    """Whether the process that made temporary ``name`` still runs (None: the name does not say)."""
    m = _OWNER.search(name)
    if m is None:
        return None
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


STALE_AFTER_S = 24 * 3600.0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path after checking that it is a regular file or a new name in a writable folder."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"output {p}: cannot inspect ({exc.strerror})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(st.st_mode)
            else "a symbolic link"
            if stat.S_ISLNK(st.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "not a regular file"
        )
        raise InputError(f"output {p}: is {kind}; expected a regular file or a new file name")
    if not folder.is_dir():
        raise InputError(f"output {p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"output {p}: folder {folder} is not writable")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``, else delete it."""
    final = check_writable(path)
    fd, tmp_name = tempfile.mkstemp(prefix=tmp_prefix(final.name), suffix=".tmp", dir=final.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # flush to disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        check_writable(final)  # still a regular file or a new name (it may have changed meanwhile)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically; a regular file that already holds exactly ``text`` is left as it is
    (a rerun that changes nothing rewrites, and syncs to disk, nothing)."""
    final = check_writable(path)
    data = text.encode()
    with contextlib.suppress(OSError):
        if (
            final.is_file()
            and not final.is_symlink()
            and final.stat().st_size == len(data)
            and final.read_bytes() == data
        ):
            return final
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return final


def copy_atomic(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy the bytes of ``src`` to ``dst`` under a temporary name, then rename (``dst``'s mode from the umask)."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (NaN and infinities are refused before anything is
    written)."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:
        raise ValueError(f"{path}: not written: {exc}") from None
    return write_text_atomic(path, text)


def remove_stale_temporaries(
    folder: str | os.PathLike[str], older_than_s: float = STALE_AFTER_S, name: str | None = None
) -> int:
    """Remove this project's temporaries under ``folder`` (recursively) that a killed or interrupted process left;
    with ``name``, only the temporaries of that entry directly in ``folder`` (a staging folder beside an output
    folder).

    Only files and staging folders named ``.dpp-*.tmp``: those whose making process is gone (the name carries its
    pid), and those older than ``older_than_s`` seconds whose name carries none. A concurrent run's live ones stay.
    """
    root = Path(folder)
    if not root.is_dir():
        return 0
    now, n = time.time(), 0
    found = root.glob(f"{TMP_PREFIX}{glob.escape(name)}.*.tmp") if name else root.rglob(f"{TMP_PREFIX}*.tmp")
    for p in sorted(found, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            st = os.lstat(p)
            alive = _owner_alive(p.name)
            if alive or (alive is None and now - st.st_mtime <= older_than_s):
                continue
            if stat.S_ISREG(st.st_mode):
                p.unlink()
                n += 1
            elif stat.S_ISDIR(st.st_mode):
                shutil.rmtree(p)
                n += 1
    return n


def new_folder_beside(final: str | os.PathLike[str]) -> Path:
    """A fresh temporary folder next to ``final`` (same file system), for building a set of files."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"output {final}: its folder cannot be created ({exc.strerror})") from None
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(final.name), suffix=".tmp", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def swap_in_folder(new: str | os.PathLike[str], final: str | os.PathLike[str], attempts: int = 5) -> Path:
    """Put the complete folder ``new`` in place of ``final``: the old one is renamed aside, then removed.

    Readers see the old set or the new one, never a mixture. Concurrent swaps retry (a rename onto a folder that
    another run just put in place fails with ENOTEMPTY/EEXIST).
    """
    import errno

    new, final = Path(new), Path(final)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise InputError(f"output {final}: exists and is not a folder")
    for attempt in range(attempts):
        aside = None
        if final.exists():
            aside = Path(tempfile.mkdtemp(prefix=tmp_prefix(f"{final.name}.old"), suffix=".tmp", dir=final.parent))
            aside.rmdir()
            with contextlib.suppress(FileNotFoundError):  # a concurrent swap may have moved it already
                os.rename(final, aside)
        try:
            os.rename(new, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or attempt == attempts - 1:
                raise
            continue
        finally:
            if aside is not None and aside.exists():
                shutil.rmtree(aside, ignore_errors=True)
        return final
    return final  # pragma: no cover
