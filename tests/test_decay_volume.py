"""The realistic decay volume: path lengths to a cylinder with end caps, and decay probabilities per event."""

from __future__ import annotations

import numpy as np
import pytest

from dipole_portal.samples.signal_physics import decay_length_at_momentum_m
from dipole_portal.selections.decay_volume import DecayVolume, decay_probability

BELLE2 = DecayVolume(radius_m=1.25, z_forward_m=1.96, z_backward_m=-1.02)


def _exit_by_bisection(v: DecayVolume, c: float) -> float:
    """Independent: the distance where a ray from the origin leaves the cylinder, by bisection on inside()."""
    s = np.sqrt(1 - c * c)

    def inside(t: float) -> bool:
        return t * s < v.radius_m and v.z_backward_m < t * c < v.z_forward_m

    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return lo


@pytest.mark.parametrize("c", [-1.0, -0.9, -0.63, -0.3, 0.0, 0.2, 0.54, 0.85, 0.99, 1.0])
def test_path_length_is_the_ray_exit_of_the_cylinder(c):
    assert BELLE2.path_length_m(np.array([c]))[0] == pytest.approx(_exit_by_bisection(BELLE2, c), rel=1e-9)


def test_decay_probability_for_a_fixed_direction_against_exponential_decays():
    """Closed form 1 - exp(-L / l_dec) against decay points drawn from the exponential law."""
    rng = np.random.default_rng(1)
    p, m, d, c = 3.0, 0.05, 3e-5, 0.3
    lam = float(decay_length_at_momentum_m(p, m, d))
    t = rng.exponential(lam, 400_000)
    s = np.sqrt(1 - c * c)
    inside = (t * s < BELLE2.radius_m) & (t * c < BELLE2.z_forward_m) & (t * c > BELLE2.z_backward_m)
    closed = float(decay_probability(BELLE2, np.array([p]), np.array([c]), m, d)[0])
    assert 0.05 < closed < 0.95
    assert inside.mean() == pytest.approx(closed, abs=4 * np.sqrt(closed * (1 - closed) / t.size))


def _limit(scenario, mass: float, detector_model: str, cache) -> float:
    from dipole_portal.analysis.tasks import YieldsRequest, compute_yields
    from dipole_portal.stats.limits import compute_limit

    y = compute_yields(YieldsRequest(scenario, mass, events=20_000, detector_model=detector_model), cache)
    return compute_limit(y, "chi2").d95_chi2


def _scaled(name: str, factor: float):
    """The scenario with its decay volume ``factor`` times larger in every direction."""
    import dataclasses

    from dipole_portal.core.config import get_scenario

    sc = get_scenario(name)
    vol = {k: v * factor for k, v in sc.detector.decay_volume.items()}
    params = {**sc.detector.params, "decay_volume": {**vol, "source": "test"}}
    return dataclasses.replace(sc, detector=dataclasses.replace(sc.detector, params=params))


def _without_resolution(name: str):
    """The scenario with a perfect calorimeter (every resolution 0)."""
    import dataclasses

    from dipole_portal.core.config import get_scenario

    sc = get_scenario(name)
    zero = {"energy_rel_at_1GeV": 0.0, "position_mm_at_1GeV": 0.0}
    params = {**sc.detector.params, "calorimeter_resolution": {"barrel": zero, "endcap": zero, "source": "test"}}
    return dataclasses.replace(sc, detector=dataclasses.replace(sc.detector, params=params))


def test_prompt_regime_geometry_changes_nothing_and_only_resolution_moves_the_limit(tmp_path):
    """At m_N = 2 GeV every N decays within microns: the geometry and the measured direction leave the paper's
    limit as it is, and the realistic detector moves it only through the resolution (with a perfect calorimeter
    it is the direction step's limit)."""
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.config import get_scenario

    for name in ("belle2-bbg", "stcf-4gev"):
        sc = get_scenario(name)
        paper = _limit(sc, 2.0, "paper", Cache(tmp_path))
        assert _limit(sc, 2.0, "geometry", Cache(tmp_path)) / paper == pytest.approx(1.0, abs=1e-6)
        direction = _limit(sc, 2.0, "direction", Cache(tmp_path))
        assert direction / paper == pytest.approx(1.0, abs=1e-4)
        perfect = _limit(_without_resolution(name), 2.0, "realistic", Cache(tmp_path))
        assert perfect / direction == pytest.approx(1.0, abs=1e-9)
        smeared = _limit(sc, 2.0, "realistic", Cache(tmp_path))
        assert smeared != perfect and smeared / paper == pytest.approx(1.0, abs=0.05)


