"""Physical constants and unit conversions (SPEC preamble).

Everything is in natural units with GeV; cross sections are reported in pb and lengths in m.

>>> C = PhysicsConstants()
>>> round(C.gev2_to_pb * 1e-9, 7)
0.3893794
>>> round(C.k_factor, 5)   # 3 - 4 sin^2 + 24 sin^4 at sin^2 = 0.2312
3.35808
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from dipole_portal.core.errors import InputError


@dataclass(frozen=True)
class PhysicsConstants:
    """Constants used by every formula; all are configurable, the defaults follow SPEC.md."""

    alpha: float = 1.0 / 137.035999
    G_F: float = 1.1663787e-5  # GeV^-2
    sin2_theta_w: float = 0.2312
    gev2_to_pb: float = 0.3893794e9  # 1 GeV^-2 in pb
    hbarc_GeV_m: float = 1.973269804e-16  # GeV m

    def __post_init__(self) -> None:
        for key, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError(f"physics constant {key}={value!r}: expected a finite positive number")
        if not self.sin2_theta_w < 1:
            raise InputError(f"physics constant sin2_theta_w={self.sin2_theta_w!r}: expected a value in (0, 1)")

    @property
    def k_factor(self) -> float:
        """K = 3 - 4 sin^2(theta_W) + 24 sin^4(theta_W) = 4 sum_flavours (g_L^2 + g_R^2)."""
        s2 = self.sin2_theta_w
        return 3.0 - 4.0 * s2 + 24.0 * s2 * s2

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_CONSTANTS = PhysicsConstants()
