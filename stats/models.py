"""HistFactory (pyhf) models: one channel per energy point; counting (one bin) or binned in E_gamma x theta_gamma.

Samples: ``signal`` (normfactor ``mu`` on the expected events at a model coupling), ``nunugamma`` (the SM
background at its MC estimate), ``gap`` (the Belle II gap background). Optional systematics: a background
normalisation and a luminosity uncertainty as normsys modifiers.

The expected limit is a property of the physics, not of the MC sample size: the background's MC-statistics error
is not a nuisance parameter of the likelihood (as a staterror it weakened the Belle II bBG limit by 24% at 2x10^4
events and 6% at 10^5, and the limit moved with the sample size). It enters the quoted MC uncertainty of each
limit (``d95_mc_rel_err``) instead. pyhf's fits need one free parameter besides ``mu`` (iminuit refuses a fit
with none), so each background carries a staterror ``bkg_anchor_<channel>`` whose width is ``ANCHOR_FRACTION``
(3%) of the bin's Poisson error sqrt(B): it adds 0.09% to the background variance, which moves d95 by less than
0.03% (d95 ~ B^(1/4) for a prompt N at large B). A much narrower anchor breaks pyhf's default (scipy) optimiser:
at 1e-6 of the bin, ``pyhf cls`` returned CLs = 1 for the patch at the limit. At about 10^6 events and more in a
channel scipy fails whatever the anchor (a signal-side normsys instead fails as often), so the published command
names MIGRAD (``PYHF_CLS_COMMAND``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyhf

from dipole_portal.core.config import polarisation_suffix
from dipole_portal.selections.yields import PB_FB, ScenarioYields

POI = "mu"
SIGNAL_FLOOR = 1e-3  # bins holding less than this fraction of the channel's signal are dropped
ANCHOR_FRACTION = 0.03  # width of the background anchor as a fraction of the bin's Poisson error (docstring)


@dataclass(frozen=True)
class Systematics:
    """Relative uncertainties (0 = none): background normalisation, luminosity."""

    background_norm: float = 0.0
    luminosity: float = 0.0


def channel_name(sqrt_s: float, polarisation: Sequence[float] | None = None) -> str:
    """The pyhf channel of a data set: E, its energy and, where polarised, its beams' polarisations.

    >>> channel_name(10.583), channel_name(250.0, (-0.8, 0.3))
    ('E10p583GeV', 'E250p000GeV_Pm80p30')
    """
    pol = None if polarisation is None else (float(polarisation[0]), float(polarisation[1]))
    return f"E{sqrt_s:.3f}GeV".replace(".", "p") + polarisation_suffix(pol)


def _channel_bins(y: ScenarioYields, i: int, binned: bool, d: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Signal (at d) and nu nubar gamma per bin, in events; and the gap background total."""
    ch = y.channels[i]
    s_total = float(ch.signal_events(d))
    gap = ch.gap_background_events
    if not binned:
        return np.array([s_total]), np.array([ch.background_irreducible_events]), gap
    if ch.fit_signal_pb is None or ch.fit_background_pb is None or ch.fit_background_var_pb2 is None:
        raise ValueError(f"channel {ch.sqrt_s:g} GeV of {y.scenario}: the yields carry no fit histograms")
    scale_b = ch.lumi_fb * PB_FB * ch.eps_det
    sig = np.asarray(ch.fit_signal_pb, float)
    sig = sig / sig.sum() * s_total if sig.sum() > 0 else sig
    bkg = np.asarray(ch.fit_background_pb, float) * scale_b
    keep = sig > SIGNAL_FLOOR * sig.sum()  # bins without signal carry no information on mu
    return sig[keep], bkg[keep], gap


def _normsys(name: str, rel: float) -> dict[str, Any]:
    return {"name": name, "type": "normsys", "data": {"hi": 1 + rel, "lo": 1 - rel}}


def build_spec(y: ScenarioYields, d: float, binned: bool = False, syst: Systematics | None = None) -> dict[str, Any]:
    """A pyhf workspace (dict) with signal at coupling ``d`` and Asimov background-only observations."""
    syst = syst or Systematics()
    channels, observations = [], []
    for i, ch in enumerate(y.channels):
        name = channel_name(ch.sqrt_s, ch.polarisation)
        sig, bkg, gap = _channel_bins(y, i, binned, d)
        bkg_floor = np.maximum(bkg, 1e-9)
        gap_bins = bkg_floor / bkg_floor.sum() * gap  # gap background shaped like nu nubar gamma (no shape given)
        sig_mods = [{"name": POI, "type": "normfactor", "data": None}]
        if syst.luminosity > 0:
            sig_mods.append(_normsys("lumi_norm", syst.luminosity))
        # the anchor that pyhf's fits need; the background's MC error is not a nuisance parameter (module docstring)
        bkg_mods = [
            {
                "name": f"bkg_anchor_{name}",
                "type": "staterror",
                "data": list(ANCHOR_FRACTION * np.sqrt(bkg_floor + gap_bins)),
            }
        ]
        if syst.background_norm > 0:
            bkg_mods.append(_normsys("bkg_norm", syst.background_norm))
        samples = [
            {"name": "signal", "data": list(sig), "modifiers": sig_mods},
            {"name": "nunugamma", "data": list(bkg_floor), "modifiers": bkg_mods},
        ]
        obs = bkg_floor.copy()
        if gap > 0:
            gap_mods = [_normsys("gap_norm", syst.background_norm)] if syst.background_norm > 0 else []
            samples.append({"name": "gap", "data": list(gap_bins), "modifiers": gap_mods})
            obs = obs + gap_bins
        channels.append({"name": name, "samples": samples})
        observations.append({"name": name, "data": list(obs)})
    return {
        "channels": channels,
        "observations": observations,
        "measurements": [{"name": "expected", "config": {"poi": POI, "parameters": []}}],
        "version": "1.0.0",
    }