def test_long_lived_regime_scales_with_the_fiducial_length(tmp_path):
    """At m_N = 10 MeV (decay lengths of km) the signal is proportional to the path length: doubling the volume
    doubles it, and d95 ~ S^(-1/4) moves by 2^(-1/4); the same samples are read, so no MC noise enters."""
    from dipole_portal.core.cache import Cache

    one = _limit(_scaled("belle2-bbg", 1.0), 0.01, "geometry", Cache(tmp_path))
    two = _limit(_scaled("belle2-bbg", 2.0), 0.01, "geometry", Cache(tmp_path))
    assert two / one == pytest.approx(2**-0.25, rel=2e-3)
    # and Belle II's real volume (calorimeter at 1.25-1.96 m) is smaller than the paper's l_D = 3 m
    paper = _limit(_scaled("belle2-bbg", 1.0), 0.01, "paper", Cache(tmp_path))
    assert one / paper > 1.1


@pytest.mark.parametrize("d", [1e-5, 3e-5])
def test_per_event_weights_against_regenerated_decays(tmp_path, d):
    """The selected sample's decay probability at d, from the stored k of each accepted event, equals the fraction
    of accepted events whose decay point, drawn from the exponential law at that d, lies inside the volume."""
    from dipole_portal.selections.cuts import PhotonColumns
    from dipole_portal.selections.decay_volume import mean_decay_probability
    from tests.conftest import selected_signal

    sel, vol, res, g, n = selected_signal(tmp_path, "belle2-bbg", 0.05, seed=9, events=100_000)
    mass = 0.05
    p_stored = float(mean_decay_probability(np.array(res.decay_k_mean), np.array(res.decay_k_fraction), d))
    passed = sel.passed(PhotonColumns(g.E, g.theta, g.boostZ(beta=sel.beta).theta))
    t = np.random.default_rng(3).exponential(decay_length_at_momentum_m(n.p, mass, d))
    inside = (
        (t * np.sin(n.theta) < vol.radius_m) & (t * n.costheta < vol.z_forward_m) & (t * n.costheta > vol.z_backward_m)
    )
    frac = inside[passed].mean()
    assert 0.02 < frac < 0.98
    assert p_stored == pytest.approx(frac, abs=4 * np.sqrt(frac * (1 - frac) / passed.sum()))


def test_realistic_model_needs_a_described_volume_and_refuses_a_bad_one():
    import dataclasses

    from dipole_portal.analysis.tasks import YieldsRequest
    from dipole_portal.core.config import get_scenario
    from dipole_portal.core.errors import InputError

    sc = get_scenario("bes3")
    bare = dataclasses.replace(
        sc,
        detector=dataclasses.replace(
            sc.detector, params={k: v for k, v in sc.detector.params.items() if k != "decay_volume"}
        ),
    )
    for model in ("geometry", "direction", "realistic"):
        with pytest.raises(InputError, match="no decay_volume"):
            YieldsRequest(bare, 1.0, detector_model=model)
    YieldsRequest(bare, 1.0)  # the paper's detector needs none
    blind = dataclasses.replace(
        sc,
        detector=dataclasses.replace(
            sc.detector, params={k: v for k, v in sc.detector.params.items() if k != "calorimeter_resolution"}
        ),
    )
    YieldsRequest(blind, 1.0, detector_model="direction")
    with pytest.raises(InputError, match="no calorimeter_resolution"):
        YieldsRequest(blind, 1.0, detector_model="realistic")
    with pytest.raises(InputError, match="detector model"):
        YieldsRequest(sc, 1.0, detector_model="ideal")
    for bad in ((0.0, 1.0, -1.0), (1.0, -1.0, -1.0), (1.0, 1.0, 1.0), (float("nan"), 1.0, -1.0)):
        with pytest.raises(InputError, match="decay volume"):
            DecayVolume(*bad)
