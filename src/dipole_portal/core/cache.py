"""One content-addressed cache for every stage: samples, selected samples, yields, limits, histograms.

An entry's key hashes its inputs (settings, seed, constants, the scenario definition with its cuts) *and the
code* that computes it (:mod:`dipole_portal.core.code_identity`: the modules it imports, without comments or
docstrings, and the versions of the libraries it runs on), so editing a formula or a cut invalidates exactly the
entries that depend on it, and nothing else. Each entry stores a SHA-256 checksum of its content, verified on
every read: a corrupt, truncated or altered entry is reported with a one-line warning, removed and recomputed,
never used and never fatal. Entries appear only when complete (atomic writes), so an interrupted run leaves
none half-made.

Layout: ``ROOT/<kind>/<key>.json`` for JSON entries (``{"key", "inputs", "sha256", "content"}``) and
``ROOT/<kind>/<key>.<ext>`` plus ``<key>.json`` (``{"key", "inputs", "sha256", "bytes"}``) for files.

>>> import tempfile
>>> c = Cache(tempfile.mkdtemp())
>>> e = c.entry("limits", {"x": 1}, code=Code(("dipole_portal.core.constants",)))
>>> e.load_json() is None
True
>>> _ = e.store_json({"answer": 42})
>>> e.load_json()
{'answer': 42}
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import stat
import time
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from dipole_portal.core.atomic import atomic_path, write_text_atomic
from dipole_portal.core.code_identity import Code
from dipole_portal.core.errors import InputError
from dipole_portal.core.progress import warn
from dipole_portal.core.readers import check_regular, loads_json, read_bytes
from dipole_portal.core.version import __version__

CACHE_ENV = "DIPOLE_PORTAL_CACHE"
#: the kinds of entry, each a folder of the cache root: ``info`` and ``clear`` touch these and nothing else
KINDS = ("samples", "selected", "yields", "limits", "histograms", "figures", "hepdata")
KEY_LENGTH = 24

#: the cache's default size limit. Samples (the only large entries, and cheap to remake: a changed cut remakes them
#: anyway) are hand-offs to the selection: once a command is done they are evicted, least recently used first,
#: until the whole cache is under the limit. ``DIPOLE_PORTAL_CACHE_LIMIT`` sets another (``none``: no limit).
DEFAULT_LIMIT_BYTES = 1_000_000_000
LIMIT_ENV = "DIPOLE_PORTAL_CACHE_LIMIT"
EVICTABLE = ("samples",)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?B?)\s*", re.IGNORECASE)


def parse_size(text: str, where: str) -> int | None:
    """A size in bytes from ``500MB``, ``2GB``, ``1.5 GB`` or ``123`` (decimal units); ``none``: no limit.

    >>> parse_size("1.5GB", "x"), parse_size("0", "x"), parse_size("20k", "x"), parse_size("none", "x")
    (1500000000, 0, 20000, None)
    >>> parse_size("lots", "LIMIT")
    Traceback (most recent call last):
    ...
    dipole_portal.core.errors.InputError: LIMIT='lots': expected a size such as 500MB or 2GB, or none
    """
    if text.strip().lower() in ("none", "unlimited"):
        return None
    m = _SIZE.fullmatch(text)
    if m is None:
        raise InputError(f"{where}={text!r}: expected a size such as 500MB or 2GB, or none")
    unit = m.group(2).upper()
    return int(float(m.group(1)) * _UNITS[unit if unit.endswith("B") else unit + "B"])


def cache_limit() -> int | None:
    """The cache size limit in bytes (``DIPOLE_PORTAL_CACHE_LIMIT``, else 1 GB); None: no limit."""
    text = os.environ.get(LIMIT_ENV)
    return DEFAULT_LIMIT_BYTES if text is None or not text.strip() else parse_size(text, LIMIT_ENV)


@dataclass(frozen=True)
class Eviction:
    """What ``Cache.evict`` did: entries and bytes removed, the cache's size after it, and the limit (bytes)."""

    entries: int
    freed_bytes: int
    total_bytes: int
    limit_bytes: int | None


