"""Content-addressed sample files: a sample's path is a hash of everything that determines its events.

A file appears under its final name only when complete (atomic write), and its metadata repeats the key,
so a cached file is trusted only if its metadata matches the key it is looked up with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.errors import InputError
from samples.generate import generate_to_root, sample_metadata
from samples.generators import DEFAULT_CHUNK, NuNuGammaSpec, SignalSpec
from samples.rootio import read_metadata


def content_hash(obj: Any, n: int = 16) -> str:
    """Stable short hash of a JSON-able object."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def derived_seed(base_seed: int, *labels: Any) -> int:
    """A reproducible per-sample seed from the run seed and the sample's identity."""
    return int(content_hash([base_seed, *labels], 15), 16)


def sample_path(spec: SignalSpec | NuNuGammaSpec, seed: int, events: int, folder: str | Path,
                chunk_size: int = DEFAULT_CHUNK) -> Path:
    """Where the sample is (or will be) cached: its process and the hash of its metadata key."""
    key = sample_metadata(spec, seed, events, chunk_size)
    return Path(folder) / f"{key['process']}_{content_hash(key)}.root"


def ensure_sample(
    spec: SignalSpec | NuNuGammaSpec,
    seed: int,
    events: int,
    folder: str | Path,
    chunk_size: int = DEFAULT_CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> Path:
    """Return the path of the sample, generating it first if no trustworthy file is cached."""
    key = sample_metadata(spec, seed, events, chunk_size)
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = sample_path(spec, seed, events, folder, chunk_size)
    if path.exists():
        try:
            meta = read_metadata(path)
            if all(meta.get(k) == v for k, v in json.loads(json.dumps(key)).items()):
                return path
        except InputError:
            pass
        path.unlink()  # stale or damaged: regenerate
    return generate_to_root(spec, path, seed, events, chunk_size=chunk_size, on_chunk=on_chunk)
