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
    """Where an N decay counts and what the calorimeter sees (issue 16). Each step adds one effect to the one
    before it, so the report can show each alone: paper -> geometry -> direction -> realistic."""

    PAPER = "paper"  # the paper's idealisation: a decay within l_D of the collision point (eq. 5)
    GEOMETRY = "geometry"  # per event, along the N flight direction, inside the calorimeter's inner surface
    DIRECTION = "direction"  # + the photon direction the calorimeter measures (collision point -> impact point)
    REALISTIC = "realistic"  # + the calorimeter's energy and position resolution

    @property
    def decay_volume(self) -> bool:
        """Whether decays count per event inside the configured decay volume."""
        return self is not DetectorModel.PAPER

    @property
    def measured_direction(self) -> bool:
        """Whether the cuts see the direction from the collision point to the calorimeter impact point."""
        return self in (DetectorModel.DIRECTION, DetectorModel.REALISTIC)

    @property
    def resolution(self) -> bool:
        """Whether photon energy and impact position are smeared with the calorimeter's resolution."""
        return self is DetectorModel.REALISTIC


class NType(StrEnum):
    """Dirac or Majorana N (issue 16; DarkNews conventions, ``decay_rates.gamma_Ni_to_Nj_gamma``): with the same
    dipole coupling d, a Majorana N decays to nu gamma and nubar gamma, so its width is twice the Dirac width and
    its photon is isotropic in its rest frame; production (N nubar and N nu, like the Dirac N nubar + Nbar nu)
    keeps the two counted modes."""

    DIRAC = "dirac"
    MAJORANA = "majorana"

    @property
    def width_factor(self) -> float:
        """Total width relative to the Dirac N -> nu gamma width d^2 m^3 / (4 pi)."""
        return 2.0 if self is NType.MAJORANA else 1.0


class Operator(StrEnum):
    """Which field the dipole couples to above the weak scale, fixing d_Z / d_gamma (``free``: a given ratio)."""

    PHOTON = "photon"  # d_Z = 0: the paper
    HYPERCHARGE = "hypercharge"  # B_{mu nu}: d_Z = -tan(theta_W) d_gamma
    WEAK_ISOSPIN = "weak-isospin"  # W^3_{mu nu}: d_Z = +cot(theta_W) d_gamma
    FREE = "free"


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
DEFAULT_N_TYPE = NType.DIRAC
DEFAULT_EVENTS = 100_000  # MC events per sample, every command
DEFAULT_SEED = 1
DEFAULT_D_REF = 1e-5  # GeV^-1, the reference coupling of signal samples
DEFAULT_CC_MODES = 2  # N nubar + Nbar nu (a Dirac N)

E = TypeVar("E", bound=StrEnum)


def parse_option(enum: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``enum``, or an InputError naming ``what`` and the allowed values."""
    try:
        return enum(value)  # type: ignore[arg-type]  # any value is tried: a bad one is the InputError below
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InputError(f"{what} {value!r}: expected one of {allowed}") from None
