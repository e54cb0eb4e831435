"""Generate a sample and write it to ROOT: the ``generate`` stage as a function."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from dipole_portal.core.version import __version__
from dipole_portal.samples.generators import DEFAULT_CHUNK, NuNuGammaSpec, SignalSpec, generate_chunks
from dipole_portal.samples.rootio import SampleMetadata, write_events


def sample_metadata(spec: SignalSpec | NuNuGammaSpec, seed: int, events: int, chunk_size: int) -> SampleMetadata:
    """The JSON record that travels with a sample file."""
    meta: SampleMetadata = {
        "sqrt_s_GeV": spec.beams.sqrt_s,
        "beams_GeV": spec.beams.as_dict(),
        "boost_beta": spec.beams.beta,
        "seed": seed,
        "events": events,
        "chunk_size": chunk_size,
        "package_version": __version__,
        "constants": spec.constants.as_dict(),
        "weight_unit": "pb",
        "process": "signal" if isinstance(spec, SignalSpec) else "nunugamma",
        "generated_region": "full phase space" if isinstance(spec, SignalSpec) else spec.region.as_dict(),
    }
    if isinstance(spec, NuNuGammaSpec) and spec.electroweak is not None:
        ew = spec.ew
        meta["background_model"] = "electroweak"
        meta["polarisation"] = {"e_minus": ew.pol.electron, "e_plus": ew.pol.positron}
        meta["z_boson_GeV"] = {"mass": ew.z_boson.mass_GeV, "width": ew.z_boson.width_GeV}
        meta["w_boson_GeV"] = {"mass": ew.w_boson.mass_GeV}
    if isinstance(spec, SignalSpec):
        meta.update(
            {
                "mass_GeV": spec.mass,
                "d_ref_GeV_inv": spec.d_ref,
                "decay_model": spec.decay_model,
                "n_cc_modes": spec.n_modes,
                "xsec_pb": spec.xsec_pb,
            }
        )
    return meta


def generate_to_root(
    spec: SignalSpec | NuNuGammaSpec,
    output: str | os.PathLike[str],
    seed: int,
    events: int,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    on_chunk: Callable[[int], None] | None = None,
    compression_level: int = 1,
) -> Path:
    """Generate ``events`` events with ``seed`` and write them atomically to ``output``."""
    meta = sample_metadata(spec, seed, events, chunk_size)
    chunks = generate_chunks(spec, seed, events, chunk_size)
    return write_events(
        output, chunks, meta, compression_level=compression_level, on_chunk=on_chunk, expected_entries=events
    )
