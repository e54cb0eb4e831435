"""The limit table as a file format: ``<scenario>_limits.json`` rows are :class:`LimitResult` records.

Readers downstream (the report, the verdict, the HEPData export, the figures) take a :class:`LimitTable` from
:func:`read_limit_table`, which reads through the project's reader gate and checks every row as a ``LimitResult``
(types and ranges of the fields present, ordered bands), so a hand-edited or foreign table is refused in one line.
"""

from __future__ import annotations

import os
from typing import Any, NotRequired, TypedDict, cast

from dipole_portal.core.errors import InputError
from dipole_portal.core.options import DecayModel, DetectorModel, Method, NType
from dipole_portal.core.schemas import POSITIVE, check_schema, number, or_null

_COUNT = number(minimum=0, maximum=1e30)  # expected events

#: a row of a limit table: every field of ``LimitResult`` with its type and range (d in GeV^-1, m_N in GeV)
ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [],  # filled below: every field
    "properties": {
        "scenario": {"type": "string"},
        "mass_GeV": POSITIVE,
        "decay_model": {"enum": [str(m) for m in DecayModel]},
        "n_cc_modes": {"enum": [1, 2]},
        "method": {"enum": [str(m) for m in Method]},
        "model": {"type": "string"},
        "d95": POSITIVE,
        "d95_chi2": POSITIVE,
        "d95_cls": or_null(POSITIVE),
        "d95_cls_bands": or_null({"type": "array", "items": POSITIVE, "minItems": 5, "maxItems": 5}),
        "calculator": or_null({"type": "string"}),
        "signal_events": _COUNT,
        "background_events": _COUNT,
        "background_events_irreducible": _COUNT,
        "efficiency": {"type": "array", "items": number(minimum=0, maximum=1)},
        "channels": {"type": "array", "minItems": 1, "items": POSITIVE},
        "hypotests": {"type": "integer", "minimum": 0},
        "systematics": or_null({"type": "object"}),
        "d95_mc_rel_err": or_null(number(minimum=0, maximum=1e6)),
        "detector_model": {"enum": [str(m) for m in DetectorModel]},
        "n_type": {"enum": [str(m) for m in NType]},
    },
}
ROW_SCHEMA["required"] = list(ROW_SCHEMA["properties"])
#: a row as a table may hold it: the mass and the two limits, every other field typed where present
TABLE_ROW_SCHEMA: dict[str, Any] = {**ROW_SCHEMA, "required": ["mass_GeV", "d95", "d95_chi2"]}

#: a limit table (``<scenario>_limits.json``)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["scenario", "limits"],
    "properties": {
        "scenario": {"type": "string"},
        "label": {"type": "string"},
        "units": {"type": "object", "additionalProperties": {"type": "string"}},
        "limits": {"type": "array", "minItems": 1, "items": TABLE_ROW_SCHEMA},
        "electroweak": {
            "type": "object",
            "required": ["operator", "dz_over_dgamma"],
            "properties": {"operator": {"type": "string"}, "dz_over_dgamma": {"type": "number"}},
        },
    },
}


class LimitRow(TypedDict):
    """One limit (``LimitResult.as_dict()``): masses in GeV, couplings d in GeV^-1, event counts. A table needs
    only the mass and the two limits; ``run`` and ``limits`` write every field."""

    scenario: NotRequired[str]
    mass_GeV: float
    decay_model: NotRequired[str]
    n_cc_modes: NotRequired[int]
    method: NotRequired[str]
    model: NotRequired[str]
    d95: float
    d95_chi2: float
    d95_cls: NotRequired[float | None]
    d95_cls_bands: NotRequired[list[float] | None]
    calculator: NotRequired[str | None]
    signal_events: NotRequired[float]
    background_events: NotRequired[float]
    background_events_irreducible: NotRequired[float]
    efficiency: NotRequired[list[float]]
    channels: NotRequired[list[float]]
    hypotests: NotRequired[int]
    systematics: NotRequired[dict[str, Any] | None]
    d95_mc_rel_err: NotRequired[float | None]
    detector_model: NotRequired[str]
    n_type: NotRequired[str]


class LimitTable(TypedDict):
    """A scenario's limit table: its plot label, the units, and the limits in the order written."""

    scenario: str
    label: NotRequired[str]
    units: NotRequired[dict[str, str]]
    limits: list[LimitRow]
    #: with Z exchange: the operator and d_Z / d_gamma (the limits are then on d_gamma)
    electroweak: NotRequired[dict[str, Any]]


def read_limit_table(path: str | os.PathLike[str]) -> LimitTable:
    """A limit table written by this package, every row checked as a ``LimitResult``; else an InputError that
    names the file and the row."""
    from dipole_portal.core.readers import read_json

    data = read_json(path, "limit table")
    check_schema(data, SCHEMA, str(path))
    for i, row in enumerate(data["limits"]):  # then what a schema cannot say: ordered bands
        bands = row.get("d95_cls_bands")
        if bands is not None and list(bands) != sorted(bands):
            raise InputError(f"{path}: key limits/{i}/d95_cls_bands: value {bands!r}, expected ascending quantiles")
    return cast(LimitTable, data)
