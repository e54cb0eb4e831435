"""The yields file: what ``select`` writes and ``limit``/``limits`` read, one JSON per (scenario, m_N, decay model,
counting) with efficiencies and their MC errors, cross sections, the background per channel, the fit-binned
E_gamma x theta_gamma shapes, and the provenance of every number.

One reader: the document is validated against :data:`SCHEMA` (types, enums, ranges, units as key names) and then for
what a schema cannot say (m_N below every channel's sqrt(s), arrays of equal length, decay intervals that add up);
every refusal is one line naming the file, the key's path, the value and what was expected.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from dipole_portal.core.atomic import write_json_atomic
from dipole_portal.core.config import Scenario
from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import check_name
from dipole_portal.core.options import DecayModel, DetectorModel, NType
from dipole_portal.core.schemas import check_schema, number
from dipole_portal.selections.yields import ChannelYield, ScenarioYields

YIELDS_FORMAT = "dipole-portal-yields"
YIELDS_FORMAT_VERSION = 2

#: bounds far beyond any collider, so that no formula overflows: sqrt(s) up to 100 TeV, 10^9 fb^-1, 10^12 pb
_MAX_SQRT_S_GEV, _MAX_LUMI_FB, _MAX_XSEC_PB, _MAX_EVENTS = 1e5, 1e9, 1e12, 1e15
_POSITIVE_ARRAY = {"type": "array", "items": number(minimum=0, maximum=_MAX_XSEC_PB)}
_CHANNEL = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "sqrt_s",
        "lumi_fb",
        "d_ref",
        "eps_det",
        "length_m",
        "signal_xsec_pb",
        "efficiency",
        "efficiency_err",
        "background_xsec_pb",
        "background_xsec_err_pb",
        "gap_background_events",
    ],
    "properties": {
        "sqrt_s": number(exclusive_minimum=0, maximum=_MAX_SQRT_S_GEV),  # GeV
        "lumi_fb": number(exclusive_minimum=0, maximum=_MAX_LUMI_FB),
        "d_ref": number(exclusive_minimum=0, maximum=1.0),  # GeV^-1
        "eps_det": number(exclusive_minimum=0, maximum=1.0),
        "length_m": number(exclusive_minimum=0, maximum=1e4),
        "width_factor": number(exclusive_minimum=0, maximum=1e3),
        "polarisation": {"type": "array", "minItems": 2, "maxItems": 2, "items": number(minimum=-1, maximum=1)},
        "signal_xsec_pb": number(minimum=0, maximum=_MAX_XSEC_PB),
        "efficiency": number(minimum=0, maximum=1),
        "efficiency_err": number(minimum=0, maximum=1),
        "background_xsec_pb": number(minimum=0, maximum=_MAX_XSEC_PB),
        "background_xsec_err_pb": number(minimum=0, maximum=_MAX_XSEC_PB),
        "gap_background_events": number(minimum=0, maximum=_MAX_EVENTS),
        "fit_signal_pb": {"oneOf": [{"type": "null"}, _POSITIVE_ARRAY]},
        "fit_background_pb": {"oneOf": [{"type": "null"}, _POSITIVE_ARRAY]},
        "fit_background_var_pb2": {"oneOf": [{"type": "null"}, _POSITIVE_ARRAY]},
        "decay_k_mean": {
            "oneOf": [
                {"type": "null"},
                {"type": "array", "minItems": 1, "items": number(exclusive_minimum=0, maximum=1e30)},
            ]
        },
        "decay_k_fraction": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "array", "minItems": 1, "items": number(minimum=0, maximum=1)},
                },
            ]
        },
        "decay_u_edges": {
            "oneOf": [{"type": "null"}, {"type": "array", "minItems": 2, "items": number(minimum=0, maximum=1)}]
        },
    },
}
#: the yields file's schema (JSON Schema draft 2020-12); the enums are the command line's choices
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "format",
        "format_version",
        "scenario",
        "mass_GeV",
        "decay_model",
        "n_cc_modes",
        "constants",
        "channels",
    ],
    "properties": {
        "format": {"const": YIELDS_FORMAT},
        "format_version": {"const": YIELDS_FORMAT_VERSION},
        "scenario": {"type": "string"},  # a file name too: checked by check_name
        "scenario_definition": {"type": "object"},
        "mass_GeV": number(exclusive_minimum=0, maximum=_MAX_SQRT_S_GEV),
        "decay_model": {"enum": [str(m) for m in DecayModel]},
        "n_cc_modes": {"enum": [1, 2]},
        "detector_model": {"enum": [str(m) for m in DetectorModel]},
        "n_type": {"enum": [str(m) for m in NType]},
        "units": {"type": "object"},
        "constants": {
            "type": "object",
            "additionalProperties": False,
            "required": [f.name for f in fields(PhysicsConstants)],
            "properties": {f.name: number(exclusive_minimum=0, maximum=1e30) for f in fields(PhysicsConstants)},
        },
        "channels": {"type": "array", "minItems": 1, "items": _CHANNEL},
        "provenance": {"type": "object"},
    },
}
_FIT_ARRAYS = ("fit_signal_pb", "fit_background_pb", "fit_background_var_pb2")


def yields_record(y: ScenarioYields, scenario: Scenario, constants: PhysicsConstants = DEFAULT_CONSTANTS) -> dict:
    """The JSON content of a yields file."""
    return {
        "format": YIELDS_FORMAT,
        "format_version": YIELDS_FORMAT_VERSION,
        "scenario": scenario.name,
        "scenario_definition": scenario.as_dict(),
        "mass_GeV": y.mass,
        "decay_model": str(y.decay_model),
        "n_cc_modes": y.n_modes,
        "detector_model": str(y.detector_model),
        "n_type": str(y.n_type),
        "units": {"xsec": "pb", "lumi": "fb^-1", "length": "m", "d": "GeV^-1", "mass": "GeV", "background": "events"},
        "constants": constants.as_dict(),
        "channels": [
            {
                f.name: getattr(c, f.name)
                for f in fields(c)
                if f.name not in ("constants", "mass") and not (f.name == "polarisation" and c.polarisation is None)
            }
            for c in y.channels
        ],
        "provenance": y.provenance,
    }


def write_yields(
    path: str | os.PathLike[str], y: ScenarioYields, scenario: Scenario, constants: PhysicsConstants = DEFAULT_CONSTANTS
) -> Path:
    """Write the yields file (JSON) atomically."""
    return write_json_atomic(path, yields_record(y, scenario, constants))


def yields_from_record(record: Any, where: str = "yields") -> ScenarioYields:
    """Check a yields record (from a file or the cache) and build the ScenarioYields it describes."""
    if not isinstance(record, dict) or record.get("format") != YIELDS_FORMAT:
        raise InputError(f"{where}: not a yields file (format {YIELDS_FORMAT!r} expected)")
    if record.get("format_version") != YIELDS_FORMAT_VERSION:
        raise InputError(
            f"{where}: format_version {record.get('format_version')!r}, this version reads {YIELDS_FORMAT_VERSION}"
        )
    check_schema(record, SCHEMA, where)
    mass = float(record["mass_GeV"])
    try:
        constants = PhysicsConstants(**record["constants"])
    except InputError as exc:
        raise InputError(f"{where}: key constants: {exc}") from None
    channels = []
    for i, c in enumerate(record["channels"]):
        _check_channel(c, mass, f"{where}: key channels/{i}")
        channels.append(ChannelYield(mass=mass, constants=constants, **c))
    name = check_name(record["scenario"], f"{where}: scenario")
    return ScenarioYields(
        name,
        mass,
        record["decay_model"],
        int(record["n_cc_modes"]),
        channels,
        record.get("provenance", {}),
        record.get("detector_model", str(DetectorModel.PAPER)),
        record.get("n_type", str(NType.DIRAC)),
    )


def _check_channel(c: dict, mass: float, where: str) -> None:
    """What the schema cannot say about one channel: N can be produced, the fit arrays are all given or all absent
    and of one length, and a realistic detector step's decay parameters fit together (see :func:`_check_decay_k`)."""
    if not mass < c["sqrt_s"]:
        raise InputError(
            f"{where}/sqrt_s: value {c['sqrt_s']!r} invalid: N of mass_GeV {mass!r} cannot be produced; "
            "expected sqrt(s) above m_N"
        )
    lengths = [None if c.get(k) is None else len(c[k]) for k in _FIT_ARRAYS]
    if any(n is not None for n in lengths) and (None in lengths or len(set(lengths)) != 1):
        raise InputError(f"{where}: {'/'.join(_FIT_ARRAYS)} of lengths {lengths}: expected three lists of equal length")
    _check_decay_k(c, where)


