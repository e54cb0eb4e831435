"""``<cache>/samples/index.csv``: the sample files (named by hash) with the parameters they were made with.

Kept out of ``dipole_portal.samples`` on purpose: the sample cache keys hash that package's source, and an index
is not part of what a sample is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dipole_portal.core.cache import Cache
from dipole_portal.core.errors import InputError
from dipole_portal.core.readers import read_json
from dipole_portal.samples.cache import KIND

INDEX_COLUMNS = (
    "file",
    "process",
    "sqrt_s_GeV",
    "e_minus_GeV",
    "e_plus_GeV",
    "mass_GeV",
    "decay_model",
    "n_cc_modes",
    "events",
    "seed",
    "xsec_pb",
)


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _row(rec_path: Path) -> dict[str, Any] | None:
    """The index row of a sample's record, or None: a damaged record (its entry is recomputed when next read, and
    indexed then), a record this version did not write, or one whose file is gone (evicted)."""
    try:
        rec = read_json(rec_path, "cache record")
        inp = rec["inputs"]
    except (InputError, KeyError, TypeError):
        return None
    if not (
        isinstance(inp, dict)
        and _number(inp.get("sqrt_s_GeV"))
        and _number(inp.get("mass_GeV", 0.0))
        and rec_path.with_suffix(".root").is_file()
    ):
        return None
    beams: dict[str, Any] = inp["beams_GeV"] if isinstance(inp.get("beams_GeV"), dict) else {}
    return {
        "file": rec_path.with_suffix(".root").name,
        "process": inp.get("process"),
        "sqrt_s_GeV": inp.get("sqrt_s_GeV"),
        "e_minus_GeV": beams.get("e_minus"),
        "e_plus_GeV": beams.get("e_plus"),
        "mass_GeV": inp.get("mass_GeV", ""),
        "decay_model": inp.get("decay_model", ""),
        "n_cc_modes": inp.get("n_cc_modes", ""),
        "events": inp.get("events"),
        "seed": inp.get("seed"),
        "xsec_pb": inp.get("xsec_pb", ""),
    }


def write_index(cache: Cache) -> Path:
    """``<cache>/samples/index.csv``: one row per sample file (named by its hash) with the parameters it was made
    with, so that a reader finds the file of a given energy, mass and decay model without opening every one.

    Rebuilt from the entries' records (atomically), so it is never out of step with the folder.
    """
    import csv
    import io

    from dipole_portal.core.atomic import write_text_atomic

    folder = cache.folder(KIND)
    rows = [r for p in (sorted(folder.glob("*.json")) if folder.is_dir() else []) if (r := _row(p)) is not None]
    rows.sort(
        key=lambda r: (
            str(r["process"]),
            float(r["sqrt_s_GeV"] or 0),
            float(r["mass_GeV"] or 0),
            str(r["decay_model"]),
            r["file"],
        )
    )
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=INDEX_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.csv"
    try:
        if path.read_text() == buf.getvalue():
            return path  # unchanged: a warm rerun leaves the cache untouched
    except (OSError, UnicodeDecodeError):
        pass
    return write_text_atomic(path, buf.getvalue())
