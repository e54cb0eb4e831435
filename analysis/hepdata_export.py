"""Export the expected-limit curves for HEPData with hepdata_lib (one table per scenario).

Each table has m_N (GeV) as the independent variable and, as dependent variables, the CLs median with its
+-1 and +-2 sigma bands (asymmetric uncertainties) and the chi2 (S^2/(S+B)) limit, in GeV^-1. The
submission is built in a temporary folder and moved into place complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dipole_portal.core.atomic import _umask, check_writable, new_folder_beside, swap_in_folder
from dipole_portal.core.cache import HEPDATA_CODE, Cache, files_digest
from dipole_portal.core.errors import InputError
from dipole_portal.core.version import __version__
from dipole_portal.stats.limit_table import LimitRow, read_limit_table

DESCRIPTION = (
    "Expected 95% C.L. upper limits on the transition magnetic moment d of a heavy neutral lepton N "
    "(neutrino dipole portal) from the single-photon signature; reproduction of arXiv:2204.07802."
)


def _qualifiers(rows: list[LimitRow], path: Path) -> list[tuple[str, str]]:
    """What every number of a table was computed with; a table that mixes choices is refused."""
    from dipole_portal.stats.limits import LimitResult
    from dipole_portal.stats.outputs import computed_with

    try:
        how = computed_with([LimitResult(**r) for r in rows])
    except TypeError as exc:
        raise InputError(f"{path}: not a limit table of this version ({exc})") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    counted = {2: "N nubar + Nbar nu", 1: "N nubar only"}[how["n_cc_modes"]]
    return [
        ("decay model (photon angular law)", how["decay_model"]),
        ("N counted", counted),
        ("statistical model", how["model"]),
    ]


def reactions(n_cc_modes: int, n_type: str) -> list[str]:
    """HEPData ``reactions`` keywords: the production modes counted and the decays, in HEPData's notation.

    >>> reactions(2, "dirac")
    ['E+ E- --> N NUBAR', 'E+ E- --> NBAR NU', 'N --> NU GAMMA']
    >>> reactions(1, "majorana")
    ['E+ E- --> N NUBAR', 'N --> NU GAMMA', 'N --> NUBAR GAMMA']
    """
    production = ["E+ E- --> N NUBAR"] + (
        ["E+ E- --> NBAR NU" if n_type == "dirac" else "E+ E- --> N NU"] if n_cc_modes == 2 else []
    )
    decays = ["N --> NU GAMMA"] + (["N --> NUBAR GAMMA"] if n_type == "majorana" else [])
    return production + decays


CODE_PACKAGES = ("", "core", "samples", "selections", "stats", "plotting", "analysis")


def _deterministic_tar(out: Path, members: list[tuple[str, Path]]) -> Path:
    """A .tar.gz of ``members`` (name in the archive, file) with fixed times and owners: same files, same bytes."""
    import gzip
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in sorted(members):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue())
    return out


def code_archive(out: Path) -> Path:
    """The sources that computed the tables (every module and data file of ``dipole_portal``) as a .tar.gz."""
    return _deterministic_tar(out, code_members())


def code_members() -> list[tuple[str, Path]]:
    """(name in the archive, file) of every module and data file of ``dipole_portal``."""
    import importlib

    members = []
    for sub in CODE_PACKAGES:
        mod = importlib.import_module("dipole_portal" + (f".{sub}" if sub else ""))
        root = Path(next(iter(mod.__path__)))
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if (
                f.is_file()
                and f.suffix in (".py", ".json", ".csv")
                and "__pycache__" not in rel.parts
                and (sub or rel.parts[0] not in CODE_PACKAGES[1:])
            ):
                members.append((str(Path("dipole_portal", sub, rel)), f))
    return members


def pyhf_archive(workspaces: Path, scenario: str, out: Path) -> Path | None:
    """The scenario's pyhf files (background-only workspace, per-mass patches, patchset when written) as a .tar.gz;
    None when there are none."""
    files = [workspaces / f"{scenario}_{kind}.json" for kind in ("bkgonly", "provenance", "patchset")]
    members = [(f.name, f) for f in files if f.is_file()]
    patches = sorted((workspaces / f"{scenario}_patches").glob("*.json"))
    members += [(f"{scenario}_patches/{f.name}", f) for f in patches]
    if not members:
        return None
    return _deterministic_tar(out, members)


def write_hepdata(
    limits_folder: Path,
    out_folder: Path,
    locations: dict[str, str] | None = None,
    workspaces: Path | None = None,
    cache: Cache | None = None,
) -> list[Path]:
    """Write ``out_folder/submission/`` (YAML) and ``out_folder/submission.tar.gz`` from the limit tables.

    ``locations`` names, per scenario, the figure(s) its table belongs to; a table of no figure says so (never
    hepdata_lib's placeholder location). ``workspaces``: the folder of pyhf files, attached to each table as a
    HistFactory resource. The code that computed the numbers is attached as a resource of the submission.

    With ``cache``, the submission's tarball is kept as a cache entry keyed on the bytes of the tables, the
    workspaces and the sources, and the figure locations: a rerun with nothing changed unpacks it instead of
    building it again (hepdata_lib validates every table as it writes it, which takes seconds).
    """
    import tempfile

    tables = sorted(limits_folder.glob("*_limits.json"))
    if not tables:
        raise InputError(f"{limits_folder}: no *_limits.json tables to export")
    entry = None
    if cache is not None:
        inputs = {
            "tables": files_digest(*tables),
            "locations": locations or {},
            "version": __version__,
            "workspaces": files_digest(workspaces) if workspaces is not None else None,
            "sources": files_digest(*[f for _, f in code_members()]),
        }
        entry = cache.entry("hepdata", inputs, HEPDATA_CODE)
        stored = entry.valid_file("tar.gz")
        if stored is not None:
            return _unpack(stored, out_folder)
    staging = Path(tempfile.mkdtemp(prefix="dipole-portal-hepdata-"))
    try:
        written = _write(tables, out_folder, locations, workspaces, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if entry is not None:
        with entry.writing_file("tar.gz") as tmp:
            shutil.copyfile(out_folder / "submission.tar.gz", tmp)
    return written


def _unpack(tarball: Path, out_folder: Path) -> list[Path]:
    """``submission.tar.gz`` and the ``submission/`` folder it holds (hepdata_lib's tarball is the folder's files),
    each put in place atomically."""
    import tarfile

    def fill(tmp: Path) -> None:
        (tmp / "submission").mkdir()
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp / "submission", filter="data")
        shutil.copyfile(tarball, tmp / "submission.tar.gz")

    return _put_in_place(out_folder, fill)


def _put_in_place(out_folder: Path, fill: Callable[[Path], None]) -> list[Path]:
    """``fill(tmp)`` writes ``tmp/submission/`` and ``tmp/submission.tar.gz`` in a folder beside the output; both
    then replace ``out_folder``'s (mode from the umask); on any error nothing there changes."""
    out_folder.mkdir(parents=True, exist_ok=True)
    final_dir, final_tar = out_folder / "submission", out_folder / "submission.tar.gz"
    check_writable(final_tar)
    tmp = new_folder_beside(final_dir)
    try:
        fill(tmp)
        os.chmod(tmp / "submission.tar.gz", 0o666 & ~_umask())
        os.replace(tmp / "submission.tar.gz", final_tar)
        swap_in_folder(tmp / "submission", final_dir)
        tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [final_dir, final_tar]


def _hepdata_lib() -> Any:
    """hepdata_lib, imported quietly: it imports PyROOT where present, whose alpha-stage notice is noise here."""
    import warnings

    with warnings.catch_warnings():
        # the notice begins with a newline, which ``.*`` alone does not cross
        warnings.filterwarnings("ignore", message=r"(?s).*alpha stage", category=UserWarning)
        import hepdata_lib

    return hepdata_lib


def _cls_variable(lib: Any, bands: list[list[float]], calculators: set[str], qualifiers: list[tuple[str, str]]) -> Any:
    """The CLs median d95 (``bands``: each row's five quantiles) with its 1 and 2 sigma bands as asymmetric
    uncertainties."""
    med = lib.Variable("d95 CLs expected", is_independent=False, is_binned=False, units="GeV^-1")
    med.values = [b[2] for b in bands]
    med.add_qualifier("CL", "95%")
    for k, v in qualifiers:
        med.add_qualifier(k, v)
    med.add_qualifier("method", ", ".join(sorted(calculators)))
    for band, name in ((1, "1 sigma"), (0, "2 sigma")):
        unc = lib.Uncertainty(name, is_symmetric=False)
        unc.values = [(b[band] - b[2], b[4 - band] - b[2]) for b in bands]
        med.add_uncertainty(unc)
    return med


def _chi2_variable(lib: Any, rows: list[LimitRow], qualifiers: list[tuple[str, str]]) -> Any:
    """The chi2 d95 (the paper's criterion) with its MC-statistics uncertainty where recorded."""
    chi2 = lib.Variable("d95 chi2 (S^2/(S+B) = 2.71)", is_independent=False, is_binned=False, units="GeV^-1")
    chi2.values = [r["d95_chi2"] for r in rows]
    errs = [e for r in rows if (e := r.get("d95_mc_rel_err")) is not None]
    if len(errs) == len(rows):
        mc = lib.Uncertainty("MC statistics", is_symmetric=True)
        mc.values = [r["d95_chi2"] * e for r, e in zip(rows, errs, strict=True)]
        chi2.add_uncertainty(mc)
    for k, v in qualifiers:
        chi2.add_qualifier(k, v)
    return chi2


def _limit_table(lib: Any, path: Path, locations: dict[str, str] | None, workspaces: Path | None, staging: Path) -> Any:
    """One limit table (``<scenario>_limits.json``) as a HEPData table, with its pyhf workspaces attached."""
    data = read_limit_table(path)
    rows = sorted(data["limits"], key=lambda r: r["mass_GeV"])
    table = lib.Table(f"Expected limit {data['scenario']}")
    ew = data.get("electroweak")
    coupling = "d" if ew is None else f"d_gamma (operator {ew['operator']}: d_Z = {ew['dz_over_dgamma']:.4g} d_gamma)"
    table.description = f"{data.get('label', data['scenario'])}: expected 95% C.L. upper limit on {coupling}."
    table.location = (locations or {}).get(data["scenario"]) or f"Limit table {path.name} (in no figure)"
    if workspaces is not None:
        from dipole_portal.stats.models import PYHF_CLS_COMMAND

        tar = pyhf_archive(workspaces, data["scenario"], staging / f"{data['scenario']}_pyhf.tar.gz")
        if tar is not None:
            table.add_additional_resource(
                "pyhf workspaces: background-only workspace and one patch per mass ("
                + PYHF_CLS_COMMAND.format(bkgonly="BKG", patch="P")
                + "), and the patchset when an INSPIRE id was given",
                str(tar),
                copy_file=True,
                file_type="HistFactory",
            )
    table.keywords["observables"] = ["d"]
    qualifiers = _qualifiers(rows, path)  # refuses a table that mixes countings or N types
    table.keywords["reactions"] = reactions(rows[0]["n_cc_modes"], rows[0].get("n_type", "dirac"))
    energies = sorted({e for r in rows for e in r["channels"]})
    table.keywords["cmenergies"] = [energies[0], energies[-1]] if len(energies) > 1 else energies
    mass = lib.Variable("m_N", is_independent=True, is_binned=False, units="GeV")
    mass.values = [r["mass_GeV"] for r in rows]
    table.add_variable(mass)
    bands = [b for r in rows if (b := r["d95_cls_bands"])]
    if len(bands) == len(rows):
        table.add_variable(_cls_variable(lib, bands, {str(r["calculator"]) for r in rows}, qualifiers))
    table.add_variable(_chi2_variable(lib, rows, qualifiers))
    return table


def _write(
    tables: list[Path], out_folder: Path, locations: dict[str, str] | None, workspaces: Path | None, staging: Path
) -> list[Path]:
    lib = _hepdata_lib()
    sub = lib.Submission()
    sub.add_additional_resource(
        f"Analysis code: the dipole-portal {__version__} sources that computed these tables (python -m "
        "dipole_portal run reproduces them)",
        str(code_archive(staging / "dipole_portal_code.tar.gz")),
        copy_file=True,
    )
    sub.add_additional_resource("Reproduced publication: arXiv:2204.07802", "https://arxiv.org/abs/2204.07802")
    for path in tables:
        sub.add_table(_limit_table(lib, path, locations, workspaces, staging))
    sub.comment = DESCRIPTION

    def fill(tmp: Path) -> None:
        # hepdata_lib writes its tarball into the working directory: build everything inside ``tmp``
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.chdir(tmp):
            sub.create_files("submission", validate=True, remove_old=True)

    return _put_in_place(out_folder, fill)
