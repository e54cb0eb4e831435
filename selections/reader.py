"""Read sample files with ``uproot.iterate`` into awkward arrays of vector ``Momentum4D`` photons."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot
import vector

from dipole_portal.core.errors import InputError
from dipole_portal.core.numerics import SQRT_S_MATCH_GEV
from dipole_portal.samples.rootio import TREE, SampleMetadata, read_metadata
from dipole_portal.selections.cuts import PhotonColumns

vector.register_awkward()

PHOTON_BRANCHES = ("photon_E", "photon_px", "photon_py", "photon_pz")
N_BRANCHES = ("N_px", "N_py", "N_pz", "cos_theta_star", "cos_psi")
READ_BRANCHES = (*PHOTON_BRANCHES, "weight")
DEFAULT_STEP = 1_000_000


def iterate_photons(path: str | os.PathLike[str], step_size: int = DEFAULT_STEP) -> Iterator[ak.Array]:
    """Yield chunks as awkward records {photon: Momentum4D (CM), weight}; errors name the file and branch."""
    from dipole_portal.core.readers import check_regular

    p = check_regular(path, "ROOT sample")
    try:
        f = uproot.open(p)
    except Exception as exc:
        raise InputError(f"{p}: cannot read events ({type(exc).__name__}: {exc})") from None
    with f:
        if TREE not in f:
            raise InputError(f"{p}: tree '{TREE}' missing")
        yield from iterate_tree(f[TREE], p, step_size)


def iterate_tree(tree: Any, path: Path, step_size: int = DEFAULT_STEP, with_n: bool = False) -> Iterator[ak.Array]:
    """Chunks of an open ``events`` tree as records {photon, weight}; with ``with_n`` also the N momentum ``N``
    (Momentum3D, CM) and the photon's rest-frame angles ``cos_theta_star``, ``cos_psi``. Every value is checked
    (:func:`check_values`); errors name the file and branch."""
    names = (*READ_BRANCHES, *N_BRANCHES) if with_n else READ_BRANCHES
    try:
        missing = [b for b in names if b not in tree.keys()]
        if missing:
            raise InputError(f"{path}: branch '{missing[0]}' missing from tree '{TREE}'")
        offset = 0
        for arrays in tree.iterate(list(names), step_size=step_size, library="ak"):
            check_values(arrays, path, offset, names)
            offset += len(arrays)
            yield as_photons(arrays, with_n)
    except InputError:
        raise
    except Exception as exc:  # corrupt baskets, truncated files
        raise InputError(f"{path}: cannot read events ({type(exc).__name__}: {exc})") from None


MAX_WEIGHT_PB = 1e100  # far above any cross section: sums of squares of 10^9 such weights stay finite


def check_values(arrays: ak.Array, path: Path, offset: int = 0, names: tuple[str, ...] = READ_BRANCHES) -> None:
    """Every kinematic value finite, photon energies and weights non-negative, weights at most ``MAX_WEIGHT_PB``
    (so no sum or sum of squares overflows); else an InputError naming the branch and the first bad entry (its
    index in the file)."""
    for name in names:
        v = np.asarray(arrays[name])
        bad = ~np.isfinite(v)
        if name in ("photon_E", "weight"):
            bad |= v < 0
        if name == "weight":
            bad |= v > MAX_WEIGHT_PB
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{path}: branch '{name}' entry {offset + i} is {v[i]!r}; expected a finite "
                + ("non-negative " if name in ("photon_E", "weight") else "")
                + "number"
                + (f" of at most {MAX_WEIGHT_PB:g} pb" if name == "weight" else "")
            )


def as_photons(arrays: ak.Array, with_n: bool = False) -> ak.Array:
    """Branch arrays -> records {photon: Momentum4D (CM), weight} (and N with ``with_n``).

    Kinematics in float64 whatever the storage type, so every code path sees identical values.
    """

    def four(prefix: str) -> ak.Array:
        return ak.zip(
            {k: ak.values_astype(arrays[f"{prefix}_{k}"], np.float64) for k in ("px", "py", "pz", "E")},
            with_name="Momentum4D",
        )

    fields = {"photon": four("photon"), "weight": arrays["weight"]}
    if with_n:
        fields |= {
            "N": ak.zip(
                {k: ak.values_astype(arrays[f"N_{k}"], np.float64) for k in ("px", "py", "pz")}, with_name="Momentum3D"
            ),
            "cos_theta_star": ak.values_astype(arrays["cos_theta_star"], np.float64),
            "cos_psi": ak.values_astype(arrays["cos_psi"], np.float64),
        }
    return ak.zip(fields, depth_limit=1)


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


def check_sample(path: str | os.PathLike[str], process: str, sqrt_s: float) -> SampleMetadata:
    """Read the metadata and check that the file holds ``process`` at ``sqrt_s`` GeV."""
    return check_meta(read_metadata(path), path, process, sqrt_s)


def check_meta(meta: SampleMetadata, path: str | os.PathLike[str], process: str, sqrt_s: float) -> SampleMetadata:
    """``meta`` (a sample's checked metadata) if the file holds ``process`` at ``sqrt_s`` GeV, else an InputError."""
    if meta.get("process") != process:
        raise InputError(f"{path}: metadata process {meta.get('process')!r}, expected {process!r}")
    if abs(meta["sqrt_s_GeV"] - sqrt_s) > SQRT_S_MATCH_GEV:
        raise InputError(f"{path}: metadata sqrt_s_GeV {meta['sqrt_s_GeV']!r}, expected {sqrt_s:g}")
    return meta