#: the code each kind of entry is computed by (its import closure) and the libraries whose version counts
_NUMERICAL = ("numpy", "uproot")
SAMPLE_CODE = Code(("dipole_portal.samples.cache",), libraries=_NUMERICAL)
#: selected samples and yields: the selections, and how the tasks choose samples (not the statistics they also hold)
SELECTION_CODE = Code(
    ("dipole_portal.samples.cache", "dipole_portal.analysis.tasks"),
    exclude=("dipole_portal.stats",),
    libraries=(*_NUMERICAL, "awkward", "vector", "hist", "boost-histogram", "scipy"),
)
LIMIT_CODE = Code(
    ("dipole_portal.analysis.tasks",), libraries=(*SELECTION_CODE.libraries, "pyhf", "iminuit", "jsonpatch")
)
FIGURE_CODE = Code(
    (
        "dipole_portal.plotting.limit_figures",
        "dipole_portal.plotting.plane_figures",
        "dipole_portal.plotting.brazil",
        "dipole_portal.plotting.style",
    ),
    libraries=("matplotlib", "mplhep", "numpy", "pyhf"),
)
HEPDATA_CODE = Code(("dipole_portal.analysis.hepdata_export",), libraries=("hepdata_lib", "pyhf"))


def default_root() -> Path:
    """``$DIPOLE_PORTAL_CACHE``, else ``$XDG_CACHE_HOME/dipole-portal`` (``~/.cache/dipole-portal``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dipole-portal"


def canonical_json(obj: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no NaN, enums and paths as strings."""
    return json.dumps(obj, sort_keys=True, allow_nan=False, default=str, separators=(",", ":"))


def content_hash(obj: Any, n: int = 16) -> str:
    """Stable short hash of a JSON-able object."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


def files_digest(*paths: Path) -> str:
    """SHA-256 over the names (relative to each given path) and bytes of the given files and of every file under
    the given folders, in a stable order; a missing path counts as empty."""
    h = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root] * root.is_file()
        h.update(f"{root.name}\0".encode())
        for f in files:
            h.update(f"{f.relative_to(root) if f != root else f.name}\0{file_sha256(f)}\0".encode())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class JsonRecord(TypedDict):
    """A JSON entry's file: its key, what computed it, its inputs, the checksum of inputs and content, the content,
    and the CPU seconds computing it took (when recorded)."""

    key: str
    kind: str
    version: str
    inputs: dict[str, Any]
    sha256: str
    content: Any
    cpu_seconds: NotRequired[float]


class FileRecord(TypedDict):
    """The record beside a data file (``<key>.json`` beside ``<key>.root``): the file's size and SHA-256."""

    key: str
    kind: str
    version: str
    inputs: dict[str, Any]
    sha256: str
    bytes: int
    cpu_seconds: float


