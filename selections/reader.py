"""Read sample files with ``uproot.iterate`` into awkward arrays of vector ``Momentum4D`` photons."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector

from dipole_portal.core.errors import InputError
from dipole_portal.samples.rootio import TREE, read_metadata
from dipole_portal.selections.cuts import PhotonColumns

vector.register_awkward()

PHOTON_BRANCHES = ("photon_E", "photon_px", "photon_py", "photon_pz")
READ_BRANCHES = (*PHOTON_BRANCHES, "weight")
DEFAULT_STEP = 1_000_000


def iterate_photons(path: str | os.PathLike[str], step_size: int = DEFAULT_STEP) -> Iterator[ak.Array]:
    """Yield chunks as awkward records {photon: Momentum4D (CM), weight}; errors name the file and branch."""
    p = Path(path)
    try:
        with uproot.open(p) as f:
            if TREE not in f:
                raise InputError(f"{p}: tree '{TREE}' missing")
            missing = [b for b in READ_BRANCHES if b not in f[TREE].keys()]
            if missing:
                raise InputError(f"{p}: branch '{missing[0]}' missing from tree '{TREE}'")
        offset = 0
        for arrays in uproot.iterate(f"{p}:{TREE}", list(READ_BRANCHES), step_size=step_size, library="ak"):
            check_values(arrays, p, offset)
            offset += len(arrays)
            yield as_photons(arrays)
    except InputError:
        raise
    except Exception as exc:  # corrupt baskets, truncated files
        raise InputError(f"{p}: cannot read events ({type(exc).__name__}: {exc})") from None


def check_values(arrays: ak.Array, path: Path, offset: int = 0) -> None:
    """Every kinematic value finite, photon energies and weights non-negative; else an InputError naming the
    branch and the first bad entry (its index in the file)."""
    for name in READ_BRANCHES:
        v = np.asarray(arrays[name])
        bad = ~np.isfinite(v)
        if name in ("photon_E", "weight"):
            bad |= v < 0
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(f"{path}: branch '{name}' entry {offset + i} is {v[i]!r}; expected a finite "
                             + ("non-negative " if name in ("photon_E", "weight") else "") + "number")


def as_photons(arrays: ak.Array) -> ak.Array:
    """Branch arrays -> records {photon: Momentum4D (CM), weight}.

    Kinematics in float64 whatever the storage type, so every code path sees identical values.
    """
    photon = ak.zip({k: ak.values_astype(arrays[f"photon_{k}"], np.float64) for k in ("px", "py", "pz", "E")},
                    with_name="Momentum4D")
    return ak.zip({"photon": photon, "weight": arrays["weight"]}, depth_limit=1)


def photon_columns(chunk: ak.Array, beta: float) -> PhotonColumns:
    """CM energy and angles, and the lab angle from vector's boost of the CM photon by ``beta`` along z."""
    photon = chunk.photon
    theta_cm = ak.to_numpy(photon.theta)
    if beta == 0.0:
        theta_lab = theta_cm
    else:
        theta_lab = ak.to_numpy(photon.boostZ(beta=beta).theta)
    # iterate_photons already casts to float64: no copies here
    return PhotonColumns(ak.to_numpy(photon.E), theta_cm, np.asarray(theta_lab))


def check_sample(path: str | os.PathLike[str], process: str, sqrt_s: float) -> dict:
    """Read the metadata and check that the file holds ``process`` at ``sqrt_s`` GeV."""
    meta = read_metadata(path)
    if meta.get("process") != process:
        raise InputError(f"{path}: metadata process {meta.get('process')!r}, expected {process!r}")
    if abs(meta["sqrt_s_GeV"] - sqrt_s) > 1e-3:
        raise InputError(f"{path}: metadata sqrt_s_GeV {meta['sqrt_s_GeV']!r}, expected {sqrt_s:g}")
    return meta
