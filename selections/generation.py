"""What the selection of a scenario asks of generation and of the detector model.

``generation_region`` is the CM box nu nubar gamma is generated in (every photon the selection can accept, with a
margin for the calorimeter's smearing); ``detector_response`` is the response of a detector model beyond the
paper's, from the detector's configured decay volume and calorimeter resolution.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.core.errors import InputError
from dipole_portal.core.options import DetectorModel, parse_option
from dipole_portal.samples.kinematics import PhaseSpaceRegion
from dipole_portal.selections.cuts import build_selection
from dipole_portal.selections.decay_volume import DecayVolume
from dipole_portal.selections.detector_response import CalorimeterResolution, DetectorResponse

SMEAR_MARGIN_SIGMAS = 5.0  # how far outside the accepted box a smeared photon may come from


@functools.lru_cache(maxsize=1024)
def generation_region(scenario: Scenario, point: EnergyPoint, smeared: bool = False) -> PhaseSpaceRegion:
    """The CM box nu nubar gamma is generated in: it contains every photon the selection accepts.

    With ``smeared`` (the calorimeter resolution of the ``realistic`` detector model) the box is widened by
    SMEAR_MARGIN_SIGMAS resolutions at its lowest energy, in energy and in angle (angle resolution: the position
    resolution over the nearest calorimeter face, doubled for the boost), so photons that smearing moves into the
    accepted region are generated. A grid scan of the cuts (about 0.1 s); memoised, and immutable.
    """
    if not smeared:
        return build_selection(scenario, point).region()
    box = generation_region(scenario, point)  # memoised: the grid scan once per point
    res = CalorimeterResolution.from_config(described(scenario, "calorimeter_resolution"))
    vol = described(scenario, "decay_volume")
    n = SMEAR_MARGIN_SIGMAS
    d_theta = 2 * n * res.max_position_m(box.E_min) / min(vol["radius_m"], vol["z_forward_m"], -vol["z_backward_m"])
    half = point.sqrt_s / 2
    return PhaseSpaceRegion(
        E_min=max(box.E_min * (1 - n * res.max_energy_rel(box.E_min)), 1e-4 * half),
        E_max=box.E_max,
        cos_min=max(math.cos(min(math.pi, math.acos(box.cos_min) + d_theta)), -1 + 1e-9),
        cos_max=min(math.cos(max(0.0, math.acos(box.cos_max) - d_theta)), 1 - 1e-9),
    ).validate(point.sqrt_s)


def described(scenario: Scenario, what: str) -> Any:
    """The detector's ``decay_volume`` or ``calorimeter_resolution``, which the models beyond the paper's need."""
    value = getattr(scenario.detector, what)
    if value is None:
        raise InputError(
            f"scenario {scenario.name}: detector {scenario.detector.name} has no '{what}' in the "
            "configuration; the geometry, direction and realistic detector models need it"
        )
    return value


def detector_response(scenario: Scenario, detector_model: DetectorModel | str, seed: int) -> DetectorResponse | None:
    """The detector response of a model beyond the paper's (None for the paper's own)."""
    detector_model = parse_option(DetectorModel, detector_model, "detector model")
    if not detector_model.decay_volume:
        return None
    res = described(scenario, "calorimeter_resolution") if detector_model.resolution else None
    return DetectorResponse(
        DecayVolume(**described(scenario, "decay_volume")),
        detector_model.measured_direction,
        None if res is None else CalorimeterResolution.from_config(res),
        seed,
    )