#: how pyhf's own command line computes CLs at one mass from the published files. MIGRAD, not pyhf's default scipy
#: optimiser: on channels of about 10^6 events or more (CEPC, FCC-ee, ILC) scipy returns CLs = 1 with no warning at
#: the tabulated limit, where MIGRAD gives 0.05 (docs/outputs.md, with the masses measured)
PYHF_CLS_COMMAND = "pyhf cls {bkgonly} --patch {patch} --measurement expected --optimizer minuit"

BKG_ONLY_POI = "lumi"  # pyhf requires this name for a lumi modifier
BKG_ONLY_MEASUREMENT = "background_only"


def background_only(spec: dict[str, Any]) -> dict[str, Any]:
    """The workspace without its signal samples (for publication with a patchset).

    pyhf builds a model only around a declared parameter of interest, and ``mu`` lives on the signal sample. So,
    as pyhf's maintainers suggest for background-only workspaces (scikit-hep/pyhf#514), its first (default)
    measurement, ``background_only``, has as POI a luminosity scale on every background, held fixed at 1:
    ``pyhf inspect`` works and no number changes. The measurement(s) of ``spec`` follow, with POI ``mu``: the
    one to use with a per-mass patch (``PYHF_CLS_COMMAND``). A patchset's
    patch also removes ``background_only``, so a patched workspace has ``mu`` as its POI.
    """
    bkg = copy.deepcopy(spec)
    for ch in bkg["channels"]:
        ch["samples"] = [s for s in ch["samples"] if s["name"] != "signal"]
        for sample in ch["samples"]:
            sample["modifiers"].append({"name": BKG_ONLY_POI, "type": "lumi", "data": None})
    fixed_lumi = {
        "name": BKG_ONLY_POI,
        "auxdata": [1.0],
        "sigmas": [0.01],
        "bounds": [[0.9, 1.1]],
        "inits": [1.0],
        "fixed": True,
    }
    for m in bkg["measurements"]:
        m["config"]["parameters"] = [*m["config"]["parameters"], fixed_lumi]
    bkg["measurements"].insert(
        0, {"name": BKG_ONLY_MEASUREMENT, "config": {"poi": BKG_ONLY_POI, "parameters": [fixed_lumi]}}
    )
    return bkg


def signal_patch(bkg_only: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON Patch operations adding the signal samples of ``spec`` to the channels of ``bkg_only``.

    They touch only channels, so pyhf can apply them to a model (``pyhf cls --patch``) or to a workspace.
    """
    ops = []
    for ch in spec["channels"]:
        idx = next(i for i, c in enumerate(bkg_only["channels"]) if c["name"] == ch["name"])
        sig = next(s for s in ch["samples"] if s["name"] == "signal")
        ops.append({"op": "add", "path": f"/channels/{idx}/samples/0", "value": sig})
    return ops


def patch_name(mass: float) -> str:
    """The per-mass patch name: every digit of the mass kept, so two masses never share a patch."""
    from dipole_portal.core.names import mass_label

    return f"mN_{mass_label(mass)}GeV"


def patchset(
    bkg_only: dict[str, Any], signal_specs: dict[float, dict[str, Any]], name: str, hepdata_ins: str | None = None
) -> dict[str, Any]:
    """A pyhf patchset adding the signal sample of each mass to the background-only workspace.

    pyhf's schema requires ``metadata.references.hepdata`` (an INSPIRE id, ``ins`` + 7 digits): it is never
    invented, so without one the patchset is not a pyhf patchset and is not written (see ``write_workspaces``);
    the per-mass JSON Patch files serve instead
    (``PYHF_CLS_COMMAND``).
    """
    patches = []
    for mass, spec in signal_specs.items():
        ops = [*signal_patch(bkg_only, spec), {"op": "remove", "path": "/measurements/0"}]
        patches.append({"metadata": {"name": patch_name(mass), "values": [mass]}, "patch": ops})
    meta_refs = {"references": {"hepdata": hepdata_ins}} if hepdata_ins else {}
    return {
        "metadata": {
            **meta_refs,
            "name": name,
            "computed_from": {"name": "background-only"},
            "description": "signal at the expected 95% C.L. limit (median) for each N mass",
            "digests": {"sha256": pyhf.utils.digest(bkg_only)},
            "labels": ["m_N"],
        },
        "patches": patches,
        "version": "1.0.0",
    }
