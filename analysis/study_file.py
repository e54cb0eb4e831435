"""The model study as a file format: ``limits/model_study.json``, written by ``run`` and read by the report and
its verdict. One reader, :func:`read_model_study`, checks it against its schema (its limits are limit-table rows)
and returns a :class:`ModelStudy`."""

from __future__ import annotations

import os
from typing import Any, TypedDict, cast

from dipole_portal.core.errors import InputError
from dipole_portal.core.schemas import check_schema, number
from dipole_portal.stats.limit_table import ROW_SCHEMA, LimitRow
from dipole_portal.stats.limits import LimitResult


class TargetRecord(TypedDict):
    """A statement of the paper: ``scenario``'s d95 [GeV^-1] for lo < m_N < hi [GeV] is about ``paper_d95``."""

    scenario: str
    lo_GeV: float
    hi_GeV: float
    paper_d95: float
    statement: str
    derived: bool


class ModelStudy(TypedDict):
    """The decay-model and counting study: the paper's targets in the run, the configuration's comparisons, the
    curves' decay model, every limit of the study, and the run's preset, seed and physics constants."""

    targets: list[TargetRecord]
    comparisons: list[dict[str, Any]]
    decay_model: str
    limits: list[LimitRow]
    preset: str
    seed: int
    constants: dict[str, float]


_TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["scenario", "lo_GeV", "hi_GeV", "paper_d95", "statement", "derived"],
    "properties": {
        "scenario": {"type": "string"},
        "lo_GeV": number(minimum=0),
        "hi_GeV": number(exclusive_minimum=0),
        "paper_d95": number(exclusive_minimum=0),
        "statement": {"type": "string"},
        "derived": {"type": "boolean"},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["targets", "comparisons", "decay_model", "limits", "preset", "seed", "constants"],
    "properties": {
        "targets": {"type": "array", "items": _TARGET_SCHEMA},
        "comparisons": {"type": "array", "items": {"type": "object"}},
        "decay_model": {"type": "string"},
        "limits": {"type": "array", "items": ROW_SCHEMA},
        "preset": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0},
        "constants": {"type": "object", "additionalProperties": number()},
    },
}


def read_model_study(path: str | os.PathLike[str]) -> ModelStudy:
    """``model_study.json`` checked against its schema, its limits as ``LimitResult``s (ordered bands)."""
    from dipole_portal.core.readers import read_json

    data = read_json(path, "model study")
    check_schema(data, SCHEMA, str(path))
    for i, row in enumerate(data["limits"]):
        try:
            LimitResult(**row).validate()
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: key limits/{i}: not a limit ({' '.join(str(exc).split())[:200]})") from None
    return cast(ModelStudy, data)
