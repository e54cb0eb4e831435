"""Selections through uproot.dask (dask-awkward partitions) agree with the in-memory chunked reader."""

from __future__ import annotations

import numpy as np
import pytest

from dipole_portal.core.config import get_scenario
from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.selections.cuts import build_selection
from dipole_portal.selections.process import process_sample

pytest.importorskip("dask_awkward")


def test_partitions_over_two_files_equal_the_average_of_the_files(tmp_path):
    from dipole_portal.selections.dask_process import process_files_dask

    sc = get_scenario("belle2-bbg")
    pt = sc.points[0]
    spec = SignalSpec(pt.beams, 1.0)
    f1 = generate_to_root(spec, tmp_path / "a.root", 1, 250_000, chunk_size=100_000)
    f2 = generate_to_root(spec, tmp_path / "b.root", 2, 150_000, chunk_size=100_000)
    sel = build_selection(sc, pt)
    r1, r2 = process_sample(f1, "signal", sel), process_sample(f2, "signal", sel)
    rd = process_files_dask([f1, f2], "signal", sel, step_size=60_000, scheduler="threads")
    assert rd.cutflow.events == [a + b for a, b in zip(r1.cutflow.events, r2.cutflow.events, strict=True)]
    assert rd.cutflow.sumw == pytest.approx(
        [(a + b) / 2 for a, b in zip(r1.cutflow.sumw, r2.cutflow.sumw, strict=True)], rel=1e-12
    )
    avg = (r1.histogram.values() + r2.histogram.values()) / 2
    assert np.allclose(rd.histogram.values(), avg, rtol=1e-12, atol=0)
    var = (r1.histogram.variances() + r2.histogram.variances()) / 4
    assert np.allclose(rd.histogram.variances(), var, rtol=1e-12, atol=0)


def test_missing_file_is_an_input_error(tmp_path):
    from dipole_portal.core.errors import InputError
    from dipole_portal.selections.dask_process import process_files_dask

    sc = get_scenario("belle2-bbg")
    with pytest.raises(InputError, match="nothere.root"):
        process_files_dask([tmp_path / "nothere.root"], "signal", build_selection(sc, sc.points[0]))
