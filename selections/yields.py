"""Yields per scenario and N mass: signal efficiency and cross section per channel, backgrounds in events.

S_i(d) = L_i sigma_i(d_ref) (d/d_ref)^2 eps_det eps_cuts,i P_dec,i(d) (eq. 7); the irreducible background is
B_i = L_i sigma_nunugamma,i(after cuts) eps_det, plus the Belle II gap background scaled with luminosity.
Luminosities in fb^-1, cross sections in pb (1 pb x 1 fb^-1 = 1000 events).

This module reads selected samples and writes the *yields file* that the statistics stage reads: one JSON per
(scenario, m_N, decay model, counting) with efficiencies and their MC errors, cross sections, the background per
channel, the fit-binned E_gamma x theta_gamma shapes, and the provenance of every number. It generates nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from dipole_portal.core.atomic import write_json_atomic
from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.core.constants import DEFAULT_CONSTANTS, PhysicsConstants
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import check_name
from dipole_portal.core.options import DecayModel, DetectorModel, NType, parse_option
from dipole_portal.samples.signal_physics import decay_probability
from dipole_portal.selections.decay_volume import mean_decay_probability
from dipole_portal.selections.process import SelectedSample

YIELDS_FORMAT = "dipole-portal-yields"
YIELDS_FORMAT_VERSION = 2

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
    #: the N width relative to the Dirac width d^2 m^3 / (4 pi): 2 for a Majorana N
    width_factor: float = 1.0
    constants: PhysicsConstants = field(default=DEFAULT_CONSTANTS, repr=False)

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
            return mean_decay_probability(np.asarray(self.decay_k_mean), np.asarray(self.decay_k_fraction), d_width,
                                          tuple(self.decay_u_edges or (0.0, 1.0)))
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
        out = {k: v for k, v in asdict(self).items()
               if k != "constants" and not k.startswith(("fit_", "decay_"))}
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
        return sum(c.signal_events(d) for c in self.channels)

    def channel_signal_events(self, d: float) -> np.ndarray:
        """S_i(d) per channel, computed for all channels at once (the limit solvers call this hundreds of times).

        >>> ch = [ChannelYield(s, 1.0, 0.5, 1e-5, 1.0, 1.0, 2.0, 0.5, 0.0, 1.0, 0.0, 0.0) for s in (2.0, 4.0)]
        >>> y = ScenarioYields("x", 0.5, "exact", 2, ch)
        >>> bool(np.allclose(y.channel_signal_events(3e-4), [c.signal_events(3e-4) for c in ch], rtol=1e-12))
        True
        """
        c = self.channels
        if not c or any(ch.constants != c[0].constants or ch.mass != c[0].mass
                        or ch.width_factor != c[0].width_factor for ch in c):  # mixed: one at a time
            return np.array([float(ch.signal_events(d)) for ch in c])
        ref = np.array([ch.signal_events_ref_prompt for ch in c])
        if any(ch.decay_k_mean is not None for ch in c):
            return ref * (d / np.array([ch.d_ref for ch in c])) ** 2 * self._decay_probabilities(d)
        d_ref = np.array([ch.d_ref for ch in c])
        p_dec = decay_probability(np.array([ch.sqrt_s for ch in c]), c[0].mass, d * math.sqrt(c[0].width_factor),
                                  np.array([ch.length_m for ch in c]), c[0].constants)
        return ref * (d / d_ref) ** 2 * p_dec

    def _decay_probabilities(self, d: float) -> np.ndarray:
        """Every channel's decay probability at d with the realistic detector, from their k bins stacked into one
        zero-padded array (built once): the limit solvers call this thousands of times."""
        stacked = self.__dict__.get("_stacked_k")
        if stacked is None:
            if any(ch.decay_k_mean is None or ch.decay_u_edges != self.channels[0].decay_u_edges
                   for ch in self.channels):
                return np.array([float(ch.decay_probability(d)) for ch in self.channels])
            n_b = max(len(ch.decay_k_mean) for ch in self.channels)
            edges = tuple(self.channels[0].decay_u_edges or (0.0, 1.0))
            k = np.zeros((len(self.channels), n_b))
            f = np.zeros((len(self.channels), n_b, len(edges) - 1))
            for i, ch in enumerate(self.channels):
                k[i, :len(ch.decay_k_mean)] = ch.decay_k_mean
                f[i, :len(ch.decay_k_mean)] = np.asarray(ch.decay_k_fraction, dtype=float).reshape(
                    len(ch.decay_k_mean), -1)
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
            "channels": [f"{c.sqrt_s:.3f}GeV" for c in self.channels],
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


def channel_yield(scenario: Scenario, point: EnergyPoint, mass: float, d_ref: float, signal: SelectedSample,
                  background: SelectedSample, constants: PhysicsConstants = DEFAULT_CONSTANTS,
                  width_factor: float = 1.0) -> ChannelYield:
    """One channel's yields from its selected signal and nu nubar gamma samples."""
    det = scenario.detector
    eff = signal.efficiency
    return ChannelYield(
        sqrt_s=point.sqrt_s, lumi_fb=point.lumi_fb, mass=mass, d_ref=d_ref, eps_det=det.eps_det,
        length_m=det.length_m, signal_xsec_pb=signal.xsec_total_pb, efficiency=eff,
        efficiency_err=signal.efficiency_err,
        background_xsec_pb=background.xsec_pb, background_xsec_err_pb=background.xsec_err_pb,
        gap_background_events=scenario.gap_background.expected(point.lumi_fb) if scenario.gap_background else 0.0,
        fit_signal_pb=list(signal.fit_values_pb), fit_background_pb=list(background.fit_values_pb),
        fit_background_var_pb2=list(background.fit_variances_pb2), constants=constants,
        decay_k_mean=None if signal.decay_k_mean is None else list(signal.decay_k_mean),
        decay_k_fraction=None if signal.decay_k_fraction is None else [list(r) for r in signal.decay_k_fraction],
        decay_u_edges=None if signal.decay_u_edges is None else list(signal.decay_u_edges), width_factor=width_factor,
    )


