"""Beams, boosts and phase-space regions shared by the generators.

The CM z axis points along the e- beam. Belle II (e- 7 GeV, e+ 4 GeV) moves with beta = 3/11 along +z:

>>> b = Beams(7.0, 4.0)
>>> round(b.sqrt_s, 3), round(b.beta, 6)
(10.583, 0.272727)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from analysis.errors import InputError


@dataclass(frozen=True)
class Beams:
    """Head-on beams of massless e- and e+; energies in GeV, e- along +z."""

    e_minus: float
    e_plus: float

    def __post_init__(self) -> None:
        for key in ("e_minus", "e_plus"):
            v = getattr(self, key)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"beam energy {key}={v!r}: expected a finite positive energy in GeV")

    @property
    def sqrt_s(self) -> float:
        return 2.0 * math.sqrt(self.e_minus * self.e_plus)

    @property
    def beta(self) -> float:
        """Velocity of the CM frame in the lab, along +z (the e- direction)."""
        return (self.e_minus - self.e_plus) / (self.e_minus + self.e_plus)

    @property
    def symmetric(self) -> bool:
        return self.e_minus == self.e_plus

    @classmethod
    def symmetric_at(cls, sqrt_s: float) -> Beams:
        return cls(sqrt_s / 2.0, sqrt_s / 2.0)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def boost_z(E: np.ndarray, pz: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Boost (E, pz) by velocity ``beta`` along +z: the CM -> lab transformation of the generators."""
    gamma = 1.0 / math.sqrt(1.0 - beta * beta)
    return gamma * (E + beta * pz), gamma * (pz + beta * E)


@dataclass(frozen=True)
class PhaseSpaceRegion:
    """A CM-frame box in photon energy (GeV) and cos(theta) in which nu nubar gamma is generated."""

    E_min: float
    E_max: float
    cos_min: float
    cos_max: float

    def validate(self, sqrt_s: float) -> PhaseSpaceRegion:
        vals = asdict(self)
        if not all(math.isfinite(v) for v in vals.values()):
            raise InputError(f"phase-space region {vals}: every bound must be finite")
        if not 0 < self.E_min < self.E_max <= sqrt_s / 2:
            raise InputError(
                f"phase-space region E=[{self.E_min}, {self.E_max}] GeV: expected 0 < E_min < E_max <= sqrt(s)/2"
                f" = {sqrt_s / 2:g} GeV"
            )
        if not -1 < self.cos_min < self.cos_max < 1:
            raise InputError(
                f"phase-space region cos=[{self.cos_min}, {self.cos_max}]: expected -1 < cos_min < cos_max < 1"
            )
        return self

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