def _check_decay_k(c: dict, where: str) -> None:
    """A realistic detector step's per-event decay parameters: absent, or one share per (k, decay interval), edges
    increasing from 0 to 1; each interval's shares sum to at most 1, and to 1 with a single interval."""
    k, f, e = c.get("decay_k_mean"), c.get("decay_k_fraction"), c.get("decay_u_edges")
    if k is None and f is None and e is None:
        return
    ok = False
    if k is not None and f is not None and e is not None and e[0] == 0 and e[-1] == 1:
        ok = all(a < b for a, b in zip(e[:-1], e[1:], strict=False)) and len(k) == len(f)
        ok = ok and all(len(r) == len(e) - 1 for r in f)
        if ok:
            sums = np.sum(np.asarray(f, dtype=float), axis=0)
            ok = bool(np.all(sums <= 1 + 1e-6)) and (len(e) > 2 or abs(sums[0] - 1) < 1e-6)
    if not ok:
        raise InputError(
            f"{where}: decay_k_mean/decay_k_fraction/decay_u_edges: expected a list of finite positive "
            "k, per k a list of shares in [0, 1] (one per decay interval; each interval's shares summing "
            "to at most 1, exactly 1 with one interval), and increasing edges from 0 to 1"
        )


def read_yields(path: str | os.PathLike[str]) -> ScenarioYields:
    """Read a yields file written by ``select`` (or by the pipeline); errors name the file and key."""
    from dipole_portal.core.readers import read_json

    p = Path(path)
    return yields_from_record(read_json(p, "yields"), str(p))
