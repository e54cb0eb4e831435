"""Phase-space regions of the generators; beams and the CM -> lab boost come from the foundation.

>>> PhaseSpaceRegion(0.5, 1.9, -0.8, 0.8).validate(4.0).E_max
1.9
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from dipole_portal.core.beams import Beams, boost_z
from dipole_portal.core.errors import InputError

__all__ = ["Beams", "PhaseSpaceRegion", "boost_z"]


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
