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
        if not (
            self.radius_m > 0
            and self.z_backward_m < 0 < self.z_forward_m
            and all(map(math.isfinite, (self.radius_m, self.z_forward_m, self.z_backward_m)))
        ):
            raise InputError(f"decay volume {self}: expected radius_m > 0 and z_backward_m < 0 < z_forward_m, finite")

    def path_length_m(self, cos_theta: np.ndarray) -> np.ndarray:
        """Distance (m) from the collision point to the cylinder's surface along lab polar angle theta."""
        c = np.clip(np.asarray(cos_theta, dtype=float), -1.0, 1.0)
        s = np.sqrt(1.0 - c * c)
        with np.errstate(divide="ignore"):
            barrel = np.where(s > 0, self.radius_m / np.where(s > 0, s, 1.0), np.inf)
            cap = np.where(
                c > 0,
                self.z_forward_m / np.where(c > 0, c, 1.0),
                np.where(c < 0, -self.z_backward_m / np.where(c < 0, -c, 1.0), np.inf),
            )
        return np.minimum(barrel, cap)


def decay_probability(
    volume: DecayVolume,
    p_GeV: np.ndarray,
    cos_theta: np.ndarray,
    mass: float,
    d: float,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> np.ndarray:
    """Per event: the probability that N decays inside ``volume``, 1 - exp(-L(theta) / l_dec(p))."""
    return -np.expm1(-volume.path_length_m(cos_theta) / decay_length_at_momentum_m(p_GeV, mass, d, constants))


LOG10_K_BIN = 0.01  # decades: k within a bin differs by < 2.3%; each bin keeps its weighted mean k

#: decay positions along the flight path, as fractions u of the path length L to the calorimeter face: the
#: measured photon direction is evaluated at one point per interval (u = 0 for the first, the midpoint otherwise),
#: fine near the collision point where a prompt N decays. The probability of each interval is exact:
#: exp(-k d^2 u_lo) - exp(-k d^2 u_hi).
U_EDGES = (0.0, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0)
TRUE_DIRECTION_EDGES = (0.0, 1.0)  # the direction does not depend on the decay point: one interval


def u_points(edges: tuple[float, ...]) -> np.ndarray:
    """The decay position evaluated in each interval of ``edges``: 0 in the first, the midpoint elsewhere.

    >>> u_points((0.0, 0.1, 0.5)).tolist()
    [0.0, 0.3]
    """
    e = np.asarray(edges, dtype=float)
    mid = 0.5 * (e[:-1] + e[1:])
    mid[0] = e[0]
    return mid


def exit_distance_m(volume: DecayVolume, start_m: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From points ``start_m`` (n, 3) inside ``volume`` along unit vectors ``direction`` (n, 3): the distance (m)
    to the surface, and whether it is met on the barrel (else on an endcap face).

    >>> v = DecayVolume(1.0, 2.0, -2.0)
    >>> t, barrel = exit_distance_m(v, np.array([[0.5, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]))
    >>> float(t[0]), bool(barrel[0])
    (2.0, False)
    """
    x, g = np.asarray(start_m, dtype=float), np.asarray(direction, dtype=float)
    a = g[:, 0] ** 2 + g[:, 1] ** 2
    b = x[:, 0] * g[:, 0] + x[:, 1] * g[:, 1]
    c = x[:, 0] ** 2 + x[:, 1] ** 2 - volume.radius_m**2
    with np.errstate(divide="ignore", invalid="ignore"):
        t_barrel = np.where(a > 0, (-b + np.sqrt(np.maximum(b * b - a * c, 0.0))) / np.where(a > 0, a, 1.0), np.inf)
        gz = g[:, 2]
        t_cap = np.where(
            gz > 0,
            (volume.z_forward_m - x[:, 2]) / np.where(gz > 0, gz, 1.0),
            np.where(gz < 0, (volume.z_backward_m - x[:, 2]) / np.where(gz < 0, gz, 1.0), np.inf),
        )
    return np.minimum(t_barrel, t_cap), t_barrel <= t_cap


def impact_points_m(
    volume: DecayVolume, n_dir: np.ndarray, path_m: np.ndarray, u: float, photon_dir: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the photon of an N decaying at u x ``path_m`` along ``n_dir`` (unit, n x 3) meets the calorimeter
    surface, flying along ``photon_dir`` (unit, n x 3): impact points (n, 3) in m, and whether on the barrel."""
    start = n_dir * (u * path_m)[:, None]
    t, barrel = exit_distance_m(volume, start, photon_dir)
    return start + t[:, None] * photon_dir, barrel


def decay_k(
    volume: DecayVolume,
    p_GeV: np.ndarray,
    cos_theta: np.ndarray,
    mass: float,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> np.ndarray:
    """Per event, k (GeV^2) with L(theta) / l_dec = k d^2: the coupling dependence of every event's decay
    probability, 1 - exp(-k d^2), so one selected sample gives the signal at any d exactly.

    >>> v = DecayVolume(1.25, 1.96, -1.02)
    >>> k = decay_k(v, np.array([3.0]), np.array([0.3]), 0.05)
    >>> p = decay_probability(v, np.array([3.0]), np.array([0.3]), 0.05, 1e-4)
    >>> bool(np.isclose(1 - np.exp(-k[0] * 1e-8), p[0]))
    True
    """
    return volume.path_length_m(cos_theta) / decay_length_at_momentum_m(p_GeV, mass, 1.0, constants)


#: a sparse histogram of log10 k: {bin: (sum of weights of events accepted somewhere along the path, the same
#: times k, per decay interval the sum of weights of events accepted there)}
KHistogram = dict[int, tuple[float, float, tuple[float, ...]]]


def k_histogram(k: np.ndarray, weight: np.ndarray, passed: np.ndarray) -> KHistogram:
    """The events' k histogram; ``passed`` (n, intervals) says where along the path each event is accepted."""
    passed = np.asarray(passed, dtype=bool).reshape(len(k), -1)
    anywhere = passed.any(axis=1)
    k, weight, passed = k[anywhere], weight[anywhere], passed[anywhere]
    if k.size == 0:
        return {}
    idx = np.floor(np.log10(np.maximum(k, 1e-300)) / LOG10_K_BIN).astype(np.int64)
    bins, inverse = np.unique(idx, return_inverse=True)
    sw = np.bincount(inverse, weights=weight, minlength=len(bins))
    swk = np.bincount(inverse, weights=weight * k, minlength=len(bins))
    per = np.stack(
        [np.bincount(inverse, weights=weight * passed[:, j], minlength=len(bins)) for j in range(passed.shape[1])],
        axis=1,
    )
    return {
        int(b): (float(a), float(c), tuple(float(x) for x in row))
        for b, a, c, row in zip(bins, sw, swk, per, strict=True)
    }


def merge_k_histograms(a: KHistogram, b: KHistogram) -> KHistogram:
    """The sum of two sparse k histograms (same decay intervals)."""
    out = dict(a)
    for key, (w, wk, per) in b.items():
        if key in out:
            w0, wk0, per0 = out[key]
            out[key] = (w0 + w, wk0 + wk, tuple(x + y for x, y in zip(per0, per, strict=True)))
        else:
            out[key] = (w, wk, per)
    return out


def k_means_and_fractions(h: KHistogram) -> tuple[tuple[float, ...], tuple[tuple[float, ...], ...]]:
    """Per non-empty bin (ascending): the weighted mean k, and per decay interval the weight accepted there as a
    share of the weight accepted somewhere (each interval's shares sum to at most 1, exactly 1 with one interval)."""
    keys = sorted(k for k, (w, _, _) in h.items() if w > 0)
    total = sum(h[k][0] for k in keys)
    if not keys or total <= 0:
        return (), ()
    return (tuple(h[k][1] / h[k][0] for k in keys), tuple(tuple(x / total for x in h[k][2]) for k in keys))


def mean_decay_probability(
    k_mean: np.ndarray, fraction: np.ndarray, d: np.ndarray | float, u_edges: tuple[float, ...] = TRUE_DIRECTION_EDGES
) -> np.ndarray:
    """sum_b sum_j f_bj (exp(-k_b d^2 u_j) - exp(-k_b d^2 u_j+1)): the accepted share of events decaying inside the
    volume at coupling(s) d (GeV^-1), where f_bj is the share of k bin b accepted when decaying in interval j.

    ``k_mean`` (..., bins) and ``fraction`` (..., bins, intervals) may carry leading dimensions (channels, zero
    padded), and d any shape: the result has d's shape followed by those leading dimensions.

    With one interval this is sum_b f_b (1 - exp(-k_b d^2)). It never exceeds 1 (the intervals' probabilities
    sum to 1 - exp(-k d^2)), but with several intervals it need not grow with d: a prompt decay may be rejected
    where a displaced one is accepted.

    >>> round(float(mean_decay_probability(np.array([1e10]), np.array([[1.0]]), 1e-5)), 6)  # k d^2 = 1
    0.632121
    """
    e = np.asarray(u_edges, dtype=float)
    k = np.asarray(k_mean, dtype=float)
    f = np.asarray(fraction, dtype=float).reshape(k.shape + (-1,))
    d2 = np.asarray(d, dtype=float) ** 2
    x = d2.reshape(d2.shape + (1,) * (k.ndim + 1)) * k[..., None] * e
    return np.sum(f * (np.exp(-x[..., :-1]) - np.exp(-x[..., 1:])), axis=(-2, -1))
