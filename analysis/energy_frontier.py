"""The energy frontier's table (``limits/energy_frontier.json`` and ``.csv``): per scenario with Z exchange, its
collider, operator and headline limits, where its signal comes from at its best mass, and the composition of the
nu nubar gamma background of each data set.

It reads the run's limits and pyhf specs (the signal at the limit per data set) and integrates the electroweak
background over each selection by midpoint quadrature (the flavour split and what the recoil-mass veto removes are
properties of the law, not of a sample). It computes no limit.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dipole_portal.core.atomic import write_json_atomic, write_text_atomic
from dipole_portal.core.config import EnergyPoint, Scenario
from dipole_portal.samples.electroweak_background import Flavour, nunugamma_d2sigma_dE_dz_pb
from dipole_portal.samples.electroweak_physics import BeamPolarisation, Electroweak, dz_over_dgamma
from dipole_portal.selections import geometry as geo
from dipole_portal.selections.cuts import PhotonColumns, build_selection
from dipole_portal.selections.generation import generation_region
from dipole_portal.stats.limits import LimitResult

#: masses (GeV) at which the table quotes each curve, where the curve reaches them
REFERENCE_MASSES_GEV = (0.1, 1.0, 10.0, 50.0)
FORMAT = "dipole-portal-energy-frontier"
CSV_COLUMNS = (
    "scenario",
    "collider",
    "operator",
    "dz_over_dgamma",
    "lumi_fb",
    "best_d95_cls",
    "best_mass_GeV",
    *(f"d95_cls_at_{m:g}GeV" for m in REFERENCE_MASSES_GEV),
    "leading_data_set",
    "leading_signal_share",
)


def d95_at(limits: Sequence[LimitResult], mass: float) -> float | None:
    """The curve's CLs d95 at ``mass`` GeV, interpolated in log-log between its grid masses; None outside them.

    >>> rows = [LimitResult("x", m, "exact", 2, "cls", "counting", d, d, d, None, None, 1, 1, 1, [1], [1])
    ...         for m, d in ((0.1, 1e-4), (10.0, 1e-6))]
    >>> f"{d95_at(rows, 1.0):.1e}"
    '1.0e-05'
    """
    pts = sorted((r.mass_GeV, r.d95_cls if r.d95_cls is not None else r.d95) for r in limits)
    masses = np.log([m for m, _ in pts])
    if not masses[0] <= math.log(mass) <= masses[-1]:
        return None
    return float(np.exp(np.interp(math.log(mass), masses, np.log([d for _, d in pts]))))


def signal_by_data_set(spec: dict[str, Any]) -> dict[str, float]:
    """Signal events at the limit per data set (pyhf channel) of a limit's spec."""
    out = {}
    for ch in spec["channels"]:
        out[ch["name"]] = float(sum(sum(s["data"]) for s in ch["samples"] if s["name"] == "signal"))
    return out


def background_composition(scenario: Scenario, point: EnergyPoint, n: tuple[int, int] = (1200, 400)) -> dict:
    """The electroweak nu nubar gamma cross section (pb) that the scenario's selection accepts at ``point`` by
    midpoint quadrature in (ln E, artanh cos theta) over the generation box: in all, the nu_e share (W exchange and
    its interference), and what the recoil-mass veto removes (the radiative return), as a share of the rest."""
    selection = build_selection(scenario, point)
    box = generation_region(scenario, point)
    pol = BeamPolarisation(*(point.polarisation or (0.0, 0.0)))
    ew = Electroweak(pol=pol)
    lo_l, hi_l = math.log(box.E_min), math.log(box.E_max)
    lo_a, hi_a = math.atanh(box.cos_min), math.atanh(box.cos_max)
    h_l, h_a = (hi_l - lo_l) / n[0], (hi_a - lo_a) / n[1]
    E = np.exp(lo_l + h_l * (np.arange(n[0]) + 0.5))[:, None]
    z = np.tanh(lo_a + h_a * (np.arange(n[1]) + 0.5))[None, :]
    jacobian = E * (1 - z * z) * h_l * h_a
    EE, ZZ = np.broadcast_arrays(E, z)
    theta = np.arccos(ZZ)
    masks = selection.masks(PhotonColumns(EE, theta, geo.cm_to_lab_theta_rad(theta, selection.beta)))
    before_veto = np.logical_and.reduce([m for name, m in masks.items() if name != "recoil_veto"])
    passed = before_veto & masks.get("recoil_veto", True)
    law = nunugamma_d2sigma_dE_dz_pb(E, z, point.sqrt_s, ew) * jacobian
    mu_tau = nunugamma_d2sigma_dE_dz_pb(E, z, point.sqrt_s, ew, (Flavour.MU, Flavour.TAU)) * jacobian
    total, before = float(np.sum(law * passed)), float(np.sum(law * before_veto))
    return {
        "data_set": point.label,
        "sqrt_s_GeV": point.sqrt_s,
        "polarisation": None if point.polarisation is None else list(point.polarisation),
        "lumi_fb": point.lumi_fb,
        "accepted_xsec_pb": total,
        "nu_e_share": 1 - float(np.sum(mu_tau * passed)) / total if total > 0 else 0.0,
        "recoil_veto_removes": (before - total) / before if before > 0 else 0.0,
        "events": total * point.lumi_fb * 1000 * scenario.detector.eps_det,
    }


