"""ROOT output of event samples: a TTree ``events`` and a TObjString ``metadata`` holding JSON.

Written with uproot's ``mktree`` + ``extend`` (real TTrees, not RNTuples) with ZSTD compression, under a
temporary name that is renamed onto the final one only when the file is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import numpy as np
import uproot

from dipole_portal.core.atomic import atomic_path
from dipole_portal.core.errors import InputError
from dipole_portal.core.options import DecayModel
from dipole_portal.core.schemas import check_schema


class SampleMetadata(TypedDict):
    """The JSON record in a sample file (key ``metadata``), as ``METADATA_SCHEMA`` checks it: what made the events
    (energies in GeV, cross sections in pb, couplings in GeV^-1) and how to read them."""

    format: NotRequired[str]
    format_version: NotRequired[int]
    process: str  # "signal" or "nunugamma"
    sqrt_s_GeV: float
    beams_GeV: dict[str, float]
    boost_beta: float
    seed: int
    events: int
    chunk_size: int
    package_version: str
    constants: dict[str, float]
    weight_unit: str
    generated_region: str | dict[str, float]
    mass_GeV: NotRequired[float]  # signal only, from here on
    d_ref_GeV_inv: NotRequired[float]
    decay_model: NotRequired[str]
    n_cc_modes: NotRequired[int]
    xsec_pb: NotRequired[float]
    reweighted_from: NotRequired[dict[str, Any]]  # a selection's result: the sample's own model and counting
    background_model: NotRequired[str]  # nu nubar gamma: "electroweak" (absent: SPEC 2's law)
    polarisation: NotRequired[dict[str, float]]  # electroweak nu nubar gamma: P(e-), P(e+)
    z_boson_GeV: NotRequired[dict[str, float]]
    w_boson_GeV: NotRequired[dict[str, float]]
    electroweak: NotRequired[dict[str, Any]]  # a selection's result: the signal's operator, polarisation, sigma, Br


TREE = "events"
METADATA_KEY = "metadata"
FORMAT = "dipole-portal-events"
FORMAT_VERSION = 1
MIN_BASKET = 100_000
BRANCH_TITLES = {  # what a ROOT user sees in TTree::Print: meaning, frame and unit of every branch
    "photon_E": "photon energy, CM frame [GeV]",
    "photon_px": "photon momentum x, CM frame [GeV]",
    "photon_py": "photon momentum y, CM frame [GeV]",
    "photon_pz": "photon momentum z (along the e- beam), CM frame [GeV]",
    "N_E": "N energy, CM frame [GeV]",
    "N_px": "N momentum x, CM frame [GeV]",
    "N_py": "N momentum y, CM frame [GeV]",
    "N_pz": "N momentum z (along the e- beam), CM frame [GeV]",
    "cos_theta_star": "cos of the photon angle to the N flight direction, N rest frame",
    "cos_psi": "cos of the photon azimuth about the N direction, from the polar-angle direction, N rest frame",
    "helicity": "production term the N polar angle was drawn from: +1 s(1-z^2), -1 m^2(1+z^2)",
    "weight": "event weight [pb]; the sum is the cross section of the generated region",
}


def _num(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _title_branches(tree: Any, sink: Any) -> None:
    """Give every branch its BRANCH_TITLES description (uproot writes ``name/leaf-type``; the leaves keep the name).

    uproot has no argument for branch titles: they are set in its tree description and the (still empty) tree's
    header is written again in place of the first, before any basket.
    """
    cascading = tree._cascading
    for datum in cascading._branch_data:
        if datum.get("fName") in BRANCH_TITLES:
            datum["fTitle"] = BRANCH_TITLES[datum["fName"]]
    cascading.write_anew(sink)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def write_events(
    path: str | os.PathLike[str],
    chunks: Iterable[dict[str, np.ndarray]],
    metadata: SampleMetadata,
    compression_level: int = 1,
    on_chunk: Callable[[int], None] | None = None,
    expected_entries: int | None = None,
) -> Path:
    """Write chunks of equal-keyed arrays into ``path`` atomically; return the final path.

    Chunks smaller than 100k entries are merged before ``extend`` so that every basket holds at least
    that many entries (except the last). ``expected_entries`` sizes the tree's basket table up front: uproot 5
    relocates a tree that outgrows it, and with the branch titles rewritten here that relocation fails
    (``KeyError`` in ``_move_tree``, from about 10 baskets: 10^7 events of the generator).
    """
    capacity = max(10, -(-(expected_entries or 0) // MIN_BASKET) + 2)
    title = (
        f"dipole-portal {metadata.get('process', '')} events, sqrt(s) = {_num(metadata.get('sqrt_s_GeV'))} GeV"
        + (f", m_N = {_num(metadata['mass_GeV'])} GeV" if "mass_GeV" in metadata else "")
    ).replace("  ", " ")
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp, compression=uproot.ZSTD(compression_level)) as f:
            tree = None
            pending: list[dict[str, np.ndarray]] = []
            n_pending = 0
            total = 0

            def flush() -> None:
                nonlocal tree, pending, n_pending, total
                if not pending:
                    return
                data = pending[0] if len(pending) == 1 else _concat(pending)
                if tree is None:
                    tree = f.mktree(
                        TREE, {k: v.dtype for k, v in data.items()}, title=title, initial_basket_capacity=capacity
                    )
                    _title_branches(tree, f._file.sink)
                if tree._cascading._num_baskets >= capacity - 1:  # where uproot would relocate the tree
                    raise ValueError(f"{path}: more than {capacity} baskets; pass expected_entries to write_events")
                tree.extend(data)
                total += n_pending
                pending, n_pending = [], 0

            for chunk in chunks:
                n = len(next(iter(chunk.values())))
                pending.append(chunk)
                n_pending += n
                if n_pending >= MIN_BASKET:
                    flush()
                if on_chunk is not None:
                    on_chunk(n)
            flush()
            meta = dict(metadata, format=FORMAT, format_version=FORMAT_VERSION, events_written=total)
            f[METADATA_KEY] = json.dumps(meta, sort_keys=True, allow_nan=False)
    return Path(path)


PROCESSES = ("signal", "nunugamma")
_POSITIVE_GEV = {"type": "number", "exclusiveMinimum": 0, "maximum": 1e5}
#: the metadata of a sample file (JSON Schema draft 2020-12): what the stages read, typed and in range; a signal
#: file also names its N mass, reference coupling, photon law and counting (which the selection may reweight)
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "format_version", "process", "sqrt_s_GeV", "events_written"],
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"const": FORMAT_VERSION},
        "process": {"enum": list(PROCESSES)},
        "sqrt_s_GeV": _POSITIVE_GEV,
        "events_written": {"type": "integer", "minimum": 0},
        "xsec_pb": {"type": "number", "minimum": 0, "maximum": 1e12},
        "seed": {"type": "integer", "minimum": 0},
    },
    "if": {"properties": {"process": {"const": "signal"}}},
    "then": {
        "required": ["mass_GeV", "d_ref_GeV_inv", "decay_model", "n_cc_modes", "xsec_pb"],
        "properties": {
            "mass_GeV": _POSITIVE_GEV,
            "d_ref_GeV_inv": {"type": "number", "exclusiveMinimum": 0},
            "decay_model": {"enum": [str(m) for m in DecayModel]},
            "n_cc_modes": {"enum": [1, 2]},
        },
    },
}


def _check_fields(meta: dict[str, Any], p: Path) -> None:
    """The metadata fields the stages rely on: the schema, and an N light enough to be produced."""
    check_schema(meta, METADATA_SCHEMA, f"{p}: metadata")
    if meta["process"] == "signal" and not meta["mass_GeV"] < meta["sqrt_s_GeV"]:
        raise InputError(
            f"{p}: metadata mass_GeV = {meta['mass_GeV']!r} at sqrt_s_GeV = {meta['sqrt_s_GeV']!r}: "
            "an N this heavy cannot be produced; expected m_N < sqrt(s)"
        )


@contextmanager
def open_sample(path: str | os.PathLike[str]) -> Iterator[tuple[SampleMetadata, Any]]:
    """Open a sample file once: yield its checked JSON metadata and its ``events`` TTree (uproot).

    Errors name the file and the problem. Reading the metadata and the events through one open halves the cost of
    a small file, which is dominated by deserialising the tree's branch descriptions.
    """
    from dipole_portal.core.readers import check_regular

    p = check_regular(path, "ROOT sample")
    try:
        f = uproot.open(p)
    except Exception as exc:  # uproot raises many kinds on corrupt files
        raise InputError(f"{p}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
    with f:
        try:
            size, end = p.stat().st_size, f.file.fEND
            if size < end:
                raise InputError(f"{p}: truncated ({size} bytes, the ROOT header says {end})")
            if METADATA_KEY not in f:
                raise InputError(f"{p}: key '{METADATA_KEY}' missing; expected a file written by 'generate'")
            if TREE not in f:
                raise InputError(f"{p}: tree '{TREE}' missing; expected a file written by 'generate'")
            text = str(f[METADATA_KEY])
            tree = f[TREE]
            entries = tree.num_entries
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{p}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None
        meta = _parse_metadata(text, p)
        _check_branches(tree, meta["process"], p)
        if meta.get("events_written") != entries:
            raise InputError(
                f"{p}: tree '{TREE}' holds {entries} entries, metadata events_written is "
                f"{meta.get('events_written')!r}; the file is incomplete or was altered"
            )
        yield meta, tree


def _check_branches(tree: Any, process: str, p: Path) -> None:
    """The branches the selection reads for ``process``: present, and one number per event (not jagged)."""
    from uproot.interpretation.numerical import AsDtype

    need: tuple[str, ...] = ("photon_E", "photon_px", "photon_py", "photon_pz", "weight")
    if process == "signal":  # the N four-vector and rest-frame angles: a relabelled background has none
        need += ("N_px", "N_py", "N_pz", "cos_theta_star", "cos_psi")
    keys = set(tree.keys())
    for b in need:
        if b not in keys:
            raise InputError(
                f"{p}: branch '{b}' missing from tree '{TREE}'; expected a {process} file written by 'generate'"
            )
        try:
            interp = tree[b].interpretation
        except Exception:  # uproot cannot interpret it at all
            interp = None
        if not isinstance(interp, AsDtype) or interp.inner_shape:
            raise InputError(
                f"{p}: branch '{b}' is not one number per event ({interp}); expected a file written by 'generate'"
            )


def _parse_metadata(text: str, p: Path) -> SampleMetadata:
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{p}: key '{METADATA_KEY}' is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{p}: key '{METADATA_KEY}' holds a JSON {type(meta).__name__}, expected an object")
    if meta.get("format") != FORMAT:
        raise InputError(f"{p}: metadata format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{p}: metadata format_version {meta.get('format_version')!r}, this version reads {FORMAT_VERSION}"
        )
    _check_fields(meta, p)
    return cast(SampleMetadata, meta)  # checked against METADATA_SCHEMA just above


def read_metadata(path: str | os.PathLike[str]) -> SampleMetadata:
    """Read and check the JSON metadata of a sample file; errors name the file and the problem."""
    with open_sample(path) as (meta, _):
        return meta
