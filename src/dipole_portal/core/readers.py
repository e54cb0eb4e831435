"""One gate for every file the project reads: a regular file, of bounded size, opened without blocking.

A FIFO, a device or a folder given where a file is expected would block a reader forever or fail deep inside a
library; here it is refused in one line naming the path and what was expected. The file is opened with
``O_NONBLOCK`` and checked on the open descriptor, so it cannot be swapped for a FIFO between the check and the
read. JSON documents are additionally bounded in nesting and must not contain NaN or Infinity.

>>> import tempfile, os
>>> d = tempfile.mkdtemp(); fifo = os.path.join(d, "f"); os.mkfifo(fifo)
>>> read_bytes(fifo, "yields")
Traceback (most recent call last):
...
dipole_portal.core.errors.InputError: ...f: not a regular file (a FIFO); expected a yields file
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from dipole_portal.core.errors import InputError

MAX_JSON_BYTES = 256 * 1024 * 1024  # the largest JSON this project reads (a BESIII yields file is ~1 MB)
MAX_JSON_DEPTH = 64  # the deepest JSON nesting any of this project's formats has is about 6


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def check_regular(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if it names a regular file (links followed); else an InputError naming what it is instead."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise InputError(f"{p}: no such file (expected a {what} file)") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror}); expected a {what} file") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{p}: not a regular file ({_kind(mode)}); expected a {what} file")
    return p


def read_bytes(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; refusals are one-line InputErrors."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(f"{p}: no such file (expected a {what} file)") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror}); expected a {what} file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{p}: not a regular file ({_kind(st.st_mode)}); expected a {what} file")
        if st.st_size > max_bytes:
            raise InputError(f"{p}: {st.st_size} bytes, more than the {max_bytes} a {what} file can have")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror}); expected a {what} file") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"{p}: more than the {max_bytes} bytes a {what} file can have")
    return data


class _NonFinite(str):
    """Where the parser met NaN or Infinity (not JSON numbers): found afterwards, to name its key."""


def _first_non_finite(obj: Any, path: str = "") -> tuple[str, str] | None:
    """(key path, constant) of the first NaN/Infinity in a parsed document, or None."""
    if isinstance(obj, _NonFinite):
        return path or "(top level)", str(obj)
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        found = _first_non_finite(v, f"{path}/{k}" if path else str(k) if isinstance(k, str) else f"[{k}]")
        if found:
            return found
    return None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _depth(text: str) -> int:
    """The deepest nesting of objects and arrays in JSON text (brackets inside strings ignored).

    >>> _depth('{"a": [1, {"b": "]]]["}]}')
    3
    """
    import numpy as np  # here, not at import: the command line starts without numpy

    raw = np.frombuffer(_STRING.sub("", text).encode("utf-8", "replace"), dtype=np.uint8)
    step = np.isin(raw, (ord("["), ord("{"))).astype(np.int64) - np.isin(raw, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def loads_json(text: str | bytes, where: str, what: str, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """Parse JSON text from ``where``: UTF-8, nesting at most ``max_depth``, no NaN or Infinity."""
    try:
        s = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 text (byte {exc.start}); expected a {what} JSON file") from None
    if _depth(s) > max_depth:
        raise InputError(f"{where}: JSON nested too deeply (more than {max_depth} levels); not a {what} file")
    try:
        doc = json.loads(s, parse_constant=_NonFinite, **kwargs)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; expected a {what} file"
        ) from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply; not a {what} file") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}; expected a {what} file") from None
    bad = _first_non_finite(doc)
    if bad is not None:
        raise InputError(
            f"{where}: key {bad[0]}: {bad[1]} is not a JSON number (expected a finite number); not a {what} file"
        )
    return doc


def read_json(path: str | os.PathLike[str], what: str, max_bytes: int = MAX_JSON_BYTES, **kwargs: Any) -> Any:
    """A JSON document from a regular file (``read_bytes``, ``loads_json``)."""
    return loads_json(read_bytes(path, what, max_bytes), str(path), what, **kwargs)
