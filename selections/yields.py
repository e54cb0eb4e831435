"""Yields per scenario and N mass: signal efficiency and cross section per channel, backgrounds in events.

S_i(d) = L_i sigma_i(d_ref) (d/d_ref)^2 eps_det eps_cuts,i P_dec,i(d) (eq. 7); the irreducible background is
B_i = L_i sigma_nunugamma,i(after cuts) eps_det, plus the Belle II gap background scaled with luminosity.
Luminosities in fb^-1, cross sections in pb (1 pb x 1 fb^-1 = 1000 events).

This module turns selected samples into yields; ``yields_file`` writes and reads them as the *yields file* that the
statistics stage reads. It generates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dipole_portal.core.config import EnergyPoint, Scenario, polarisation_suffix
from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.samples.signal_physics import decay_probability
from dipole_portal.selections.decay_volume import mean_decay_probability
from dipole_portal.selections.process import SelectedSample

PB_FB = 1000.0  # events per (pb x fb^-1)


@dataclass
class ChannelYield:
    """One energy point of a scenario.

    ``efficiency`` is the selected share of the signal; with the measured direction (detector models ``direction``
    and ``realistic``) it is the share accepted when N decays somewhere along its path, and how much of it the
    decays at a coupling d realise is in ``decay_k_fraction`` (:meth:`decay_probability`).
    """

    sqrt_s: float
    lumi_fb: float
    mass: float
    d_ref: float
    eps_det: float
    length_m: float
    signal_xsec_pb: float
    efficiency: float
    efficiency_err: float
    background_xsec_pb: float
    background_xsec_err_pb: float
    gap_background_events: float
    #: fit-binned (FIT_REBIN) selected histograms, flattened: signal and nu nubar gamma in pb, its variance in pb^2
    fit_signal_pb: list[float] | None = field(default=None, repr=False)
    fit_background_pb: list[float] | None = field(default=None, repr=False)
    fit_background_var_pb2: list[float] | None = field(default=None, repr=False)
    #: a realistic detector step: accepted events' decay-probability parameters, k in GeV^2, the accepted share per
    #: (k bin, decay interval) and the intervals' edges (``decay_volume.mean_decay_probability``)
    decay_k_mean: list[float] | None = field(default=None, repr=False)
    decay_k_fraction: list[list[float]] | None = field(default=None, repr=False)
    decay_u_edges: list[float] | None = field(default=None, repr=False)
    #: the N width relative to the Dirac width d^2 m^3 / (4 pi): 2 for a Majorana N; 1 / Br(N -> nu gamma) above M_Z
    width_factor: float = 1.0
    #: the beams' longitudinal polarisations (P(e-), P(e+)); None: unpolarised
    polarisation: list[float] | tuple[float, float] | None = None
    constants: PhysicsConstants = field(default=DEFAULT_CONSTANTS, repr=False)

    @property
    def label(self) -> str:
        """The channel's name: its energy, and its beams' polarisations where polarised (``EnergyPoint.label``)."""
        pol = None if self.polarisation is None else (float(self.polarisation[0]), float(self.polarisation[1]))
        return f"{self.sqrt_s:.3f}GeV" + polarisation_suffix(pol)

    @property
    def background_irreducible_events(self) -> float:
        return self.lumi_fb * PB_FB * self.background_xsec_pb * self.eps_det

    @property
    def background_irreducible_err(self) -> float:
        return self.lumi_fb * PB_FB * self.background_xsec_err_pb * self.eps_det

    @property
    def background_events(self) -> float:
        return self.background_irreducible_events + self.gap_background_events

    @property
    def signal_events_ref_prompt(self) -> float:
        """Signal events at d_ref if every N decayed inside the detector (P_dec = 1)."""
        return self.lumi_fb * PB_FB * self.signal_xsec_pb * self.eps_det * self.efficiency

    def decay_probability(self, d: np.ndarray | float) -> np.ndarray:
        """The paper's P_dec(d) within length_m (eq. 5), or, with the realistic detector, the accepted events' mean
        probability of decaying inside the decay volume along their own flight direction."""
        d_width = np.asarray(d, dtype=float) * math.sqrt(self.width_factor)  # decay length ~ 1 / (d^2 width)
        if self.decay_k_mean is not None:
            return mean_decay_probability(
                np.asarray(self.decay_k_mean),
                np.asarray(self.decay_k_fraction),
                d_width,
                tuple(self.decay_u_edges or (0.0, 1.0)),
            )
        return decay_probability(self.sqrt_s, self.mass, d_width, self.length_m, self.constants)

    @property
    def signal_may_decrease(self) -> bool:
        """Whether S(d) need not grow with d: with the measured direction, a prompt decay may be rejected where a
        displaced one is accepted (the limit solvers then look for the first crossing)."""
        return self.decay_u_edges is not None and len(self.decay_u_edges) > 2

    def signal_events(self, d: np.ndarray | float) -> np.ndarray:
        """Expected signal events at coupling d (GeV^-1), including P_dec(d)."""
        d = np.asarray(d, dtype=float)
        return self.signal_events_ref_prompt * (d / self.d_ref) ** 2 * self.decay_probability(d)

    def as_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "constants" and not k.startswith(("fit_", "decay_"))}
        if self.polarisation is None:
            del out["polarisation"]
        out.update(
            background_irreducible_events=self.background_irreducible_events,
            background_events=self.background_events,
            signal_events_ref_prompt=self.signal_events_ref_prompt,
        )
        return out


@dataclass
class ScenarioYields:
    scenario: str
    mass: float
    decay_model: str
    n_modes: int
    channels: list[ChannelYield]
    provenance: dict[str, Any] = field(default_factory=dict, repr=False)
    detector_model: str = "paper"  # a DetectorModel value
    n_type: str = "dirac"  # an NType value

    def signal_events(self, d: np.ndarray | float) -> np.ndarray:
        zero = np.zeros_like(np.asarray(d, dtype=float))
        total: np.ndarray = sum((c.signal_events(d) for c in self.channels), zero)  # channel by channel, in order
        return total

    def channel_signal_events(self, d: float) -> np.ndarray:
        """S_i(d) per channel, computed for all channels at once (the limit solvers call this hundreds of times).

        >>> ch = [ChannelYield(s, 1.0, 0.5, 1e-5, 1.0, 1.0, 2.0, 0.5, 0.0, 1.0, 0.0, 0.0) for s in (2.0, 4.0)]
        >>> y = ScenarioYields("x", 0.5, "exact", 2, ch)
        >>> bool(np.allclose(y.channel_signal_events(3e-4), [c.signal_events(3e-4) for c in ch], rtol=1e-12))
        True
        """
        c = self.channels
        if not c or any(
            ch.constants != c[0].constants or ch.mass != c[0].mass or ch.width_factor != c[0].width_factor for ch in c
        ):  # mixed: one at a time
            return np.array([float(ch.signal_events(d)) for ch in c])
        ref = np.array([ch.signal_events_ref_prompt for ch in c])
        if any(ch.decay_k_mean is not None for ch in c):
            return ref * (d / np.array([ch.d_ref for ch in c])) ** 2 * self._decay_probabilities(d)
        d_ref = np.array([ch.d_ref for ch in c])
        p_dec = decay_probability(
            np.array([ch.sqrt_s for ch in c]),
            c[0].mass,
            d * math.sqrt(c[0].width_factor),
            np.array([ch.length_m for ch in c]),
            c[0].constants,
        )
        return ref * (d / d_ref) ** 2 * p_dec

    def _decay_probabilities(self, d: float) -> np.ndarray:
        """Every channel's decay probability at d with the realistic detector, from their k bins stacked into one
        zero-padded array (built once): the limit solvers call this thousands of times."""
        stacked = self.__dict__.get("_stacked_k")
        if stacked is None:
            if any(
                ch.decay_k_mean is None or ch.decay_u_edges != self.channels[0].decay_u_edges for ch in self.channels
            ):
                return np.array([float(ch.decay_probability(d)) for ch in self.channels])
            means = [ch.decay_k_mean or [] for ch in self.channels]
            n_b = max(len(m) for m in means)
            edges = tuple(self.channels[0].decay_u_edges or (0.0, 1.0))
            k = np.zeros((len(self.channels), n_b))
            f = np.zeros((len(self.channels), n_b, len(edges) - 1))
            for i, (ch, m) in enumerate(zip(self.channels, means, strict=True)):
                k[i, : len(m)] = m
                f[i, : len(m)] = np.asarray(ch.decay_k_fraction, dtype=float).reshape(len(m), -1)
            stacked = self.__dict__["_stacked_k"] = (k, f, edges)
        k, f, edges = stacked
        return mean_decay_probability(k, f, d * math.sqrt(self.channels[0].width_factor), edges)

    def channel_signal_upper(self, d: float) -> np.ndarray:
        """Per channel, a bound on S_i(d) that grows with d: every N decaying where it is accepted (P = 1)."""
        return np.array([c.signal_events_ref_prompt * (d / c.d_ref) ** 2 for c in self.channels])

    @property
    def signal_bound(self) -> Callable[[float], np.ndarray] | None:
        """What the limit solvers need beside S_i(d): :meth:`channel_signal_upper` when S(d) need not grow with d
        (they then look for the first crossing), else None (S grows: any crossing is the first)."""
        return self.channel_signal_upper if self.signal_may_decrease else None

    @property
    def signal_may_decrease(self) -> bool:
        """Whether S(d) need not grow with d (see :attr:`ChannelYield.signal_may_decrease`)."""
        return any(c.signal_may_decrease for c in self.channels)

    @property
    def channel_background_events(self) -> np.ndarray:
        """B_i per channel."""
        return np.array([c.background_events for c in self.channels])

    @property
    def background_events(self) -> float:
        return float(sum(c.background_events for c in self.channels))

    @property
    def background_irreducible_events(self) -> float:
        return float(sum(c.background_irreducible_events for c in self.channels))

    def summary(self) -> dict:
        return {
            "scenario": self.scenario,
            "mass_GeV": self.mass,
            "decay_model": self.decay_model,
            "n_cc_modes": self.n_modes,
            "channels": [c.label for c in self.channels],
            "efficiency": [c.efficiency for c in self.channels],
            "signal_xsec_pb": [c.signal_xsec_pb for c in self.channels],
            "d_ref_GeV_inv": self.channels[0].d_ref,
            "background_events": self.background_events,
            "background_events_irreducible": self.background_irreducible_events,
            "background_events_gap": float(sum(c.gap_background_events for c in self.channels)),
            "channel_details": [c.as_dict() for c in self.channels],
        }


def check_mass(scenario: Scenario, mass: float) -> tuple[EnergyPoint, ...]:
    if not (np.isfinite(mass) and mass > 0):
        raise InputError(f"mass={mass!r} GeV: expected a finite positive N mass")
    points = scenario.points_for_mass(mass)
    if not points:
        raise InputError(
            f"mass={mass!r} GeV: N cannot be produced in scenario {scenario.name} (sqrt(s) <= "
            f"{scenario.max_sqrt_s:g} GeV); expected m_N < {scenario.max_sqrt_s:g} GeV"
        )
    return points


def channel_yield(
    scenario: Scenario,
    point: EnergyPoint,
    mass: float,
    d_ref: float,
    signal: SelectedSample,
    background: SelectedSample,
    *,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
    width_factor: float = 1.0,
    polarisation: tuple[float, float] | None = None,
) -> ChannelYield:
    """One channel's yields from its selected signal and nu nubar gamma samples."""
    det = scenario.detector
    eff = signal.efficiency
    return ChannelYield(
        sqrt_s=point.sqrt_s,
        lumi_fb=point.lumi_fb,
        mass=mass,
        d_ref=d_ref,
        eps_det=det.eps_det,
        length_m=det.length_m,
        signal_xsec_pb=signal.xsec_total_pb,
        efficiency=eff,
        efficiency_err=signal.efficiency_err,
        background_xsec_pb=background.xsec_pb,
        background_xsec_err_pb=background.xsec_err_pb,
        gap_background_events=scenario.gap_background.expected(point.lumi_fb) if scenario.gap_background else 0.0,
        fit_signal_pb=list(signal.fit_values_pb),
        fit_background_pb=list(background.fit_values_pb),
        fit_background_var_pb2=list(background.fit_variances_pb2),
        constants=constants,
        decay_k_mean=None if signal.decay_k_mean is None else list(signal.decay_k_mean),
        decay_k_fraction=None if signal.decay_k_fraction is None else [list(r) for r in signal.decay_k_fraction],
        decay_u_edges=None if signal.decay_u_edges is None else list(signal.decay_u_edges),
        width_factor=width_factor,
        polarisation=None if polarisation is None else list(polarisation),
    )
