"""Samples in the content-addressed cache: a sample's entry is keyed on everything that determines its events
(generator settings, seed, MC statistics, physics constants) and on the generator's source code.

A cached file is used only when its checksum matches (verified on every read); a damaged one is regenerated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from dipole_portal.core.cache import SAMPLE_CODE, Cache, Entry
from dipole_portal.samples.generate import generate_to_root, sample_metadata
from dipole_portal.samples.generators import DEFAULT_CHUNK, NuNuGammaSpec, SignalSpec

KIND = "samples"


def derived_seed(base_seed: int, *labels: object) -> int:
    """A reproducible per-sample seed from the run seed and the sample's identity.

    The serialisation is fixed (json.dumps defaults, sorted keys) so that the same identity keeps the same seed
    across versions: the paper-preset tables depend on it bit for bit.

    >>> derived_seed(1, "signal", 4.0, 1.0, "helicity", 2)
    395050978939556792
    """
    text = json.dumps(
        [base_seed, *[str(x) if isinstance(x, StrEnum) else x for x in labels]], sort_keys=True, default=str
    )
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def sample_entry(
    spec: SignalSpec | NuNuGammaSpec, seed: int, events: int, cache: Cache, chunk_size: int = DEFAULT_CHUNK
) -> Entry:
    """The cache entry of a sample (its inputs are the metadata written into the file)."""
    return cache.entry(KIND, sample_metadata(spec, seed, events, chunk_size), SAMPLE_CODE)


def cached_sample(
    spec: SignalSpec | NuNuGammaSpec, seed: int, events: int, cache: Cache, chunk_size: int = DEFAULT_CHUNK
) -> Path | None:
    """The path of a valid cached sample, or None."""
    return sample_entry(spec, seed, events, cache, chunk_size).valid_file("root")


def ensure_sample(
    spec: SignalSpec | NuNuGammaSpec,
    seed: int,
    events: int,
    cache: Cache,
    chunk_size: int = DEFAULT_CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> Path:
    """The path of the sample, generated first if the cache holds no valid copy."""
    entry = sample_entry(spec, seed, events, cache, chunk_size)
    return entry.ensure_file(
        "root", lambda tmp: generate_to_root(spec, tmp, seed, events, chunk_size=chunk_size, on_chunk=on_chunk)
    )
