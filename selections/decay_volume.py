"""Where an N decay can give a single calorimeter photon: a cylinder about the beam axis, in the lab frame.

The paper counts a decay anywhere within a fixed length l_D of the collision point (P_dec = 1 - exp(-l_D / l_dec),
eq. 5). A real detector measures the photon only if N decays inside the tracking volume, before the
electromagnetic calorimeter's face: a cylinder of the calorimeter barrel's inner radius, closed by the endcap faces
(lab frame, z along the e- beam). Along a flight direction of lab polar angle theta the decay must happen within

    L(theta) = min(R / sin(theta), z_fwd / cos(theta) if cos(theta) > 0, |z_bwd| / |cos(theta)| if cos(theta) < 0),

so an N of lab momentum p decays there with probability 1 - exp(-L(theta) / l_dec(p)), l_dec(p) = 4 pi p /
(d^2 m^4) hbar c (eq. 6 at the event's own momentum).

Lengths in m, momenta and masses in GeV, d in GeV^-1.

>>> v = DecayVolume(radius_m=1.25, z_forward_m=1.96, z_backward_m=-1.02)
>>> [round(float(x), 4) for x in v.path_length_m(np.array([0.0, 0.5, -0.5, 1.0]))]
[1.25, 1.4434, 1.4434, 1.96]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.samples.signal_physics import decay_length_at_momentum_m


@dataclass(frozen=True)
class DecayVolume:
    """A cylinder about the beam: barrel radius and endcap faces in m (lab frame; z_backward < 0 < z_forward)."""

    radius_m: float
    z_forward_m: float
    z_backward_m: float

    def __post_init__(self) -> None:
        if not (self.radius_m > 0 and self.z_backward_m < 0 < self.z_forward_m
                and all(map(math.isfinite, (self.radius_m, self.z_forward_m, self.z_backward_m)))):
            raise InputError(f"decay volume {self}: expected radius_m > 0 and z_backward_m < 0 < z_forward_m, finite")

    def path_length_m(self, cos_theta: np.ndarray) -> np.ndarray:
        """Distance (m) from the collision point to the cylinder's surface along lab polar angle theta."""
        c = np.clip(np.asarray(cos_theta, dtype=float), -1.0, 1.0)
        s = np.sqrt(1.0 - c * c)
        with np.errstate(divide="ignore"):
            barrel = np.where(s > 0, self.radius_m / np.where(s > 0, s, 1.0), np.inf)
            cap = np.where(c > 0, self.z_forward_m / np.where(c > 0, c, 1.0),
                           np.where(c < 0, -self.z_backward_m / np.where(c < 0, -c, 1.0), np.inf))
        return np.minimum(barrel, cap)


def decay_probability(volume: DecayVolume, p_GeV: np.ndarray, cos_theta: np.ndarray, mass: float, d: float,
                      constants: PhysicsConstants = DEFAULT_CONSTANTS) -> np.ndarray:
    """Per event: the probability that N decays inside ``volume``, 1 - exp(-L(theta) / l_dec(p))."""
    return -np.expm1(-volume.path_length_m(cos_theta) / decay_length_at_momentum_m(p_GeV, mass, d, constants))


def decay_k(volume: DecayVolume, p_GeV: np.ndarray, cos_theta: np.ndarray, mass: float,
            constants: PhysicsConstants = DEFAULT_CONSTANTS) -> np.ndarray:
    """Per event, k (GeV^2) with L(theta) / l_dec = k d^2: the coupling dependence of every event's decay
    probability, 1 - exp(-k d^2), so one selected sample gives the signal at any d exactly.

    >>> v = DecayVolume(1.25, 1.96, -1.02)
    >>> k = decay_k(v, np.array([3.0]), np.array([0.3]), 0.05)
    >>> p = decay_probability(v, np.array([3.0]), np.array([0.3]), 0.05, 1e-4)
    >>> bool(np.isclose(1 - np.exp(-k[0] * 1e-8), p[0]))
    True
    """
    return volume.path_length_m(cos_theta) / decay_length_at_momentum_m(p_GeV, mass, 1.0, constants)


LOG10_K_BIN = 0.01  # decades: k within a bin differs by < 2.3%; each bin keeps its weighted mean k


def k_histogram(k: np.ndarray, weight: np.ndarray) -> dict[int, tuple[float, float]]:
    """Sparse histogram of log10 k: {bin: (sum of weights, sum of weight x k)} over the given events."""
    if k.size == 0:
        return {}
    idx = np.floor(np.log10(np.maximum(k, 1e-300)) / LOG10_K_BIN).astype(np.int64)
    bins, inverse = np.unique(idx, return_inverse=True)
    sw = np.bincount(inverse, weights=weight)
    swk = np.bincount(inverse, weights=weight * k)
    return {int(b): (float(a), float(c)) for b, a, c in zip(bins, sw, swk, strict=True)}


def merge_k_histograms(a: dict[int, tuple[float, float]], b: dict[int, tuple[float, float]]
                       ) -> dict[int, tuple[float, float]]:
    """The sum of two sparse k histograms."""
    out = dict(a)
    for key, (w, wk) in b.items():
        w0, wk0 = out.get(key, (0.0, 0.0))
        out[key] = (w0 + w, wk0 + wk)
    return out


def k_means_and_fractions(h: dict[int, tuple[float, float]]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per non-empty bin (ascending): the weighted mean k and the bin's share of the weight."""
    keys = sorted(k for k, (w, _) in h.items() if w > 0)
    total = sum(h[k][0] for k in keys)
    if not keys or total <= 0:
        return (), ()
    return tuple(h[k][1] / h[k][0] for k in keys), tuple(h[k][0] / total for k in keys)


def mean_decay_probability(k_mean: np.ndarray, fraction: np.ndarray, d: np.ndarray | float) -> np.ndarray:
    """sum_b f_b (1 - exp(-k_b d^2)): the selected events' mean decay probability at coupling(s) d (GeV^-1)."""
    d2 = np.asarray(d, dtype=float)[..., None] ** 2
    return np.sum(np.asarray(fraction) * -np.expm1(-np.asarray(k_mean) * d2), axis=-1)
