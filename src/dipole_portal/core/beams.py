"""Head-on e+e- beams and the CM -> lab boost along the beam axis (used by the configuration and the generators).

The CM z axis points along the e- beam. Belle II (e- 7 GeV, e+ 4 GeV) moves with beta = 3/11 along +z:

>>> b = Beams(7.0, 4.0)
>>> round(b.sqrt_s, 3), round(b.beta, 6)
(10.583, 0.272727)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from dipole_portal.core.errors import InputError


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
