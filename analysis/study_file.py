"""The run's study files as file formats, each with its TypedDict, its schema and one reader that checks it:

- ``limits/model_study.json`` (:func:`read_model_study` -> :class:`ModelStudy`), read by the report and the verdict;
- ``limits/beyond_paper.json`` (:func:`read_beyond_paper` -> :class:`BeyondPaper`);
- ``limits/beyond_detector.json`` (:func:`read_beyond_detector` -> :class:`BeyondDetector`).

All are written by ``run``; a hand-edited or foreign file is refused in one line naming the file and key.
"""

from __future__ import annotations

import functools
import os
from typing import Any, NotRequired, TypedDict, cast

from dipole_portal.core.config import config_schema
from dipole_portal.core.errors import InputError
from dipole_portal.core.schemas import POSITIVE, check_mass_range, check_schema, number, or_null
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


class ComparisonRecord(TypedDict):
    """A qualitative statement of the paper checked on the curves: ``better_everywhere`` and ``ratio`` compare the
    first of two scenarios with the second (a ratio over lo < m_N < hi GeV where given), ``order_at_lowest_mass``
    orders two or more."""

    kind: str
    scenarios: list[str]
    statement: str
    lo_GeV: NotRequired[float]
    hi_GeV: NotRequired[float]


class ModelStudy(TypedDict):
    """The decay-model and counting study: the paper's targets in the run, the configuration's comparisons, the
    curves' decay model, every limit of the study, and the run's preset, seed and physics constants."""

    targets: list[TargetRecord]
    comparisons: list[ComparisonRecord]
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
        "lo_GeV": number(exclusive_minimum=0),
        "hi_GeV": number(exclusive_minimum=0),
        "paper_d95": number(exclusive_minimum=0),
        "statement": {"type": "string"},
        "derived": {"type": "boolean"},
    },
}


@functools.cache
def model_study_schema() -> dict[str, Any]:
    """The schema of ``model_study.json``; its comparisons use the configuration's own schema (they are copied
    from the configuration)."""
    comparison = config_schema()["properties"]["comparisons"]["items"]
    return {
        "type": "object",
        "required": ["targets", "comparisons", "decay_model", "limits", "preset", "seed", "constants"],
        "properties": {
            "targets": {"type": "array", "items": _TARGET_SCHEMA},
            "comparisons": {"type": "array", "items": comparison},
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
    check_schema(data, model_study_schema(), str(path))
    for kind in ("targets", "comparisons"):
        for i, item in enumerate(data[kind]):
            check_mass_range(item, f"{path}: key {kind}/{i}")
    for i, row in enumerate(data["limits"]):
        try:
            LimitResult(**row).validate()
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: key limits/{i}: not a limit ({' '.join(str(exc).split())[:200]})") from None
    return cast(ModelStudy, data)


class BeyondPaperRow(TypedDict):
    """At ``mass_GeV`` of ``scenario``: d95 [GeV^-1] with one ``variant`` of the counting model, beside the
    ``reference`` limit (described) it varies, and the calculator that gave it."""

    scenario: str
    mass_GeV: float
    variant: str
    reference: str
    reference_d95: float
    d95: float
    calculator: str | None


class BeyondPaper(TypedDict):
    """``beyond_paper.json``: the shape-fit and background-normalisation variants."""

    rows: list[BeyondPaperRow]


class DetectorStepRecord(TypedDict):
    """One step of the realistic detector: its name, what it adds, and the task fields it changes."""

    name: str
    adds: str
    detector_model: str
    n_type: NotRequired[str]


class DecayVolumeRecord(TypedDict):
    """The calorimeter's inner surface as a cylinder: radius and the two end caps' z [m] (backward negative), with
    its source."""

    radius_m: float
    z_forward_m: float
    z_backward_m: float
    source: NotRequired[str]


class DetectorRow(TypedDict):
    """A target's mass ``where`` (for instance its best limit) with the paper's d95 and each step's [GeV^-1]."""

    scenario: str
    mass_GeV: float
    where: str
    d95_paper: float
    calculator: str | None
    d95: dict[str, float]
    decay_volume: DecayVolumeRecord
    calorimeter_resolution: dict[str, Any] | None


class BeyondDetector(TypedDict):
    """``beyond_detector.json``: the detector steps and, per row, the limit at each."""

    steps: list[DetectorStepRecord]
    rows: list[DetectorRow]


_CALCULATOR = or_null({"type": "string"})


def _record(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A JSON object with these properties, all of them required unless ``required`` names fewer."""
    return {"type": "object", "required": list(properties) if required is None else required, "properties": properties}


def _rows(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


BEYOND_PAPER_SCHEMA: dict[str, Any] = _record(
    {
        "rows": _rows(
            _record(
                {
                    "scenario": {"type": "string"},
                    "mass_GeV": POSITIVE,
                    "variant": {"type": "string"},
                    "reference": {"type": "string"},
                    "reference_d95": POSITIVE,
                    "d95": POSITIVE,
                    "calculator": _CALCULATOR,
                }
            )
        )
    }
)


@functools.cache
def beyond_detector_schema() -> dict[str, Any]:
    """The schema of ``beyond_detector.json``; its detector keys use the configuration's own schema, from which
    the table copies them."""
    detector = config_schema()["properties"]["detectors"]["additionalProperties"]["properties"]
    step = {k: {"type": "string"} for k in ("name", "adds", "detector_model", "n_type")}
    row = {
        "scenario": {"type": "string"},
        "mass_GeV": POSITIVE,
        "where": {"type": "string"},
        "d95_paper": POSITIVE,
        "calculator": _CALCULATOR,
        "d95": {"type": "object", "additionalProperties": POSITIVE},
        "decay_volume": detector["decay_volume"],
        "calorimeter_resolution": or_null(detector["calorimeter_resolution"]),
    }
    return _record({"steps": _rows(_record(step, ["name", "adds", "detector_model"])), "rows": _rows(_record(row))})


def read_beyond_paper(path: str | os.PathLike[str]) -> BeyondPaper:
    """``beyond_paper.json`` checked against its schema."""
    from dipole_portal.core.readers import read_json

    data = read_json(path, "beyond-the-paper table")
    check_schema(data, BEYOND_PAPER_SCHEMA, str(path))
    return cast(BeyondPaper, data)


def read_beyond_detector(path: str | os.PathLike[str]) -> BeyondDetector:
    """``beyond_detector.json`` checked against its schema, and every row giving a d95 for every step."""
    from dipole_portal.core.readers import read_json

    data = read_json(path, "beyond-the-detector table")
    check_schema(data, beyond_detector_schema(), str(path))
    names = [s["name"] for s in data["steps"]]
    for i, row in enumerate(data["rows"]):
        missing = [n for n in names if n not in row["d95"]]
        if missing:
            raise InputError(f"{path}: key rows/{i}/d95: no limit for step {missing[0]!r}; expected one per step")
    return cast(BeyondDetector, data)
