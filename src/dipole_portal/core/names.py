"""One gate for every name that becomes part of a path, and lossless labels for masses.

A scenario name reaches file names from the configuration, from a yields file and from the command line; each
passes ``check_name``, so none can climb out of an output folder (``../x``), make a subfolder (``a/b``) or be
empty. Masses become file names through ``mass_label``, which keeps every digit of the float: two masses give
two names.

>>> check_name("stcf-4gev", "scenario")
'stcf-4gev'
>>> check_name("../../escaped", "scenario in y.json")
Traceback (most recent call last):
...
dipole_portal.core.errors.InputError: scenario in y.json '../../escaped': expected 1-64 letters, digits, ...
>>> [mass_label(m) for m in (1.0, 0.1, 0.1000001, 2.55931, 1e-05, 12.0)]
['1', '0p1', '0p1000001', '2p55931', '1em05', '12']
"""

from __future__ import annotations

import math
import re

from dipole_portal.core.errors import InputError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
NAME_RULE = "1-64 letters, digits, '_', '.', '+' or '-', starting with a letter or digit (it names files)"


def check_name(name: object, what: str) -> str:
    """``name`` if it is a safe file-name part (``NAME_RULE``); else an InputError naming ``what`` and the value."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError(f"{what} {name!r}: expected {NAME_RULE}")
    return name


def mass_text(mass_GeV: float) -> str:
    """A mass in GeV with every digit (shortest round-trip repr), integral masses without '.0': file names.

    >>> mass_text(0.05), mass_text(1.0), mass_text(1.0000001)
    ('0.05', '1', '1.0000001')
    """
    if not math.isfinite(mass_GeV):
        raise InputError(f"mass {mass_GeV!r}: expected a finite number of GeV")
    text = repr(float(mass_GeV))
    return text[:-2] if text.endswith(".0") else text


def mass_label(mass_GeV: float) -> str:
    """``mass_text`` with '.' -> 'p' and '-' -> 'm', for names that allow letters, digits and '_' only (pyhf's patch
    names). Different floats give different labels."""
    return mass_text(mass_GeV).replace(".", "p").replace("-", "m").replace("+", "")
