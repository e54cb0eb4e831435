"""Typed options, declared once: every command, function and file uses these names and defaults.

The enums are ``StrEnum``: a member equals its string, so JSON files and command lines carry plain strings.

>>> DecayModel("exact") is DecayModel.EXACT
True
>>> parse_option(Method, "bayes", "--method")
Traceback (most recent call last):
...
dipole_portal.core.errors.InputError: --method 'bayes': expected one of chi2, cls
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from dipole_portal.core.errors import InputError


class DecayModel(StrEnum):
    """Photon angular law in the N rest frame (SPEC section 1)."""

    EXACT = "exact"  # the full spin correlation of the matrix element (P_L and P_T): the default
    HELICITY = "helicity"  # the helicity-diagonal part only (P_L)
    BACKWARD = "backward"  # 1 - cos(theta*), as the paper states
    ISOTROPIC = "isotropic"
    FORWARD = "forward"


class DetectorModel(StrEnum):
    """Where an N decay counts and what the calorimeter sees (issue 16)."""

    PAPER = "paper"  # the paper's idealisation: a decay within l_D of the collision point (eq. 5)
    REALISTIC = "realistic"  # per event, along the N flight direction, inside the calorimeter's inner surface


class Process(StrEnum):
    SIGNAL = "signal"  # e+e- -> N nubar (+ Nbar nu), N -> nu gamma
    NUNUGAMMA = "nunugamma"  # SM e+e- -> nu nubar gamma


class Method(StrEnum):
    CHI2 = "chi2"  # the paper's S^2/(S+B) = 2.71
    CLS = "cls"  # pyhf CLs (the chi2 limit is always reported too)


class Calculator(StrEnum):
    AUTO = "auto"  # toys below TOYS_BELOW_BACKGROUND expected background events, else asymptotic
    ASYMPTOTIC = "asymptotic"
    TOYS = "toys"


DEFAULT_DECAY_MODEL = DecayModel.EXACT
DEFAULT_DETECTOR_MODEL = DetectorModel.PAPER
DEFAULT_EVENTS = 100_000  # MC events per sample, every command
DEFAULT_SEED = 1
DEFAULT_D_REF = 1e-5  # GeV^-1, the reference coupling of signal samples
DEFAULT_CC_MODES = 2  # N nubar + Nbar nu (a Dirac N)

E = TypeVar("E", bound=StrEnum)


def parse_option(enum: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``enum``, or an InputError naming ``what`` and the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InputError(f"{what} {value!r}: expected one of {allowed}") from None
