"""The run manifest as a file format: ``<output>/manifest.json`` records a run's settings and the files it made
(paths relative to the output folder), so the next run into the same folder removes what this one made and that
one does not. One writer, :func:`write_manifest`, and one reader, :func:`manifest_files`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypedDict, cast

from dipole_portal.core.atomic import write_json_atomic
from dipole_portal.core.errors import InputError
from dipole_portal.core.schemas import check_schema

MANIFEST = "manifest.json"


class RunSettingsRecord(TypedDict):
    """What the run was asked for: preset, seed, the curves' photon law and detector model, the scenarios."""

    preset: str
    seed: int
    decay_model: str
    scenarios: list[str]
    detector_model: str


class RunManifest(TypedDict):
    """A run's settings and its files, relative to the output folder."""

    settings: RunSettingsRecord
    files: list[str]


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["settings", "files"],
    "properties": {
        "settings": {
            "type": "object",
            "required": list(RunSettingsRecord.__annotations__),  # every key
            "properties": {
                "preset": {"type": "string"},
                "seed": {"type": "integer", "minimum": 0},
                "decay_model": {"type": "string"},
                "scenarios": {"type": "array", "items": {"type": "string"}},
                "detector_model": {"type": "string"},
            },
        },
        "files": {"type": "array", "items": {"type": "string"}},
    },
}


def write_manifest(output: Path, files: dict[str, list[Path]], settings: RunSettingsRecord) -> Path:
    """Record the run's outputs ``files`` (absolute paths under ``output``) and ``settings`` in ``output``."""
    mine = {str(Path(p).resolve().relative_to(output.resolve())) for ps in files.values() for p in ps}
    manifest: RunManifest = {"settings": settings, "files": sorted(mine)}
    return write_json_atomic(output / MANIFEST, manifest)


def read_manifest(path: str | os.PathLike[str]) -> RunManifest:
    """A manifest checked against its schema."""
    from dipole_portal.core.readers import read_json

    data = read_json(path, "run manifest")
    check_schema(data, SCHEMA, str(path))
    return cast(RunManifest, data)


def manifest_files(folder: Path) -> list[str]:
    """The files an earlier run recorded in ``folder``'s manifest; [] when there is none or it is not one (then
    nothing of the earlier run is removed: an unreadable manifest never deletes files)."""
    if not (folder / MANIFEST).is_file():
        return []
    try:
        return read_manifest(folder / MANIFEST)["files"]
    except InputError:
        return []