@dataclass(frozen=True)
class Entry:
    """One cache entry: where it lives and what it must contain."""

    folder: Path
    kind: str
    key: str
    inputs: dict[str, Any]

    @property
    def json_path(self) -> Path:
        return self.folder / f"{self.key}.json"

    def file_path(self, ext: str) -> Path:
        return self.folder / f"{self.key}.{ext}"

    def _discard(self, why: str, *paths: Path) -> None:
        warn(f"cache entry {self.kind}/{self.key} {why}; recomputing it")
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def load_json(self) -> Any | None:
        """The stored content, or None when absent; a damaged entry is removed (with a warning) and None returned."""
        record = self.load_record()
        return None if record is None else record["content"]

    def load_record(self) -> JsonRecord | None:
        """The whole verified record (``content`` and what is kept beside it, such as ``seconds``), or None."""
        if not self.json_path.exists() and not self.json_path.is_symlink():
            return None
        try:
            stored = loads_json(read_bytes(self.json_path, "cache record"), str(self.json_path), "cache record")
            ok = (
                isinstance(stored, dict)
                and stored["key"] == self.key
                and stored["sha256"] == _digest(stored["inputs"], stored["content"])
            )
        except (InputError, TypeError, KeyError):
            ok = False
        if not ok:
            self._discard("is damaged (checksum or key mismatch)", self.json_path)
            return None
        return cast(JsonRecord, stored)  # its key and checksum match: written by store_json

    def store_json(self, content: Any, cpu_seconds: float | None = None) -> Any:
        """Write ``content`` (JSON-able, finite numbers only) with its checksum, atomically; return it as a later
        ``load_json`` gives it back (so a first run and a cached rerun use the same data).

        ``cpu_seconds``: the CPU time computing it took (``time.process_time`` of the computing process), kept
        beside the content (not part of it) for run-time reports.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        content = json.loads(canonical_json(content))  # what is read back is exactly what was hashed
        record: JsonRecord = {
            "key": self.key,
            "kind": self.kind,
            "version": __version__,
            "inputs": self.inputs,
            "sha256": _digest(self.inputs, content),
            "content": content,
        }
        if cpu_seconds is not None:
            record["cpu_seconds"] = round(float(cpu_seconds), 4)
        write_text_atomic(self.json_path, json.dumps(record, allow_nan=False) + "\n")
        return content

    def recorded_seconds(self) -> float | None:
        """The CPU seconds computing this entry took when it was computed (None: not recorded, or no entry); for an
        entry evicted under the size limit, what its record said (``EVICTED``, beside the kind folders)."""
        try:
            v = json.loads(self.json_path.read_bytes()).get("cpu_seconds")
        except FileNotFoundError:
            v = _evicted_seconds(self.folder.parent).get(self.key)
        except (OSError, ValueError, AttributeError):
            return None
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    @property
    def _lock_path(self) -> Path:
        return self.folder / f".lock-{self.key}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the entry's lock (``.lock-<key>``, an exclusive flock): the data file, its record and their check
        change together. Processes that make the same sample at once (two masses sharing a nu nubar gamma sample)
        then make it once, and none reads, or discards as damaged, a file whose record is not yet written."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def valid_file(self, ext: str) -> Path | None:
        """The entry's data file if present and its checksum matches, else None (a damaged one is removed).

        A file that does not match its record is looked at again under the entry's lock before it is discarded:
        another process may be between writing the file and its record."""
        data, side = self.file_path(ext), self.json_path
        if not data.exists() and not side.exists():
            return None
        if self._matches(ext):
            return self._used(data)
        with self.locked():
            path = self._checked_file(ext)
        return None if path is None else self._used(path)

    def _used(self, data: Path) -> Path:
        """Record a use in the record's access time (its modification time, what the entry is, stays): eviction
        removes the least recently used first."""
        with contextlib.suppress(OSError):  # a read-only cache still reads
            os.utime(self.json_path, ns=(time.time_ns(), self.json_path.stat().st_mtime_ns))
        return data

    def ensure_file(self, ext: str, make: Callable[[Path], object]) -> Path:
        """The entry's valid data file, made by ``make(temporary path)`` first if there is none (under the lock)."""
        if self._matches(ext):
            return self._used(self.file_path(ext))
        with self.locked():
            path = self._checked_file(ext)
            if path is None:
                try:
                    with self.writing_file(ext) as tmp:
                        make(tmp)
                except BaseException:  # nothing of a failed entry stays behind, its lock included
                    self._lock_path.unlink(missing_ok=True)
                    raise
                path = self.file_path(ext)
        return path

    def _matches(self, ext: str) -> bool:
        """Whether the data file and its record are present and agree (key, size, SHA-256)."""
        data, side = self.file_path(ext), self.json_path
        try:
            stored = loads_json(read_bytes(side, "cache record"), str(side), "cache record")
            return bool(
                stored["key"] == self.key
                and stored["bytes"] == check_regular(data, "cache").stat().st_size
                and stored["sha256"] == file_sha256(data)
            )
        except (OSError, InputError, TypeError, KeyError):
            return False

    def _checked_file(self, ext: str) -> Path | None:
        data, side = self.file_path(ext), self.json_path
        if not data.exists() and not side.exists():
            return None
        if not self._matches(ext):
            self._discard("is damaged or incomplete (file checksum mismatch)", data, side)
            return None
        return data

    @contextlib.contextmanager
    def writing_file(self, ext: str) -> Iterator[Path]:
        """Yield a temporary path to write the data file to; on success it becomes the entry, with its checksum."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.file_path(ext)
        t0 = time.process_time()
        with atomic_path(final) as tmp:
            yield tmp
        record: FileRecord = {
            "key": self.key,
            "kind": self.kind,
            "version": __version__,
            "inputs": self.inputs,
            "sha256": file_sha256(final),
            "bytes": final.stat().st_size,
            "cpu_seconds": round(time.process_time() - t0, 4),
        }
        write_text_atomic(self.json_path, json.dumps(record, allow_nan=False, default=str) + "\n")


#: beside the kind folders: the CPU seconds that evicted entries took to compute ({"cpu_seconds": {key: s}}), so that
#: a report still states what its numbers cost after their samples were evicted
EVICTED = "evicted.json"


def _evicted_seconds(root: Path) -> Mapping[str, float]:
    """The ledger of evicted entries' CPU seconds; read once per version of the file (a report asks it about
    thousands of evicted samples), so it is read-only: copy it to change it."""
    try:
        st = (root / EVICTED).stat()
    except OSError:
        return {}
    return _read_ledger(str(root / EVICTED), st.st_ino, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4)
def _read_ledger(path: str, inode: int, mtime_ns: int, size: int) -> Mapping[str, float]:
    """``path``'s ledger; the file's inode, modification time and size make a new version a new call."""
    try:
        v = json.loads(Path(path).read_bytes()).get("cpu_seconds", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return types.MappingProxyType(v) if isinstance(v, dict) else {}


def _digest(inputs: Any, content: Any) -> str:
    return hashlib.sha256(canonical_json({"inputs": inputs, "content": content}).encode()).hexdigest()


class Cache:
    """The cache under ``root`` (default: :func:`default_root`)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def entry(self, kind: str, inputs: Mapping[str, Any], code: Code) -> Entry:
        """The entry of ``kind`` for these inputs, computed by ``code``."""
        plain: dict[str, Any] = json.loads(canonical_json(inputs))
        key = content_hash({"kind": kind, "inputs": plain, "code": code.digest()}, KEY_LENGTH)
        return Entry(self.folder(kind), kind, key, plain)

    def entry_by_key(self, kind: str, key: str) -> Entry:
        """An existing entry found by its key (as a provenance record names it); its inputs are not known here."""
        return Entry(self.folder(kind), kind, key, {})

    def folder(self, kind: str) -> Path:
        """The folder of ``kind``'s entries. A symbolic link or anything but a folder in its place is removed (with
        a warning), never followed: the cache writes only below its root. The root itself may be a link."""
        if kind not in KINDS:
            raise ValueError(f"cache kind {kind!r}: expected one of {KINDS}")
        path = self.root / kind
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return path
        if not stat.S_ISDIR(mode):
            warn(
                f"cache folder {path} is {'a symbolic link' if stat.S_ISLNK(mode) else 'not a folder'}; replacing "
                "it by an empty folder (its entries are recomputed)"
            )
            path.unlink()
        return path

    def info(self) -> dict[str, dict[str, int]]:
        """Entries and bytes per kind."""
        out: dict[str, dict[str, int]] = {}
        if not self.root.is_dir():
            return out
        for folder in (self.root / k for k in KINDS):
            if folder.is_symlink() or not folder.is_dir():
                continue
            files = [f for f in folder.iterdir() if f.is_file() and not f.is_symlink()]
            out[folder.name] = {
                "entries": sum(f.suffix == ".json" for f in files),
                "bytes": sum(f.stat().st_size for f in files),
            }
        return out

    def evict(self, limit_bytes: int | None = -1) -> Eviction:
        """Remove sample entries, least recently used first, until the cache is under ``limit_bytes`` (default:
        :func:`cache_limit`). Each goes under its entry's lock, so a sample being made is never removed half-way;
        the other kinds (selections, yields, limits, figures) are the results and stay."""
        limit = cache_limit() if limit_bytes == -1 else limit_bytes
        total = sum(v["bytes"] for v in self.info().values())
        if limit is None or total <= limit:
            return Eviction(0, 0, total, limit)
        candidates = []
        for kind in EVICTABLE:
            folder = self.root / kind
            if folder.is_symlink() or not folder.is_dir():
                continue
            for record in folder.glob("*.json"):
                with contextlib.suppress(OSError):
                    st = record.stat()
                    candidates.append((max(st.st_atime, st.st_mtime), kind, record.stem))
        n = freed = 0
        ledger = dict(_evicted_seconds(self.root))
        for _, kind, key in sorted(candidates):
            if total - freed <= limit:
                break
            entry = self.entry_by_key(kind, key)
            seconds = entry.recorded_seconds()
            if seconds is not None:
                ledger[key] = seconds
            with entry.locked():
                files = [f for f in entry.folder.glob(f"{key}.*") if f.is_file() and not f.is_symlink()]
                size = 0
                for f in files:
                    with contextlib.suppress(FileNotFoundError):
                        size += f.stat().st_size
                        f.unlink()
            entry._lock_path.unlink(missing_ok=True)
            n, freed = n + 1, freed + size
        if n:
            write_text_atomic(self.root / EVICTED, json.dumps({"cpu_seconds": ledger}, sort_keys=True) + "\n")
        return Eviction(n, freed, total - freed, limit)

    def clear(self, kind: str | None = None) -> int:
        """Remove every entry (or those of one kind of ``KINDS``); returns how many entries went.

        Only the cache's own kind folders are removed: anything else under the root (an output folder placed there,
        the user's files when the root is a shared folder) is left alone.
        """
        if kind is not None and kind not in KINDS:
            raise InputError(f"cache kind {kind!r}: expected one of {', '.join(KINDS)}")
        info = self.info()
        n = 0
        for k in [kind] if kind else list(KINDS):
            if k in info:
                n += info[k]["entries"]
                shutil.rmtree(self.root / k)
        if kind in (None, *EVICTABLE):
            (self.root / EVICTED).unlink(missing_ok=True)
        return n