def yields_record(y: ScenarioYields, scenario: Scenario, constants: PhysicsConstants = DEFAULT_CONSTANTS) -> dict:
    """The JSON content of a yields file."""
    return {
        "format": YIELDS_FORMAT, "format_version": YIELDS_FORMAT_VERSION,
        "scenario": scenario.name, "scenario_definition": scenario.as_dict(),
        "mass_GeV": y.mass, "decay_model": str(y.decay_model), "n_cc_modes": y.n_modes,
        "detector_model": str(y.detector_model), "n_type": str(y.n_type),
        "units": {"xsec": "pb", "lumi": "fb^-1", "length": "m", "d": "GeV^-1", "mass": "GeV", "background": "events"},
        "constants": constants.as_dict(),
        "channels": [{f.name: getattr(c, f.name) for f in fields(c) if f.name not in ("constants", "mass")}
                     for c in y.channels],
        "provenance": y.provenance,
    }


def write_yields(path: str | os.PathLike[str], y: ScenarioYields, scenario: Scenario,
                 constants: PhysicsConstants = DEFAULT_CONSTANTS) -> Path:
    """Write the yields file (JSON) atomically."""
    return write_json_atomic(path, yields_record(y, scenario, constants))


_CHANNEL_NUMBERS = ("sqrt_s", "lumi_fb", "d_ref", "eps_det", "length_m", "signal_xsec_pb", "efficiency",
                    "efficiency_err", "background_xsec_pb", "background_xsec_err_pb", "gap_background_events",
                    "width_factor")
_POSITIVE = ("sqrt_s", "lumi_fb", "d_ref", "eps_det", "length_m", "width_factor")  # zero is no channel
_FIT_ARRAYS = ("fit_signal_pb", "fit_background_pb", "fit_background_var_pb2")


