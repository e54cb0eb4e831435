"""One schema per file format: the configuration, yields files and sample metadata are each validated against one
JSON schema (draft 2020-12) before anything reads a field, and the first violation is one line naming the file, the
key's path, the value and what was expected.

>>> schema = {"type": "object", "required": ["mass_GeV"], "properties": {"mass_GeV": {"type": "number"}}}
>>> check_schema({"mass_GeV": "abc"}, schema, "y.json")
Traceback (most recent call last):
...
dipole_portal.core.errors.InputError: y.json: key mass_GeV: value 'abc' invalid: 'abc' is not of type 'number'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema

from dipole_portal.core.errors import InputError

_VALIDATORS: dict[str, jsonschema.Draft202012Validator] = {}


def key_path(path: Any) -> str:
    """A JSON key path as ``a/0/b``; the document itself is ``(top level)``."""
    return "/".join(str(p) for p in path) or "(top level)"


def clip(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis (messages quote values, not documents)."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        jsonschema.Draft202012Validator.check_schema(schema)
        _VALIDATORS[key] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[key]


def number(
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
) -> dict[str, Any]:
    """A JSON number (never a boolean) within the given bounds."""
    out: dict[str, Any] = {"type": "number"}
    for key, v in (
        ("minimum", minimum),
        ("maximum", maximum),
        ("exclusiveMinimum", exclusive_minimum),
        ("exclusiveMaximum", exclusive_maximum),
    ):
        if v is not None:
            out[key] = v
    return out


#: a positive, finite JSON number: a mass [GeV], an energy, a coupling d [GeV^-1] or a luminosity
POSITIVE = number(exclusive_minimum=0, maximum=1e30)


def or_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` or JSON null."""
    return {"anyOf": [dict(schema), {"type": "null"}]}


def check_schema(doc: Any, schema: Mapping[str, Any], where: str) -> None:
    """Raise InputError (one line, led by ``where``) for the first violation of ``schema`` in ``doc``; the failing
    value is quoted shortened, so a structural error at the top does not print the whole document."""
    try:
        errors = sorted(_validator(schema).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply") from None
    if errors:
        e = errors[0]
        what = e.message if len(e.message) <= 160 else clip(e.message.replace(repr(e.instance), "the value"), 160)
        raise InputError(
            f"{where}: key {key_path(e.absolute_path)}: value {clip(repr(e.instance), 80)} invalid: {clip(what, 200)}"
        )


def check_mass_range(item: Mapping[str, Any], where: str) -> None:
    """A validated record's ``lo_GeV``..``hi_GeV`` mass range, where it has both, is increasing (schemas cannot
    compare two keys).

    >>> check_mass_range({"lo_GeV": 3.0, "hi_GeV": 0.1}, "c.json: key targets/0")
    Traceback (most recent call last):
    ...
    dipole_portal.core.errors.InputError: c.json: key targets/0: lo_GeV 3.0 and hi_GeV 0.1: expected lo_GeV < hi_GeV
    """
    if "lo_GeV" in item and "hi_GeV" in item and not item["lo_GeV"] < item["hi_GeV"]:
        raise InputError(f"{where}: lo_GeV {item['lo_GeV']!r} and hi_GeV {item['hi_GeV']!r}: expected lo_GeV < hi_GeV")
