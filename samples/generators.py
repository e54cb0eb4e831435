"""Columnar event generators: signal N -> nu gamma and SM nu nubar gamma.

Each generator makes one chunk of events from its own ``numpy.random.Generator``. A run of
``events`` events with seed ``seed`` is cut into chunks of ``chunk_size`` whose generators are spawned
from ``numpy.random.SeedSequence(seed)``: the same (seed, events, chunk_size) gives the same bits
whichever order or process the chunks are made in.

Branches (CM frame, GeV): photon_E, photon_px, photon_py, photon_pz; ``weight`` in pb (sum of weights = cross section
of the generated region); for signal N_E, N_px, N_py, N_pz and ``helicity``: +1 or -1, the term of the production law
the N polar angle was drawn from (s (1 - z^2) or m^2 (1 + z^2); twice the N helicity for the models without the P_T
interference). Lab-frame quantities are not stored: the selection boosts the CM four-vectors with vector (the beams'
boost is in the metadata), which halves the file. The rest-frame angles every model's weight depends on are stored as
generated (``cos_theta_star``, ``cos_psi``; z is the N direction), so one sample can be reweighted to any model
(``selections.process``); ``samples.reweight`` recomputes them from the four-vectors as a cross-check.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.core.options import DEFAULT_CC_MODES, DEFAULT_D_REF, DEFAULT_DECAY_MODEL, DecayModel, Process
from dipole_portal.samples.electroweak_background import nunugamma_d2sigma_dE_dz_pb
from dipole_portal.samples.electroweak_physics import BeamPolarisation, Electroweak
from dipole_portal.samples.kinematics import Beams, PhaseSpaceRegion
from dipole_portal.samples.nunugamma_physics import d2sigma_dE_dz_pb
from dipole_portal.samples.signal_physics import (
    helicity_plus_fraction,
    n_energy_GeV,
    n_momentum_GeV,
    polarisation,
    signal_xsec_pb,
)

DECAY_MODELS = tuple(m.value for m in DecayModel)
PROCESSES = tuple(p.value for p in Process)
DEFAULT_CHUNK = 1_000_000
MAX_D_REF = 1.0  # GeV^-1: far above every limit; larger values overflow cross sections
FOUR = ("E", "px", "py", "pz")
#: uniforms consumed per event, for the RNG-floor benchmark
UNIFORMS_PER_EVENT = {"signal": 5, "nunugamma": 3}
MOMENTUM_DTYPE = np.float32


@dataclass(frozen=True)
class SignalSpec:
    """What a signal sample is: beams, N mass (GeV), reference coupling (GeV^-1) and decay model."""

    beams: Beams
    mass: float
    d_ref: float = DEFAULT_D_REF
    decay_model: DecayModel = DEFAULT_DECAY_MODEL
    n_modes: int = DEFAULT_CC_MODES
    constants: PhysicsConstants = field(default=DEFAULT_CONSTANTS)

    def __post_init__(self) -> None:
        if self.decay_model in DECAY_MODELS:
            object.__setattr__(self, "decay_model", DecayModel(self.decay_model))
        if not (math.isfinite(self.mass) and 0 < self.mass < self.beams.sqrt_s):
            raise InputError(f"mass={self.mass!r} GeV: expected 0 < m_N < sqrt(s) = {self.beams.sqrt_s:g} GeV")
        if not (math.isfinite(self.d_ref) and 0 < self.d_ref <= MAX_D_REF):
            raise InputError(f"d_ref={self.d_ref!r}: expected a coupling in (0, {MAX_D_REF:g}] GeV^-1")
        if self.decay_model not in DECAY_MODELS:
            raise InputError(f"decay model {self.decay_model!r}: expected one of {', '.join(DECAY_MODELS)}")
        if self.n_modes not in (1, 2):
            raise InputError(f"n_modes={self.n_modes!r}: expected 1 (N nubar only) or 2 (N nubar + Nbar nu)")

    @property
    def xsec_pb(self) -> float:
        return signal_xsec_pb(self.beams.sqrt_s, self.mass, self.d_ref, self.n_modes, self.constants)


@dataclass(frozen=True)
class NuNuGammaSpec:
    """What a nu nubar gamma sample is: beams and the CM region it is generated in, and which law: SPEC 2's
    (``electroweak`` None) or the electroweak one (Z s-channel, W t-channel, radiative return) with the beams'
    polarisation (``samples.electroweak_background``)."""

    beams: Beams
    region: PhaseSpaceRegion
    constants: PhysicsConstants = field(default=DEFAULT_CONSTANTS)
    electroweak: BeamPolarisation | None = None

    def __post_init__(self) -> None:
        self.region.validate(self.beams.sqrt_s)

    @property
    def ew(self) -> Electroweak:
        """The electroweak inputs of the electroweak law (its polarisation and constants)."""
        return Electroweak(pol=self.electroweak or BeamPolarisation(), constants=self.constants)


def chunk_plan(seed: int, events: int, chunk_size: int = DEFAULT_CHUNK) -> list[tuple[np.random.SeedSequence, int]]:
    """Split ``events`` into chunks, each with its own spawned SeedSequence."""
    if not (isinstance(events, (int, np.integer)) and events > 0):
        raise InputError(f"events={events!r}: expected a positive integer")
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise InputError(f"seed={seed!r}: expected a non-negative integer")
    if chunk_size <= 0:
        raise InputError(f"chunk_size={chunk_size!r}: expected a positive integer")
    n_chunks = -(-events // chunk_size)
    seqs = np.random.SeedSequence(seed).spawn(n_chunks)
    sizes = [chunk_size] * (n_chunks - 1) + [events - chunk_size * (n_chunks - 1)]
    return list(zip(seqs, sizes, strict=True))


def _z_from_1_minus_z2(u: np.ndarray) -> np.ndarray:
    """Inverse CDF of (3/4)(1 - z^2) on [-1, 1]: z = 2 sin(arcsin(2u - 1) / 3)."""
    return 2.0 * np.sin(np.arcsin(2.0 * u - 1.0) / 3.0)


def _z_from_1_plus_z2(u: np.ndarray) -> np.ndarray:
    """Inverse CDF of (3/8)(1 + z^2) on [-1, 1]: z = 2 sinh(arcsinh(4u - 2) / 3)."""
    return 2.0 * np.sinh(np.arcsinh(4.0 * u - 2.0) / 3.0)


def cos_against_polarisation(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Inverse CDF of (1 - p c)/2 on [-1, 1] (0 <= p <= 1): a photon emitted against a spin of polarisation p.

    c = w / (1 + sqrt(1 - p w)), w = 4u - 2 - p: the root of p c^2 - 2c - 2 - p + 4u = 0 written without the
    cancellation at small p (it tends to 2u - 1).
    """
    w = 4.0 * u - 2.0 - p
    c: np.ndarray = w / (1.0 + np.sqrt(np.maximum(0.0, 1.0 - p * w)))
    return c


