"""Per-event reweighting of signal samples between decay models.

Every decay model shares the production law D(z) and differs only in the photon's rest-frame angular law, so
one sample reweighted by ``angular_weight(to) / angular_weight(from)`` reproduces another model's distributions.
The angles the weights need are recomputed from the stored CM four-vectors of N and the photon:
z = cos theta_N, cos theta* (photon to the N flight direction in the N rest frame) and cos psi (its azimuth
about n, measured from theta_hat = dn/dtheta_N), with vector's boosts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import vector

from dipole_portal.samples.signal_physics import angular_weight


def decay_angles(N: dict[str, np.ndarray], photon: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, cos theta*, cos psi) from CM four-vectors given as {"E", "px", "py", "pz"} arrays (GeV)."""
    n4: Any = vector.array({k: np.asarray(N[k], np.float64) for k in ("px", "py", "pz", "E")})  # vector's stubs
    g4: Any = vector.array({k: np.asarray(photon[k], np.float64) for k in ("px", "py", "pz", "E")})  # lack methods
    rest = g4.boost_beta3(-n4.to_beta3())  # the photon in the N rest frame (axes parallel to the CM axes)
    k = np.stack([np.asarray(rest.px), np.asarray(rest.py), np.asarray(rest.pz)])
    k /= np.linalg.norm(k, axis=0)
    theta, phi = np.asarray(n4.theta), np.asarray(n4.phi)
    n_hat = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    t_hat = np.stack([np.cos(theta) * np.cos(phi), np.cos(theta) * np.sin(phi), -np.sin(theta)])
    p_hat = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)])
    c_star = np.clip(np.sum(k * n_hat, axis=0), -1, 1)
    kt, kp = np.sum(k * t_hat, axis=0), np.sum(k * p_hat, axis=0)
    cos_psi = kt / np.maximum(np.hypot(kt, kp), 1e-300)
    return np.cos(theta), c_star, cos_psi


def model_weights(
    to_model: str,
    from_model: str,
    z: np.ndarray,
    cos_star: np.ndarray,
    cos_psi: np.ndarray,
    *,
    sqrt_s: float,
    mass: float,
) -> np.ndarray:
    """Event weights that turn a ``from_model`` sample into a ``to_model`` one (mean 1 over the sample)."""
    num = angular_weight(to_model, z, cos_star, cos_psi, sqrt_s, mass)
    den = angular_weight(from_model, z, cos_star, cos_psi, sqrt_s, mass)
    out: np.ndarray = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out