def electroweak_record(scenario: Scenario) -> dict[str, Any] | None:
    """What the tables say of a scenario's Z exchange: its operator and d_Z / d_gamma (None without it)."""
    setting = scenario.electroweak
    if setting is None:
        return None
    return {
        "operator": str(setting.operator),
        "dz_over_dgamma": dz_over_dgamma(setting.operator, ratio=setting.dz_over_dgamma),
    }


def frontier_row(scenario: Scenario, limits: Sequence[LimitResult], specs: dict[float, dict]) -> dict[str, Any]:
    """One scenario's row: collider, operator and ratio, luminosity, the best CLs limit and where its signal comes
    from, and the curve at the reference masses."""
    setting, record = scenario.electroweak, electroweak_record(scenario)
    assert setting is not None and record is not None  # only scenarios with Z exchange have a row
    best = min(limits, key=lambda r: r.d95_cls if r.d95_cls is not None else r.d95)
    signal = signal_by_data_set(specs[best.mass_GeV])
    total = sum(signal.values())
    leading = max(signal, key=lambda k: signal[k])
    return {
        "scenario": scenario.name,
        "label": scenario.label,
        "collider": scenario.detector.label,
        **record,
        "operator_label": setting.label,
        "lumi_fb": scenario.lumi_fb,
        "best_d95_cls": best.d95_cls if best.d95_cls is not None else best.d95,
        "best_mass_GeV": best.mass_GeV,
        "d95_cls_at": {f"{m:g}": d95_at(limits, m) for m in REFERENCE_MASSES_GEV},
        "signal_at_best_by_data_set": signal,
        "leading_data_set": leading,
        "leading_signal_share": signal[leading] / total if total > 0 else 0.0,
        "z_pole": is_z_pole(scenario),
    }


