"""The report's verdict: three questions answered separately; derived paper values never averaged; no verdict where
the grid cannot resolve a target's minimum."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dipole_portal.analysis import verdict
from dipole_portal.core.options import DecayModel

# per (model, counting) a factor on a flat curve: backward is 1.3x the paper, isotropic 1.0x, exact 0.95 x backward
FACTOR = {"backward": 1.3, "exact": 1.3 * 0.95, "helicity": 1.25, "isotropic": 1.0, "forward": 0.8}
TARGETS = [
    {"scenario": "a", "lo_GeV": 0.1, "hi_GeV": 10.0, "paper_d95": 1e-5, "derived": False},
    {"scenario": "b", "lo_GeV": 0.1, "hi_GeV": 10.0, "paper_d95": 2e-6, "derived": False},
    {"scenario": "c", "lo_GeV": 0.1, "hi_GeV": 10.0, "paper_d95": 1e-7, "derived": True},  # 1/20 of "its" limit
]
MASSES = list(np.geomspace(0.1, 10.0, 13))


def _shape(m: float) -> float:
    return 1.0 + 0.1 * abs(math.log10(m) - 0.2)  # minimum near 1.6 GeV, at most 1.1 x over the range


def _study_and_curves(masses=MASSES):
    limits, curves = [], {}
    for tg in TARGETS:
        base = tg["paper_d95"] * (20 if tg["derived"] else 1)
        curves[tg["scenario"]] = [
            {"mass_GeV": m, "d95": base * FACTOR["exact"] * _shape(m), "channels": [10.58]} for m in masses
        ]
        for model in DecayModel:
            for cc in (1, 2):
                f = FACTOR[model.value] * (math.sqrt(2) if cc == 1 else 1.0)
                limits += [
                    {
                        "scenario": tg["scenario"],
                        "decay_model": model.value,
                        "n_cc_modes": cc,
                        "mass_GeV": m,
                        "d95_chi2": base * f * _shape(m),
                        "d95_cls": base * f * _shape(m) * 1.09,
                    }
                    for m in masses
                ]
    return {"targets": TARGETS, "limits": limits}, curves


def test_three_questions_and_derived_values_kept_out():
    study, curves = _study_and_curves()
    v = verdict.compute_verdict(study, curves)
    assert v.withheld == {} and v.stated_targets() == ["a", "b"]
    # 1. the stated assumptions: 1.3 x the paper at the best mass; the derived target (20x) is not averaged
    best = min(_shape(m) for m in MASSES)
    assert v.mean_ratio(verdict.STATED) == pytest.approx(1.3 * best, rel=1e-9)
    lo, hi = v.spread(verdict.STATED)
    edges = verdict.band_edges(0.1, 10.0)
    band_best = [
        min(_shape(m) for m in MASSES if a * (1 - 1e-9) <= m <= b * (1 + 1e-9))
        for a, b in zip(edges, edges[1:], strict=False)
    ]  # each band's lowest limit
    assert lo == pytest.approx(1.3 * best, rel=1e-9) and hi == pytest.approx(1.3 * max(band_best), rel=1e-9)
    # 2. the closest set is isotropic, both modes
    assert v.ranked()[0] == ("isotropic", 2)
    # 3. the correction exact / stated is 0.95 everywhere (derived target included: no paper value enters)
    assert all(x == pytest.approx(0.95, rel=1e-9) for x in verdict.correction(v).values())
    assert {t for t, _ in verdict.correction(v)} == {"a", "b", "c"}
    text = "\n".join(verdict.conclusion(v))
    assert "1.30 times the paper's on average" in text  # 1.3 x 1.003
    assert "does not reproduce the paper's numbers" in text
    assert "is `isotropic`, N nubar + Nbar nu: 1.00 times" in text  # 1.003
    assert "factor 0.95" in text and "stronger" in text
    assert "c is derived" in text and "kept out of every average" in text
    table = "\n".join(verdict.table(v))
    assert "(derived, not averaged)" in table and table.count("| a |") == 1 + verdict.N_BANDS


def test_no_verdict_where_the_grid_does_not_resolve_the_minimum():
    coarse = [0.1, 1.0, 10.0]
    study, curves = _study_and_curves()
    curves["a"] = [{"mass_GeV": m, "d95": 1e-5 * (3.0 if m != 1.0 else 1.0), "channels": [10.58]} for m in coarse]
    v = verdict.compute_verdict(study, curves)
    assert set(v.withheld) == {"a"} and "3.00x" in v.withheld["a"] and v.stated_targets() == ["b"]
    assert "No verdict for a" in " ".join(verdict.conclusion(v))
    for name in ("a", "b", "c"):  # and none at all when no target is resolved
        curves[name] = [{"mass_GeV": m, "d95": 1.0, "channels": [10.58]} for m in (0.1, 5.0)]
    v = verdict.compute_verdict(study, curves)
    assert v.stated_targets() == [] and verdict.table(v) == []
    assert verdict.conclusion(v)[0].startswith("No verdict on the paper")


def test_band_minima_cover_the_range():
    curve = [(m, _shape(m)) for m in MASSES]
    masses = verdict.band_minima(curve, 0.1, 10.0)
    edges = verdict.band_edges(0.1, 10.0)
    assert len(masses) == verdict.N_BANDS
    assert all(any(a <= m <= b for m in masses) for a, b in zip(edges, edges[1:], strict=False))