def exact_photon_direction(
    u_c: np.ndarray, u_beta: np.ndarray, z: np.ndarray, sqrt_s: float, mass: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Photon direction in the N rest frame from the full spin correlation (the ``exact`` model).

    Components along (n, theta_hat, phi_hat) of the N flight frame. The law 1 - P.k (P = P_L n + P_T theta_hat)
    is drawn as cos(angle to P) from (1 - |P| c)/2 and a uniform azimuth about P.
    """
    pl, pt = polarisation(z, sqrt_s, mass)
    p = np.hypot(pl, pt)
    safe = np.where(p > 0, p, 1.0)
    ul, ut = np.where(p > 0, pl / safe, 1.0), np.where(p > 0, pt / safe, 0.0)  # unit vector along P
    c = cos_against_polarisation(u_c, p)
    s = np.sqrt(np.maximum(0.0, 1.0 - c * c))
    beta = 2.0 * np.pi * u_beta
    cb = s * np.cos(beta)
    return c * ul - cb * ut, c * ut + cb * ul, s * np.sin(beta)


def rest_frame_cos(u: np.ndarray, helicity: np.ndarray, model: str) -> np.ndarray:
    """cos(theta*) of the photon in the N rest frame w.r.t. the N flight direction, for the models without P_T.

    ``backward``: (1 - c)/2, ``forward``: (1 + c)/2, ``isotropic``: 1/2, ``helicity``: backward for
    helicity +1 and forward for helicity -1 (SPEC section 1). The ``exact`` model needs the azimuth too:
    :func:`exact_photon_direction`.
    """
    backward: np.ndarray = 1.0 - 2.0 * np.sqrt(1.0 - u)
    forward: np.ndarray = 2.0 * np.sqrt(u) - 1.0
    if model == "backward":
        return backward
    if model == "forward":
        return forward
    if model == "isotropic":
        iso: np.ndarray = 2.0 * u - 1.0
        return iso
    if model == "helicity":
        c: np.ndarray = np.where(helicity > 0, backward, forward)
        return c
    raise InputError(f"decay model {model!r}: expected one of {', '.join(DECAY_MODELS)}")


def _store(
    out: dict[str, np.ndarray], prefix: str, E: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> None:
    for name, arr in zip(FOUR, (E, px, py, pz), strict=True):
        out[f"{prefix}_{name}"] = arr.astype(MOMENTUM_DTYPE)


def generate_signal_chunk(
    rng: np.random.Generator, n: int, spec: SignalSpec, total_events: int
) -> dict[str, np.ndarray]:
    """One chunk of ``n`` signal events; each weight is sigma_total / total_events in pb."""
    sqrt_s, m = spec.beams.sqrt_s, spec.mass
    E_N, p_N = n_energy_GeV(sqrt_s, m), n_momentum_GeV(sqrt_s, m)
    u = rng.random((5, n))
    helicity = np.where(u[0] < helicity_plus_fraction(sqrt_s, m), 1, -1).astype(np.int8)
    z = np.where(helicity > 0, _z_from_1_minus_z2(u[1]), _z_from_1_plus_z2(u[1]))
    sin_t = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = 2.0 * np.pi * u[2]
    cphi, sphi = np.cos(phi), np.sin(phi)
    # the transverse photon momentum in the N rest frame, (a, b), lies along theta_hat = (z cos phi, z sin phi,
    # -sin theta) and phi_hat = (-sin phi, cos phi, 0); psi is its azimuth about n measured from theta_hat
    if spec.decay_model == DecayModel.EXACT:
        c_star, k_theta, k_phi = exact_photon_direction(u[3], u[4], z, sqrt_s, m)
        a, b = 0.5 * m * k_theta, 0.5 * m * k_phi
        cos_psi = k_theta / np.maximum(np.hypot(k_theta, k_phi), 1e-300)
    else:
        c_star = rest_frame_cos(u[3], helicity, spec.decay_model)
        s_star = np.sqrt(np.maximum(0.0, 1.0 - c_star * c_star))
        psi = 2.0 * np.pi * u[4]
        p_perp = 0.5 * m * s_star
        cos_psi = np.cos(psi)
        a, b = p_perp * cos_psi, p_perp * np.sin(psi)
    # two-body decay N -> nu gamma, boosted along the N direction: E = (E_N + p_N c*)/2 etc.
    E_g = 0.5 * (E_N + p_N * c_star)
    p_par = 0.5 * (p_N + E_N * c_star)
    px = p_par * sin_t * cphi + a * z * cphi - b * sphi
    py = p_par * sin_t * sphi + a * z * sphi + b * cphi
    pz = p_par * z - a * sin_t
    out: dict[str, np.ndarray] = {}
    _store(out, "photon", E_g, px, py, pz)
    _store(out, "N", np.full(n, E_N), p_N * sin_t * cphi, p_N * sin_t * sphi, p_N * z)
    out["helicity"] = helicity
    # the rest-frame angles every decay model's weight depends on, as generated: recomputing them from the
    # float32 four-vectors loses them when N is ultra-relativistic (m_N << sqrt(s)) or nearly at rest
    out["cos_theta_star"] = c_star.astype(MOMENTUM_DTYPE)
    out["cos_psi"] = cos_psi.astype(MOMENTUM_DTYPE)
    out["weight"] = np.full(n, spec.xsec_pb / total_events)
    return out


def nunugamma_weight_pb(E: np.ndarray, z: np.ndarray, sqrt_s: float, constants: PhysicsConstants) -> np.ndarray:
    """d^2 sigma/(dE dz) times the Jacobian E (1 - z^2) of sampling flat in (ln E, artanh z), in pb."""
    w: np.ndarray = d2sigma_dE_dz_pb(E, z, sqrt_s, constants) * E * (1.0 - z * z)
    return w


def generate_nunugamma_chunk(
    rng: np.random.Generator, n: int, spec: NuNuGammaSpec, total_events: int
) -> dict[str, np.ndarray]:
    """One chunk of weighted nu nubar gamma events, flat in ln E and artanh(cos theta) inside the region."""
    sqrt_s, reg = spec.beams.sqrt_s, spec.region
    u = rng.random((3, n))
    lo_l, hi_l = math.log(reg.E_min), math.log(reg.E_max)
    lo_a, hi_a = math.atanh(reg.cos_min), math.atanh(reg.cos_max)
    E = np.exp(lo_l + (hi_l - lo_l) * u[0])
    z = np.tanh(lo_a + (hi_a - lo_a) * u[1])
    volume = (hi_l - lo_l) * (hi_a - lo_a)
    w = nunugamma_weight_pb(E, z, sqrt_s, spec.constants) * (volume / total_events)
    return _photon_events(E, z, 2.0 * np.pi * u[2], w)


def _photon_events(E: np.ndarray, z: np.ndarray, phi: np.ndarray, weight: np.ndarray) -> dict[str, np.ndarray]:
    """The branches of a nu nubar gamma chunk: the photon of energy E (GeV) at cos theta = z, azimuth phi."""
    sin_t = np.sqrt(1.0 - z * z)
    out: dict[str, np.ndarray] = {}
    _store(out, "photon", E, E * sin_t * np.cos(phi), E * sin_t * np.sin(phi), E * z)
    out["weight"] = weight
    return out


#: share of electroweak nu nubar gamma events drawn from the recoil mass's Breit-Wigner (``return_peak``)
RETURN_SHARE = 0.3


#: the least arctan range (rad) of the recoil mass's Breit-Wigner for which its channel is used: below it the Z
#: propagator hardly varies across the region (far below the pole)
MIN_RETURN_RANGE = 0.05


def return_peak(sqrt_s: float, region: PhaseSpaceRegion, ew: Electroweak) -> tuple[float, float] | None:
    """The arctan range of the recoil mass's Breit-Wigner, (M^2 - M_Z^2) / (M_Z Gamma_Z) = tan(t), over the region's
    photon energies: the radiative return where the peak E = (s - M_Z^2) / (2 sqrt(s)) lies inside them, its tail near
    the pole; None where the range is under MIN_RETURN_RANGE."""
    s, mz, gz = sqrt_s**2, ew.z_boson.mass_GeV, ew.z_boson.width_GeV
    t = [math.atan((s - 2 * sqrt_s * e - mz * mz) / (mz * gz)) for e in (region.E_max, region.E_min)]
    return (t[0], t[1]) if t[1] - t[0] > MIN_RETURN_RANGE else None


def generate_electroweak_nunugamma_chunk(
    rng: np.random.Generator, n: int, spec: NuNuGammaSpec, total_events: int
) -> dict[str, np.ndarray]:
    """One chunk of weighted electroweak nu nubar gamma events: cos theta flat in artanh, E from two channels, flat
    in ln E and (a share RETURN_SHARE, where the region holds the peak) Breit-Wigner in the recoil mass squared,
    weighted by the law over the mixture's density (multichannel importance sampling)."""
    sqrt_s, reg, ew = spec.beams.sqrt_s, spec.region, spec.ew
    u = rng.random((4, n))
    lo_l, hi_l = math.log(reg.E_min), math.log(reg.E_max)
    lo_a, hi_a = math.atanh(reg.cos_min), math.atanh(reg.cos_max)
    peak = return_peak(sqrt_s, reg, ew)
    share = RETURN_SHARE if peak is not None else 0.0
    E = np.exp(lo_l + (hi_l - lo_l) * u[0])
    mz, gz = ew.z_boson.mass_GeV, ew.z_boson.width_GeV
    if peak is not None:
        t = peak[0] + (peak[1] - peak[0]) * u[0]
        from_peak = u[3] < share
        E = np.where(from_peak, (sqrt_s**2 - mz * mz - mz * gz * np.tan(t)) / (2 * sqrt_s), E)
        E = np.clip(E, reg.E_min, reg.E_max)
    density = (1 - share) / (E * (hi_l - lo_l))
    if peak is not None:
        m2 = sqrt_s**2 - 2 * sqrt_s * E
        bw = mz * gz / ((m2 - mz * mz) ** 2 + (mz * gz) ** 2)
        density = density + share * 2 * sqrt_s * bw / (peak[1] - peak[0])
    z = np.tanh(lo_a + (hi_a - lo_a) * u[1])
    law = nunugamma_d2sigma_dE_dz_pb(E, z, sqrt_s, ew)
    w = law * (1.0 - z * z) * (hi_a - lo_a) / density / total_events
    return _photon_events(E, z, 2.0 * np.pi * u[2], w)


def generate_chunks(
    spec: SignalSpec | NuNuGammaSpec, seed: int, events: int, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the chunks of a run in order."""
    for seq, n in chunk_plan(seed, events, chunk_size):
        rng = np.random.default_rng(seq)
        if isinstance(spec, SignalSpec):
            yield generate_signal_chunk(rng, n, spec, events)
        elif spec.electroweak is not None:
            yield generate_electroweak_nunugamma_chunk(rng, n, spec, events)
        else:
            yield generate_nunugamma_chunk(rng, n, spec, events)