def composition_table(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """The background composition of every data set of ``scenarios`` with Z exchange, once per (detector,
    selection, data set): the operator does not change the background."""
    seen: dict[tuple, dict[str, Any]] = {}
    for sc in scenarios:
        if sc.electroweak is None:
            continue
        for p in sc.points:
            key = (sc.detector.name, sc.selection, p.sqrt_s, p.polarisation)
            if key not in seen:
                seen[key] = {"detector": sc.detector.label, "selection": sc.selection}
                seen[key] |= background_composition(sc, p)
    return list(seen.values())


#: masses (GeV) at which a Z-pole scenario is set beside the existing LEP bound
LEP_COMPARISON_MASSES_GEV = (0.01, 0.1, 1.0, 10.0, 35.0, 80.0)
#: the existing LEP bound of Fig. 3 (HNLimits, from arXiv:1803.03262: Z-pole single-photon data, d_gamma = d_Z)
LEP_CONTOUR = "LEPgz_d.dat"


def is_z_pole(scenario: Scenario) -> bool:
    """Whether every data set of the scenario is at the Z pole (within 0.5 GeV of M_Z): LEP1-like."""
    return all(abs(p.sqrt_s - 91.1876) < 0.5 for p in scenario.points)


def lep_comparison(rows: list[dict[str, Any]], curves: Mapping[str, Sequence[LimitResult]]) -> dict[str, Any] | None:
    """The existing LEP bound (its lower edge, interpolated in log-log) beside every Z-pole scenario's curve at
    LEP_COMPARISON_MASSES_GEV; None without a Z-pole scenario."""
    from dipole_portal.plotting.existing import data_folder, read_contour

    names = [r["scenario"] for r in rows if r.get("z_pole")]
    if not names:
        return None
    mass, d, _ = read_contour(data_folder() / LEP_CONTOUR)
    order = np.argsort(mass)
    mass, d = mass[order], d[order]

    def existing(m: float) -> float | None:
        if not mass[0] <= m <= mass[-1]:
            return None
        return float(np.exp(np.interp(math.log(m), np.log(mass), np.log(d))))

    return {
        "source": f"HNLimits {LEP_CONTOUR}, from arXiv:1803.03262, summarised in arXiv:2105.09699",
        "masses_GeV": list(LEP_COMPARISON_MASSES_GEV),
        "existing": [existing(m) for m in LEP_COMPARISON_MASSES_GEV],
        "curves": {n: [d95_at(curves[n], m) for m in LEP_COMPARISON_MASSES_GEV] for n in names},
    }


def write_frontier_table(
    folder: Path,
    rows: list[dict[str, Any]],
    composition: list[dict[str, Any]],
    lep: dict[str, Any] | None = None,
) -> list[Path]:
    """``energy_frontier.json`` (rows and composition) and ``energy_frontier.csv`` (one row per scenario)."""
    doc = {
        "format": FORMAT,
        "convention": (
            "L = d_gamma Nbar sigma^{mu nu} P_L nu F_{mu nu} + d_Z Nbar sigma^{mu nu} P_L nu Z_{mu nu} + h.c.; "
            "photon: d_Z = 0; hypercharge (B-type): d_Z = -tan(theta_W) d_gamma; weak-isospin (W-type): "
            "d_Z = +cot(theta_W) d_gamma. Limits are on d_gamma in GeV^-1 (95% C.L. expected, CLs median)."
        ),
        "rows": rows,
        "background_composition": composition,
        "lep_comparison": lep,
    }
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        at = [r["d95_cls_at"][f"{m:g}"] for m in REFERENCE_MASSES_GEV]
        w.writerow(
            [
                r["scenario"],
                r["collider"],
                r["operator"],
                f"{r['dz_over_dgamma']:.6g}",
                f"{r['lumi_fb']:g}",
                f"{r['best_d95_cls']:.6e}",
                f"{r['best_mass_GeV']:g}",
                *("" if v is None else f"{v:.6e}" for v in at),
                r["leading_data_set"],
                f"{r['leading_signal_share']:.4f}",
            ]
        )
    return [
        write_json_atomic(folder / "energy_frontier.json", doc),
        write_text_atomic(folder / "energy_frontier.csv", text.getvalue()),
    ]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2e}"


#: the Z-pole statement's reference mass (GeV): far below M_Z, where every curve is flat in m_N
Z_POLE_REFERENCE_GEV = 1.0


def report_lines(doc: dict[str, Any]) -> list[str]:
    """The report's section on the energy frontier, from ``energy_frontier.json``."""
    rows, comp = doc["rows"], doc["background_composition"]
    at = [f"{m:g}" for m in REFERENCE_MASSES_GEV]
    lines = [
        "## The energy frontier",
        "",
        f"Convention: {doc['convention']} The signal is e+e- -> (gamma*, Z*) -> N nubar + Nbar nu with the beams' "
        "longitudinal polarisation, N -> nu gamma with Br(N -> nu gamma) < 1 above M_Z (N -> nu Z); the background is "
        "e+e- -> nu nubar gamma with the Z s-channel, the W t-channel for nu_e and the radiative return to the Z.",
        "",
        "| scenario | collider | operator | d_Z/d_gamma | L [fb^-1] | best d95 [GeV^-1] | at m_N [GeV] | "
        + " | ".join(f"d95 at {m} GeV" for m in at)
        + " | data set with most signal at the best mass |",
        "|---|---|---|---|---|---|---|" + "---|" * len(at) + "---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['collider']} | {r['operator_label']} | {r['dz_over_dgamma']:+.3f} | "
            f"{r['lumi_fb']:.4g} | {r['best_d95_cls']:.2e} | {r['best_mass_GeV']:.3g} | "
            + " | ".join(_fmt(r["d95_cls_at"][m]) for m in at)
            + f" | {r['leading_data_set']} ({100 * r['leading_signal_share']:.0f}%) |"
        )
    lines += ["", *_z_pole_lines(rows), "", *_lep_lines(doc.get("lep_comparison"), rows), ""]
    lines += [*_composition_lines(comp), ""]
    return lines


