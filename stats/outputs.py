"""Write limit tables (CSV, JSON) and the pyhf background-only workspace plus a patchset over masses."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

from dipole_portal.core.atomic import new_folder_beside, swap_in_folder, write_json_atomic, write_text_atomic
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import check_name
from dipole_portal.core.transaction import remove_output
from dipole_portal.stats.limits import LimitResult
from dipole_portal.stats.models import PYHF_CLS_COMMAND, background_only, patch_name, patchset, signal_patch

CSV_COLUMNS = [
    "mass_GeV",
    "d95_chi2",
    "d95_cls",
    "cls_m2sigma",
    "cls_m1sigma",
    "cls_median",
    "cls_p1sigma",
    "cls_p2sigma",
    "signal_events",
    "background_events",
    "background_events_irreducible",
    "efficiency",
    "method",
    "model",
    "calculator",
    "decay_model",
    "n_cc_modes",
    "d95_mc_rel_err",
    "detector_model",
    "n_type",
]


def limits_csv(results: list[LimitResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in results:
        bands = [f"{b:.6e}" for b in r.d95_cls_bands] if r.d95_cls_bands else [""] * 5
        w.writerow(
            [
                r.mass_GeV,
                f"{r.d95_chi2:.6e}",
                "" if r.d95_cls is None else f"{r.d95_cls:.6e}",
                *bands,
                f"{r.signal_events:.6g}",
                f"{r.background_events:.6g}",
                f"{r.background_events_irreducible:.6g}",
                ";".join(f"{e:.5f}" for e in r.efficiency),
                r.method,
                r.model,
                r.calculator or "",
                r.decay_model,
                r.n_cc_modes,
                "" if r.d95_mc_rel_err is None else f"{r.d95_mc_rel_err:.3e}",
                r.detector_model,
                r.n_type,
            ]
        )
    return buf.getvalue()


def write_limit_tables(
    folder: Path,
    scenario: str,
    results: list[LimitResult],
    label: str | None = None,
    electroweak: dict[str, Any] | None = None,
) -> list[Path]:
    """``<scenario>_limits.csv`` and ``.json`` (the JSON also carries the scenario's plot label and, with Z exchange,
    ``electroweak``: its operator and d_Z / d_gamma).

    Every row is checked (finite, ordered bands) before either file is written, so the two always agree.
    """
    check_name(scenario, "scenario")
    if not results:
        raise InputError(f"{scenario}: no limits to tabulate")
    for r in results:
        try:
            r.validate()
        except ValueError as exc:
            raise InputError(f"{scenario}: limit table not written: {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    p_csv = write_text_atomic(folder / f"{scenario}_limits.csv", limits_csv(results))
    p_json = write_json_atomic(
        folder / f"{scenario}_limits.json",
        {
            "scenario": scenario,
            "label": label or scenario,
            "units": {"d": "GeV^-1", "mass": "GeV"},
            "limits": [r.as_dict() for r in results],
        }
        | ({} if electroweak is None else {"electroweak": electroweak}),
    )
    return [p_csv, p_json]


def computed_with(results: list[LimitResult]) -> dict[str, Any]:
    """What a set of limits was computed with, for the metadata of the files that publish them.

    Raises InputError when the set mixes decay models, charge-conjugate counting, counting/binned models, methods
    or systematics: one published set has one of each.
    """
    rows = [r.as_dict() for r in results]
    out = {}
    for key in ("decay_model", "n_cc_modes", "model", "method", "systematics", "detector_model", "n_type"):
        values = {json.dumps(r[key], sort_keys=True) for r in rows}
        if len(values) != 1:
            raise InputError(f"limits of {rows[0]['scenario']}: mixed {key} ({', '.join(sorted(values))})")
        out[key] = json.loads(values.pop())
    return out


def provenance(r: LimitResult) -> dict[str, Any]:
    """What one mass's pyhf signal was computed with: the coupling at mu = 1 (the expected CLs limit, GeV^-1), the
    photon law, the detector model, the N type, the counted modes, the statistical model, the calculator, any
    systematics and the package version."""
    from dipole_portal.core.version import __version__

    return {
        "mass_GeV": r.mass_GeV,
        "d_at_mu_1_GeV_inv": r.d95,
        "decay_model": r.decay_model,
        "detector_model": r.detector_model,
        "n_type": r.n_type,
        "n_cc_modes": r.n_cc_modes,
        "counted": "N nubar + Nbar nu" if r.n_cc_modes == 2 else "N nubar only",
        "model": r.model,
        "calculator": r.calculator or "chi2",
        "systematics": r.systematics,
        "background_mc_statistics": "not a nuisance parameter: in d95_mc_rel_err of the limit table",
        "dipole_portal_version": __version__,
    }


def provenance_op(bkg_only: dict[str, Any], prov: dict[str, Any]) -> dict[str, Any]:
    """A JSON Patch ``test`` operation that carries ``prov`` as an extra member ``metadata``.

    RFC 6902 (section 4) makes operations ignore members they do not define, so pyhf and jsonpatch apply the patch
    unchanged; the test itself checks that the patch meets the background-only workspace it was made for (its
    first channel's name, which a pyhf model spec and a workspace both carry).
    """
    return {"op": "test", "path": "/channels/0/name", "value": bkg_only["channels"][0]["name"], "metadata": prov}


def _folder_holds(folder: Path, texts: dict[str, str]) -> bool:
    """True if ``folder`` is a real folder holding exactly the files ``texts`` names, with exactly those texts."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        present = {p.name for p in folder.iterdir()}
        return present == set(texts) and all((folder / n).read_bytes() == t.encode() for n, t in texts.items())
    except OSError:
        return False


def _provenance_document(scenario: str, metadata: dict[str, Any], prov: dict[float, dict[str, Any]]) -> dict[str, Any]:
    """``<scenario>_provenance.json``: what the background-only workspace and each patch were computed with."""
    return {
        "describes": [f"{scenario}_bkgonly.json", f"{scenario}_patches/"],
        "computed_with": metadata["computed_with"],
        "dipole_portal_version": metadata["dipole_portal_version"],
        "measurements": {
            "background_only": "POI: a luminosity scale on every background, fixed at 1 (pyhf "
            "builds no model without a POI)",
            "expected": "POI mu: the signal strength relative to the signal at d_at_mu_1_GeV_inv of each patch",
        },
        "pyhf_cls": PYHF_CLS_COMMAND.format(bkgonly=f"{scenario}_bkgonly.json", patch=f"{scenario}_patches/<patch>"),
        "background_mc_statistics": "the background is held at its MC estimate (a staterror "
        "bkg_anchor_* of 3% of each bin's Poisson error keeps pyhf's fits well posed and moves d95 by "
        "less than 0.03%); its MC uncertainty is in "
        "d95_mc_rel_err of the limit table, not in the likelihood",
        "patches": {f"{patch_name(m)}.json": p for m, p in prov.items()},
    }


def _write_patch_folder(patch_dir: Path, texts: dict[str, str]) -> None:
    """The per-mass patches (file name -> text), replaced as one folder: no stale patch of an earlier run."""
    if _folder_holds(patch_dir, texts):
        return
    tmp = new_folder_beside(patch_dir)
    try:
        for name, text in texts.items():
            write_text_atomic(tmp / name, text)
        swap_in_folder(tmp, patch_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _annotate(ps: dict[str, Any], masses: list[float], results: list[LimitResult]) -> dict[float, dict[str, Any]]:
    """Write into the patchset ``ps`` (one patch per mass of ``masses``) what its limits were computed with, and
    return each mass's provenance."""
    from dipole_portal.core.version import __version__

    ps["metadata"]["computed_with"] = computed_with(results)
    ps["metadata"]["dipole_portal_version"] = __version__
    by_mass = {r.mass_GeV: r for r in results}
    prov: dict[float, dict[str, Any]] = {}
    for mass, p in zip(masses, ps["patches"], strict=True):
        r = by_mass.get(mass)
        if r is not None:
            prov[mass] = provenance(r)
            p["metadata"].update(calculator=r.calculator or "chi2", d95_GeV_inv=r.d95, provenance=prov[mass])
    return prov


def write_workspaces(
    folder: Path,
    scenario: str,
    specs: dict[float, dict[str, Any]],
    hepdata_ins: str | None = None,
    results: list[LimitResult] | None = None,
) -> list[Path]:
    """Background-only workspace (of the lightest mass, which has every channel), one plain JSON Patch per mass
    (for ``models.PYHF_CLS_COMMAND``) and, with an INSPIRE id, the pyhf
    patchset over masses.

    pyhf's patchset schema requires an INSPIRE id (``references``); without one no patchset is written (an
    earlier one is removed), as a file that fails ``pyhf patchset verify`` would mislead. With ``results`` (the
    limits the specs belong to), every file says what it was computed with (``provenance``): each per-mass patch
    in a leading ``test`` operation (``provenance_op``), the patchset in its metadata and per patch, and the
    background-only workspace, whose pyhf schema admits no metadata, in ``<scenario>_provenance.json`` beside it.
    """
    check_name(scenario, "scenario")
    if not specs:
        return []
    names = [patch_name(m) for m in specs]
    if len(set(names)) != len(names):  # mass_label keeps every digit: only equal masses collide
        raise InputError(f"{scenario}: two limits at the same mass ({', '.join(sorted(names))})")
    folder.mkdir(parents=True, exist_ok=True)
    lightest = min(specs)
    bkg = background_only(specs[lightest])
    ps = patchset(bkg, specs, f"{scenario} dipole portal", hepdata_ins)
    prov = _annotate(ps, list(specs), results) if results else {}
    paths = [write_json_atomic(folder / f"{scenario}_bkgonly.json", bkg)]
    prov_path = folder / f"{scenario}_provenance.json"
    if prov:
        paths.append(write_json_atomic(prov_path, _provenance_document(scenario, ps["metadata"], prov)))
    else:
        remove_output(folder, prov_path.name)
    patch_dir = folder / f"{scenario}_patches"
    texts = {
        f"{p['metadata']['name']}.json": json.dumps(
            ([provenance_op(bkg, prov[mass])] if mass in prov else []) + signal_patch(bkg, specs[mass]),
            indent=2,
            allow_nan=False,
        )
        + "\n"
        for mass, p in zip(specs, ps["patches"], strict=True)
    }
    _write_patch_folder(patch_dir, texts)
    paths.append(patch_dir)
    ps_path = folder / f"{scenario}_patchset.json"
    if hepdata_ins:
        paths.append(write_json_atomic(ps_path, ps))
    else:
        remove_output(folder, ps_path.name)
    return paths