def yields_from_record(record: Any, where: str = "yields") -> ScenarioYields:
    """Check a yields record (from a file or the cache) and build the ScenarioYields it describes."""
    if not isinstance(record, dict) or record.get("format") != YIELDS_FORMAT:
        raise InputError(f"{where}: not a yields file (format {YIELDS_FORMAT!r} expected)")
    if record.get("format_version") != YIELDS_FORMAT_VERSION:
        raise InputError(f"{where}: format_version {record.get('format_version')!r}, this version reads "
                         f"{YIELDS_FORMAT_VERSION}")
    try:
        try:
            constants = PhysicsConstants(**record["constants"])
        except InputError as exc:
            raise InputError(f"{where}: constants: {exc}") from None
        mass = record["mass_GeV"]
        if isinstance(mass, bool) or not isinstance(mass, (int, float)) or not (math.isfinite(mass) and mass > 0):
            raise InputError(f"{where}: mass_GeV = {mass!r}, expected a positive number of GeV")
        mass = float(mass)
        scenario_name = check_name(record["scenario"], f"{where}: scenario")
        decay_model = str(parse_option(DecayModel, record["decay_model"], f"{where}: decay_model"))
        n_modes = record["n_cc_modes"]
        if n_modes not in (1, 2) or isinstance(n_modes, bool):
            raise InputError(f"{where}: n_cc_modes = {n_modes!r}, expected 1 or 2")
        channels = []
        for i, c in enumerate(record["channels"]):
            for k in _CHANNEL_NUMBERS:
                v = c.get(k, 1.0) if k == "width_factor" else c[k]
                if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                    raise InputError(f"{where}: channels[{i}].{k} = {v!r}, expected a finite non-negative number")
                if k in _POSITIVE and not v > 0:
                    raise InputError(f"{where}: channels[{i}].{k} = {v!r}, expected a positive number")
            arrays = [c.get(k) for k in _FIT_ARRAYS]
            if any(a is not None for a in arrays):
                if not all(isinstance(a, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                       and math.isfinite(x) and x >= 0 for x in a) for a in arrays) \
                        or len({len(a) for a in arrays}) != 1:  # type: ignore[arg-type]
                    raise InputError(f"{where}: channels[{i}].{'/'.join(_FIT_ARRAYS)}: expected three lists of "
                                     "finite non-negative numbers of equal length")
            if not 0 <= c["efficiency"] <= 1:
                raise InputError(f"{where}: channels[{i}].efficiency = {c['efficiency']!r}, expected a value in [0, 1]")
            _check_decay_k(c, f"{where}: channels[{i}]")
            channels.append(ChannelYield(mass=mass, constants=constants, **c))
        if not all(isinstance(c, ChannelYield) and mass < c.sqrt_s for c in channels):
            raise InputError(f"{where}: mass_GeV = {mass!r} is not below every channel's sqrt(s) "
                             f"({', '.join(f'{c.sqrt_s:g}' for c in channels[:5])} GeV): N cannot be produced")
        y = ScenarioYields(scenario_name, mass, decay_model, int(n_modes), channels, record.get("provenance", {}),
                           str(parse_option(DetectorModel, record.get("detector_model", "paper"),
                                            f"{where}: detector_model")),
                           str(parse_option(NType, record.get("n_type", "dirac"), f"{where}: n_type")))
    except KeyError as exc:
        raise InputError(f"{where}: key {exc.args[0]!r} missing") from None
    except TypeError as exc:
        raise InputError(f"{where}: malformed yields ({exc})") from None
    if not channels:
        raise InputError(f"{where}: no channels")
    return y


def _check_decay_k(c: dict, where: str) -> None:
    """A realistic detector step's per-event decay parameters: absent, or a list of finite positive k, per k a list
    of shares in [0, 1] (one per decay interval), and increasing interval edges from 0 to 1; each interval's shares
    sum to at most 1, and to 1 with a single interval."""
    k, f, e = c.get("decay_k_mean"), c.get("decay_k_fraction"), c.get("decay_u_edges")
    if k is None and f is None and e is None:
        return
    def num(x: object) -> bool:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    ok = isinstance(e, list) and len(e) >= 2 and all(map(num, e)) and e[0] == 0 and e[-1] == 1
    ok = ok and all(a < b for a, b in zip(e[:-1], e[1:], strict=True))
    ok = ok and isinstance(k, list) and isinstance(f, list) and len(k) == len(f) > 0
    ok = ok and all(num(x) and x > 0 for x in k)
    ok = ok and all(isinstance(r, list) and len(r) == len(e) - 1 and all(num(x) and 0 <= x <= 1 for x in r) for r in f)
    if ok:
        sums = np.sum(np.asarray(f, dtype=float), axis=0)
        ok = bool(np.all(sums <= 1 + 1e-6)) and (len(e) > 2 or abs(sums[0] - 1) < 1e-6)
    if not ok:
        raise InputError(f"{where}.decay_k_mean/decay_k_fraction/decay_u_edges: expected a list of finite positive k, "
                         "per k a list of shares in [0, 1] (one per decay interval; each interval's shares summing to "
                         "at most 1, exactly 1 with one interval), and increasing edges from 0 to 1")


def read_yields(path: str | os.PathLike[str]) -> ScenarioYields:
    """Read a yields file written by ``select`` (or by the pipeline); errors name the file and key."""
    from dipole_portal.core.readers import read_json

    p = Path(path)
    return yields_from_record(read_json(p, "yields"), str(p))