def _lep_lines(lep: dict[str, Any] | None, rows: list[dict[str, Any]]) -> list[str]:
    """The Z-pole scenarios beside the existing LEP bound of Fig. 3."""
    if not lep:
        return []
    labels = {r["scenario"]: r["operator_label"] for r in rows}
    names = list(lep["curves"])
    out = [
        "### Beside the existing LEP bound",
        "",
        f"The existing LEP bound drawn in the figures ({lep['source']}; d_Z = d_gamma) against this run's Z-pole "
        "scenarios (expected limits on d_gamma, GeV^-1). A scenario here has one experiment's luminosity; with the "
        "background dominating, d95 scales as L^(-1/4) for a prompt N, so a data set four times larger would lower it "
        "by 4^(-1/4) = 0.71. Where the N lives long (low m_N), the limit here rises as its decays leave the "
        "calorimeter; a flat bound there does not follow from this signature with the N's decay length.",
        "",
        "| m_N [GeV] | existing LEP | " + " | ".join(f"{n} ({labels.get(n, n)})" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for i, m in enumerate(lep["masses_GeV"]):
        out.append(
            f"| {m:g} | {_fmt(lep['existing'][i])} | " + " | ".join(_fmt(lep["curves"][n][i]) for n in names) + " |"
        )
    return out


def _z_pole_lines(rows: list[dict[str, Any]]) -> list[str]:
    """What the Z pole does: each operator's limit at the reference mass over the photon-only one, per collider."""
    key = f"{Z_POLE_REFERENCE_GEV:g}"
    by_collider: dict[str, dict[str, float | None]] = {}
    for r in rows:
        by_collider.setdefault(r["collider"], {})[r["operator"]] = r["d95_cls_at"].get(key)
    out = [
        f"### What the Z pole does for B- and W-type operators (d95 at m_N = {key} GeV)",
        "",
        "Above the pole and below it, d_Z adds a term to the photon's amplitude, suppressed by s/(s - M_Z^2) only "
        "away from it; at the pole the Z term is resonant, so a data set at sqrt(s) = M_Z sees d_Z with the "
        "Breit-Wigner enhancement and constrains d_gamma through the operator's ratio.",
        "",
        "| collider | photon-only | B-type | W-type | B-type / photon-only | W-type / photon-only |",
        "|---|---|---|---|---|---|",
    ]
    for collider, ops in by_collider.items():
        photon, b, w = ops.get("photon"), ops.get("hypercharge"), ops.get("weak-isospin")
        ratios = [f"{x / photon:.3f}" if x is not None and photon else "-" for x in (b, w)]
        out.append(f"| {collider} | {_fmt(photon)} | {_fmt(b)} | {_fmt(w)} | {ratios[0]} | {ratios[1]} |")
    return out


def _composition_lines(comp: list[dict[str, Any]]) -> list[str]:
    out = [
        "### Background composition per data set",
        "",
        "The nu nubar gamma cross section each selection accepts, by quadrature of the electroweak law: the share of "
        "nu_e (W exchange and its interference with the Z) and the share of the rest that the recoil-mass veto "
        "removes (the radiative return). Radiative Bhabha and gamma gamma(gamma) events are taken as excluded by the "
        "pT cut (every other particle beyond the electron-veto angle is seen); detector inefficiency, which would let "
        "some through, is not modelled.",
        "",
        "| detector | data set | L [fb^-1] | sigma accepted [pb] | events | nu_e share | removed by the recoil veto |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in comp:
        out.append(
            f"| {c['detector']} | {c['data_set']} | {c['lumi_fb']:.4g} | {c['accepted_xsec_pb']:.3g} | "
            f"{c['events']:.3g} | {100 * c['nu_e_share']:.1f}% | {100 * c['recoil_veto_removes']:.1f}% |"
        )
    return out
