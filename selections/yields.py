"""Yields per scenario and N mass: signal efficiency and cross section per channel, backgrounds in events.

S_i(d) = L_i sigma_i(d_ref) (d/d_ref)^2 eps_det eps_cuts,i P_dec,i(d) (eq. 7); the irreducible background is
B_i = L_i sigma_nunugamma,i(after cuts) eps_det, plus the Belle II gap background scaled with luminosity.
Luminosities in fb^-1, cross sections in pb (1 pb x 1 fb^-1 = 1000 events).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from analysis.config import EnergyPoint, Scenario
from analysis.constants import DEFAULT_CONSTANTS, PhysicsConstants
from analysis.errors import InputError
from analysis.progress import log
from samples.cache import derived_seed, ensure_sample, sample_path
from samples.generators import NuNuGammaSpec, SignalSpec
from samples.signal_physics import decay_probability
from selections.cuts import build_selection
from selections.process import SampleResult, process_sample

PB_FB = 1000.0  # events per (pb x fb^-1)


@dataclass
class ChannelYield:
    """One energy point of a scenario."""

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
        return decay_probability(self.sqrt_s, self.mass, d, self.length_m, self.constants)

    def signal_events(self, d: np.ndarray | float) -> np.ndarray:
        """Expected signal events at coupling d (GeV^-1), including P_dec(d)."""
        d = np.asarray(d, dtype=float)
        return self.signal_events_ref_prompt * (d / self.d_ref) ** 2 * self.decay_probability(d)

    def as_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "constants"}
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
    samples: dict[str, dict[str, SampleResult]] = field(default_factory=dict, repr=False)

    def signal_events(self, d: np.ndarray | float) -> np.ndarray:
        return sum(c.signal_events(d) for c in self.channels)

    def channel_signal_events(self, d: float) -> np.ndarray:
        """S_i(d) per channel."""
        return np.array([float(c.signal_events(d)) for c in self.channels])

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


@functools.lru_cache(maxsize=256)
def background_sample(scenario: Scenario, point: EnergyPoint, seed: int,
                      constants: PhysicsConstants = DEFAULT_CONSTANTS) -> tuple[NuNuGammaSpec, int]:
    """The nu nubar gamma generator spec of one energy point (generated in the selection's box) and its seed."""
    spec = NuNuGammaSpec(point.beams, build_selection(scenario, point).region(), constants)
    return spec, derived_seed(seed, "nunugamma", point.sqrt_s, point.beams.as_dict())


def signal_sample(scenario: Scenario, point: EnergyPoint, mass: float, decay_model: str, seed: int,
                  n_modes: int = 2, d_ref: float = 1e-5, constants: PhysicsConstants = DEFAULT_CONSTANTS,
                  ) -> tuple[SignalSpec, int]:
    """The signal generator spec of one energy point and mass, and its seed."""
    spec = SignalSpec(point.beams, mass, d_ref=d_ref, decay_model=decay_model, n_modes=n_modes, constants=constants)
    return spec, derived_seed(seed, "signal", point.sqrt_s, mass, decay_model, n_modes)


@functools.lru_cache(maxsize=256)
def background_for_point(
    scenario: Scenario, point: EnergyPoint, events: int, seed: int, workdir: Path,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> SampleResult:
    """Generate (or reuse) and select the nu nubar gamma sample of one energy point.

    It does not depend on m_N, so a mass scan selects it once per process (memoised; treat as read-only).
    """
    spec, s = background_sample(scenario, point, seed, constants)
    path = ensure_sample(spec, s, events, workdir / "samples")
    return process_sample(path, "nunugamma", build_selection(scenario, point))


def signal_for_point(
    scenario: Scenario, point: EnergyPoint, mass: float, decay_model: str, events: int, seed: int, workdir: Path,
    n_modes: int = 2, d_ref: float = 1e-5, constants: PhysicsConstants = DEFAULT_CONSTANTS,
) -> SampleResult:
    """Generate (or reuse) and select the signal sample of one energy point and mass."""
    spec, s = signal_sample(scenario, point, mass, decay_model, seed, n_modes, d_ref, constants)
    path = ensure_sample(spec, s, events, workdir / "samples")
    return process_sample(path, "signal", build_selection(scenario, point))


@dataclass(frozen=True)
class SampleJob:
    """One sample file to generate: what, with which seed and how many events, into which folder."""

    spec: SignalSpec | NuNuGammaSpec
    seed: int
    events: int
    folder: Path

    def run(self) -> Path:
        return ensure_sample(self.spec, self.seed, self.events, self.folder)

    @property
    def path(self) -> Path:
        return sample_path(self.spec, self.seed, self.events, self.folder)


def sample_jobs(scenario: Scenario, mass: float, decay_model: str = "helicity", events: int = 200_000, seed: int = 1,
                workdir: str | Path = ".cache", n_modes: int = 2, d_ref: float = 1e-5,
                constants: PhysicsConstants = DEFAULT_CONSTANTS) -> list[SampleJob]:
    """The samples ``compute_yields`` with the same arguments reads (so they can be made beforehand, in parallel)."""
    folder = Path(workdir) / "samples"
    jobs = []
    for point in check_mass(scenario, mass):
        jobs.append(SampleJob(*signal_sample(scenario, point, mass, decay_model, seed, n_modes, d_ref, constants),
                              events, folder))
        jobs.append(SampleJob(*background_sample(scenario, point, seed, constants), events, folder))
    return jobs


def compute_yields(
    scenario: Scenario,
    mass: float,
    decay_model: str = "helicity",
    events: int = 200_000,
    seed: int = 1,
    workdir: str | Path = ".cache",
    n_modes: int = 2,
    background_events: int | None = None,
    d_ref: float = 1e-5,
    constants: PhysicsConstants = DEFAULT_CONSTANTS,
    verbose: bool = False,
) -> ScenarioYields:
    """Yields of every channel of ``scenario`` that can produce an N of ``mass`` GeV."""
    points = check_mass(scenario, mass)
    workdir = Path(workdir)
    det = scenario.detector
    channels, samples = [], {}
    for point in points:
        if verbose:
            log(f"  {scenario.name} {point.sqrt_s:.3f} GeV: samples and selection")
        sig = signal_for_point(scenario, point, mass, decay_model, events, seed, workdir, n_modes, d_ref, constants)
        bkg = background_for_point(scenario, point, background_events or events, seed, workdir, constants)
        gap = scenario.gap_background.expected(point.lumi_fb) if scenario.gap_background else 0.0
        eff = sig.efficiency
        channels.append(ChannelYield(
            sqrt_s=point.sqrt_s, lumi_fb=point.lumi_fb, mass=mass, d_ref=d_ref, eps_det=det.eps_det,
            length_m=det.length_m, signal_xsec_pb=sig.cutflow.sumw[0], efficiency=eff,
            efficiency_err=float(np.sqrt(eff * (1 - eff) / sig.cutflow.events[0])),
            background_xsec_pb=bkg.xsec_pb, background_xsec_err_pb=bkg.xsec_err_pb,
            gap_background_events=gap, constants=constants,
        ))
        samples[point.label] = {"signal": sig, "nunugamma": bkg}
    return ScenarioYields(scenario.name, mass, decay_model, n_modes, channels, samples)
