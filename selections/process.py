"""Run a selection over one sample file: cut-flow, accepted cross section and a filled histogram.

With a detector ``response`` (the detector models beyond the paper's) the cuts act on the measured photon:
from the collision point to where it meets the calorimeter, smeared with the calorimeter's resolution
(:mod:`dipole_portal.selections.detector_response`). A signal event also records k, its decay probability's
coupling dependence 1 - exp(-k d^2) from its lab flight direction and momentum
(:mod:`dipole_portal.selections.decay_volume`), and, with the measured direction, whether it is accepted when
N decays in each interval of its path; these go into a weighted histogram of log10 k. The cut-flow and the
histograms then count an event accepted somewhere along its path (at the first such interval).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import awkward as ak
import hist
import numpy as np
import vector

from dipole_portal.core.errors import InputError
from dipole_portal.core.options import DecayModel, parse_option
from dipole_portal.samples.electroweak_physics import ElectroweakSignal
from dipole_portal.samples.reweight import model_weights
from dipole_portal.samples.rootio import SampleMetadata, open_sample
from dipole_portal.selections import histograms
from dipole_portal.selections.cutflow import CutFlow
from dipole_portal.selections.cuts import Selection
from dipole_portal.selections.decay_volume import (
    KHistogram,
    decay_k,
    k_histogram,
    k_means_and_fractions,
    merge_k_histograms,
    u_points,
)
from dipole_portal.selections.detector_response import DetectorResponse
from dipole_portal.selections.reader import DEFAULT_STEP, check_meta, iterate_tree, photon_columns


@dataclass
class SampleResult:
    """Selected sample: cut-flow (pb), histogram of accepted events (pb per bin) and metadata."""

    process: str
    cutflow: CutFlow
    histogram: hist.Hist
    metadata: SampleMetadata
    histogram_all: hist.Hist | None = None  # every event, before cuts (diagnostics only)
    #: accepted events' decay-probability parameters (a realistic detector step, signal only)
    decay_k: KHistogram | None = None
    #: the decay-position intervals of ``decay_k`` (fractions of the path to the calorimeter face)
    decay_u_edges: tuple[float, ...] | None = None

    @property
    def xsec_pb(self) -> float:
        """Accepted cross section (pb)."""
        return self.cutflow.sumw[-1]

    @property
    def xsec_err_pb(self) -> float:
        """MC statistical uncertainty of the accepted cross section (pb)."""
        return float(np.sqrt(self.cutflow.sumw2[-1]))

    @property
    def efficiency(self) -> float:
        return self.cutflow.efficiency


@dataclass(frozen=True)
class SelectedSample:
    """What the yields need from a selected sample, as plain numbers (JSON-able, cacheable).

    Cross sections in pb; ``fit_*`` are the accepted events in the fit binning, flattened (pb, pb^2).
    """

    process: str
    events_total: int
    xsec_total_pb: float
    xsec_pb: float
    xsec_err_pb: float
    fit_values_pb: tuple[float, ...]
    fit_variances_pb2: tuple[float, ...]
    cutflow: dict
    #: a realistic detector step: accepted events' weighted mean k per log10 k bin (GeV^2), the share of the accepted
    #: weight per (bin, decay interval), and the intervals' edges (fractions of the path to the calorimeter face)
    decay_k_mean: tuple[float, ...] | None = None
    decay_k_fraction: tuple[tuple[float, ...], ...] | None = None
    decay_u_edges: tuple[float, ...] | None = None

    @property
    def efficiency(self) -> float:
        return self.xsec_pb / self.xsec_total_pb if self.xsec_total_pb else 0.0

    @property
    def efficiency_err(self) -> float:
        """MC error of the weighted efficiency eps = sum_pass w / sum_all w:
        sqrt((1 - eps)^2 sum_pass w^2 + eps^2 sum_fail w^2) / sum_all w, which is the binomial
        sqrt(eps (1 - eps) / N) for equal weights, with Wilson's 1 / (4 N_eff^2) added under the root
        (N_eff = (sum w)^2 / sum w^2): at eps = 0 or 1 a sample still says only so much, never "exactly"
        (one event that passes: 1.0 +- 0.5, not +- 0).

        >>> flow = {"sumw_pb": [10.0, 4.0], "sumw2_pb2": [1.0, 0.4]}   # 100 events of 0.1 pb, 40 pass
        >>> s = SelectedSample("signal", 100, 10.0, 4.0, 0.0, (), (), flow)
        >>> round(s.efficiency_err, 6) == round((0.4 * 0.6 / 100 + 1 / (4 * 100**2)) ** 0.5, 6)
        True
        >>> SelectedSample("signal", 1, 1.0, 1.0, 0.0, (), (), {"sumw_pb": [1.0, 1.0], "sumw2_pb2": [1.0, 1.0]}
        ...                ).efficiency_err
        0.5
        """
        sumw, sumw2 = self.cutflow["sumw_pb"], self.cutflow["sumw2_pb2"]
        if not sumw[0] or not sumw2[0]:
            return 0.0
        eps = sumw[-1] / sumw[0]
        var = (1 - eps) ** 2 * sumw2[-1] + eps**2 * max(0.0, sumw2[0] - sumw2[-1])
        n_eff = sumw[0] ** 2 / sumw2[0]
        return float(np.sqrt(max(0.0, var) / sumw[0] ** 2 + 1 / (4 * n_eff**2)))

    @classmethod
    def from_result(cls, r: SampleResult) -> SelectedSample:
        h = histograms.fit_binned(r.histogram)
        variances = h.variances()
        assert variances is not None  # Weight() storage
        k_mean, k_frac = k_means_and_fractions(r.decay_k) if r.decay_k is not None else (None, None)
        return cls(
            r.process,
            r.cutflow.events[0],
            r.cutflow.sumw[0],
            r.xsec_pb,
            r.xsec_err_pb,
            tuple(float(v) for v in h.values().ravel()),
            tuple(float(v) for v in variances.ravel()),
            r.cutflow.as_dict(),
            k_mean,
            k_frac,
            r.decay_u_edges,
        )

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SelectedSample:
        tup = {
            k: tuple(d[k])
            for k in ("fit_values_pb", "fit_variances_pb2", "decay_k_mean", "decay_u_edges")
            if d.get(k) is not None
        }
        if d.get("decay_k_fraction") is not None:
            tup["decay_k_fraction"] = tuple(tuple(row) for row in d["decay_k_fraction"])
        return cls(**{**d, **tup})


def process_sample(
    path: str | os.PathLike[str],
    process: str,
    selection: Selection,
    *,
    step_size: int = DEFAULT_STEP,
    fill_all: bool = False,
    decay_model: DecayModel | str | None = None,
    n_modes: int | None = None,
    response: DetectorResponse | None = None,
    electroweak: ElectroweakSignal | None = None,
) -> SampleResult:
    """Read ``path`` chunk by chunk, apply ``selection`` and fill the cut-flow and histogram (and, ``fill_all``, one
    of every event before cuts, for the diagnostics figure).

    A signal sample generated with one decay model and charge-conjugate counting is turned into another
    (``decay_model``, ``n_modes``) event by event: each event's weight is multiplied by the ratio of the two models'
    angular laws at its (z, cos theta*, cos psi): z from the stored N momentum, the rest-frame angles from their
    branches (:mod:`dipole_portal.samples.reweight`), and the sum of those factors is normalised to the number of
    events, so the sample keeps its cross section (the models share the production law). The counting only scales the
    cross section (n_modes / the sample's). From an ``isotropic`` sample every factor lies in [0, 2], so the effective
    number of events is at least 3/4 of the sample's. The MC errors follow from the weights
    (:attr:`SelectedSample.efficiency_err`).

    With ``electroweak`` (Z exchange) an isotropic signal sample gets that law's production and polarisation too,
    and its sigma(e+e- -> N nubar) Br(N -> nu gamma) (:class:`ElectroweakSignal`).

    With a detector ``response`` the cuts act on the measured photon (see the module docstring).
    """
    with open_sample(path) as (meta, tree):
        check_meta(meta, path, process, selection.sqrt_s)
        ew = electroweak if process == "signal" else None
        target = _target_model(path, meta, process, decay_model, ew)
        reweight = target is not None and (target != meta.get("decay_model") or ew is not None)
        flow = CutFlow(selection.cut_names)
        h = histograms.make_histogram(selection.sqrt_s)
        h_all = histograms.make_histogram(selection.sqrt_s) if fill_all else None
        n_events, sum_factor = 0, 0.0
        k_hist: KHistogram = {}
        signal_response = response if process == "signal" else None
        with_n = reweight or signal_response is not None
        for i, chunk in enumerate(iterate_tree(tree, Path(path), step_size, with_n=with_n)):
            if reweight and target is not None:
                chunk, factor = _reweighted(chunk, target, meta, ew)
                n_events, sum_factor = n_events + len(factor), sum_factor + float(factor.sum())
            n = n_lab(chunk, meta["mass_GeV"], selection.beta) if signal_response is not None else None
            if response is None or (not response.measured_direction and response.resolution is None):
                passed = select_chunk(chunk, selection, flow, h, h_all)[:, None]
            else:
                passed = select_measured(chunk, selection, flow, h, h_all, response, meta=meta, chunk_index=i, n=n)
            if n is not None and signal_response is not None:
                k = decay_k(signal_response.volume, ak.to_numpy(n.p), ak.to_numpy(n.costheta), meta["mass_GeV"])
                k_hist = merge_k_histograms(k_hist, k_histogram(k, ak.to_numpy(chunk.weight), passed))
    counting = n_modes if process == "signal" else None
    scale, meta = _normalisation(meta, target if reweight else None, counting, n_events, sum_factor, ew)
    if scale != 1.0:
        flow.scale(scale)
        h, h_all = h * scale, (h_all * scale if h_all is not None else None)
    k_edges = signal_response.u_edges if signal_response is not None else None
    return SampleResult(process, flow, h, meta, h_all, k_hist if signal_response is not None else None, k_edges)


def _target_model(
    path: str | os.PathLike[str],
    meta: SampleMetadata,
    process: str,
    decay_model: DecayModel | str | None,
    ew: ElectroweakSignal | None,
) -> DecayModel | None:
    """The decay model a signal sample is reweighted to (None: as generated); with Z exchange the sample must be
    isotropic (what ``run`` makes) and is always reweighted, to the sample's own model at least."""
    if ew is not None and meta.get("decay_model") != DecayModel.ISOTROPIC:
        raise InputError(
            f"{path}: decay model {meta.get('decay_model')!r}; Z exchange reweights samples generated isotropic"
        )
    if process != "signal":
        return None
    if decay_model is not None:
        return parse_option(DecayModel, decay_model, "decay model")
    return DecayModel.ISOTROPIC if ew is not None else None


def n_lab(chunk: ak.Array, mass: float, beta: float) -> ak.Array:
    """The N of each event boosted to the lab with vector (Momentum4D)."""
    n = chunk.N
    n4 = vector.zip({"px": n.px, "py": n.py, "pz": n.pz, "mass": ak.full_like(n.px, mass)})
    return n4.boostZ(beta=beta) if beta else n4


def _xyz(v: ak.Array) -> np.ndarray:
    return np.stack([ak.to_numpy(v.px), ak.to_numpy(v.py), ak.to_numpy(v.pz)], axis=1)


def _reweighted(
    chunk: ak.Array, target: DecayModel, meta: SampleMetadata, ew: ElectroweakSignal | None = None
) -> tuple[ak.Array, np.ndarray]:
    """``chunk`` with its weights turned from the sample's decay model into ``target`` (and, with ``ew``, from the
    photon-only production law into the electroweak one), and the factors."""
    angles = (ak.to_numpy(chunk.N.costheta), ak.to_numpy(chunk.cos_theta_star), ak.to_numpy(chunk.cos_psi))
    sqrt_s, mass = meta["sqrt_s_GeV"], meta["mass_GeV"]
    if ew is not None and target == DecayModel.EXACT:
        factor = ew.weights(angles, sqrt_s, mass)
    else:
        factor = model_weights(target, meta["decay_model"], *angles, sqrt_s=sqrt_s, mass=mass)
        if ew is not None:
            factor = factor * ew.weights(angles, sqrt_s, mass, exact_decay=False)
    return ak.with_field(chunk, chunk.weight * factor, "weight"), factor


def _electroweak_rate(meta: SampleMetadata, ew: ElectroweakSignal, scale: float) -> tuple[float, SampleMetadata]:
    """The scale that turns a photon-only signal's cross section (``meta``, after the decay-model and counting
    scale ``scale``) into sigma(e+e- -> N nubar) Br(N -> nu gamma) with Z exchange, and the metadata that says so."""
    mass, modes = meta["mass_GeV"], meta["n_cc_modes"]
    xsec, br = ew.xsec_pb(meta["sqrt_s_GeV"], mass, modes), ew.branching(mass)
    out = meta.copy()
    out["xsec_pb"] = xsec * br
    out["electroweak"] = {**ew.as_dict(), "production_xsec_pb": xsec, "branching_nu_gamma": br}
    return scale * xsec * br / meta["xsec_pb"], out


def _normalisation(
    meta: SampleMetadata,
    target: DecayModel | None,
    n_modes: int | None,
    n_events: int,
    sum_factor: float,
    ew: ElectroweakSignal | None = None,
) -> tuple[float, SampleMetadata]:
    """The scale that keeps a sample reweighted to ``target`` at its cross section (mean factor 1) and counts
    ``n_modes`` charge-conjugate modes, then (``ew``) gives it the electroweak sigma Br, and the metadata that says
    so (``meta`` itself when nothing changed)."""
    scale, out = _counted(meta, target, n_modes, n_events, sum_factor)
    return (scale, out) if ew is None else _electroweak_rate(out, ew, scale)


def _counted(
    meta: SampleMetadata, target: DecayModel | None, n_modes: int | None, n_events: int, sum_factor: float
) -> tuple[float, SampleMetadata]:
    """:func:`_normalisation` without Z exchange."""
    sample_modes = meta.get("n_cc_modes")
    recount = n_modes is not None and sample_modes is not None and n_modes != sample_modes
    scale = n_events / sum_factor if target is not None and sum_factor > 0 else 1.0
    if recount and n_modes is not None and sample_modes:
        scale *= n_modes / sample_modes
    if target is None and not recount:
        return scale, meta
    model = str(target) if target is not None else meta["decay_model"]
    return scale, _relabelled(meta, model, n_modes if recount else sample_modes)


def _relabelled(meta: SampleMetadata, decay_model: str, n_modes: int | None) -> SampleMetadata:
    """A signal sample's metadata after a reweighting to ``decay_model`` and counting ``n_modes``: the cross section
    follows the counting, and ``reweighted_from`` keeps what the sample itself was made with."""
    out = meta.copy()
    modes = n_modes or meta["n_cc_modes"]
    out.update(
        {
            "decay_model": decay_model,
            "n_cc_modes": modes,
            "xsec_pb": meta["xsec_pb"] * modes / meta["n_cc_modes"],
            "reweighted_from": {"decay_model": meta["decay_model"], "n_cc_modes": meta["n_cc_modes"]},
        }
    )
    return out


def select_measured(
    chunk: ak.Array,
    selection: Selection,
    flow: CutFlow,
    h: hist.Hist,
    h_all: hist.Hist | None,
    response: DetectorResponse,
    *,
    meta: SampleMetadata,
    chunk_index: int,
    n: ak.Array | None = None,
) -> np.ndarray:
    """Apply ``selection`` to the measured photons of one chunk (see :func:`process_sample`); return (n, intervals):
    whether each event is accepted when its N (``n``: lab momenta, signal only) decays in each interval of its path
    (one column for nu nubar gamma).

    The smearing's normals come from a generator seeded with the response's seed, the sample's seed and the chunk
    index, and are shared by every decay interval of an event: the same inputs give the same bits.
    """
    photon = chunk.photon.boostZ(beta=selection.beta) if selection.beta else chunk.photon
    p_lab, E_lab = _xyz(photon), ak.to_numpy(photon.E)
    g = p_lab / np.linalg.norm(p_lab, axis=1)[:, None]
    weight = np.asarray(chunk.weight, dtype=np.float64)
    normals = None
    if response.resolution is not None:
        rng = np.random.default_rng([response.seed, int(meta.get("seed", 0)), chunk_index])
        normals = rng.standard_normal((len(weight), 2))
    if n is not None and response.measured_direction:
        n_xyz = _xyz(n)
        n_dir = n_xyz / np.linalg.norm(n_xyz, axis=1)[:, None]
        path = response.volume.path_length_m(ak.to_numpy(n.costheta))
        us = u_points(response.u_edges)
    else:
        n_dir, path, us = None, None, np.zeros(1)
    names = selection.cut_names
    passed = np.zeros((len(weight), len(us)), dtype=bool)
    any_cumulative = {name: np.zeros(len(weight), dtype=bool) for name in names}
    first_E, first_theta = np.zeros(len(weight)), np.zeros(len(weight))
    accepted = np.zeros(len(weight), dtype=bool)  # somewhere along the path so far
    for j, u in enumerate(us):
        cols = response.photon_columns(g, E_lab, selection.beta, normals, n_dir, path_m=path, u=float(u))
        masks = selection.masks(cols)
        cumulative = np.ones(len(weight), dtype=bool)
        for name in names:
            cumulative = cumulative & masks[name]
            any_cumulative[name] |= cumulative
        new = cumulative & ~accepted
        first_E[new], first_theta[new] = cols.E[new], cols.theta_lab[new]
        accepted |= cumulative
        passed[:, j] = cumulative
        if j == 0 and h_all is not None:
            histograms.fill(h_all, cols.E, cols.theta_lab, weight)
    mask = flow.fill(any_cumulative, weight)
    histograms.fill(h, first_E[mask], first_theta[mask], weight[mask])
    return passed


def select_chunk(
    chunk: ak.Array, selection: Selection, flow: CutFlow, h: hist.Hist, h_all: hist.Hist | None = None
) -> np.ndarray:
    """Apply ``selection`` to one chunk of photons; add to the cut-flow and histograms; return the pass mask."""
    cols = photon_columns(chunk, selection.beta)
    weight = np.asarray(chunk.weight, dtype=np.float64)
    mask = flow.fill(selection.masks(cols), weight)
    histograms.fill(h, cols.E[mask], cols.theta_lab[mask], weight[mask])
    if h_all is not None:
        histograms.fill(h_all, cols.E, cols.theta_lab, weight)
    return mask
