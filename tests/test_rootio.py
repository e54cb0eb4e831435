"""ROOT files: TTrees read back exactly in a fresh process, reproducible bits, atomic writes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import uproot

from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import NuNuGammaSpec, SignalSpec, generate_chunks
from dipole_portal.samples.kinematics import Beams, PhaseSpaceRegion
from dipole_portal.samples.rootio import read_metadata, write_events


@pytest.fixture
def signal_spec():
    return SignalSpec(Beams(7.0, 4.0), 1.0)


def test_fresh_process_reads_exact_arrays(tmp_path, signal_spec):
    path = tmp_path / "sig.root"
    generate_to_root(signal_spec, path, seed=4, events=250_000, chunk_size=100_000)
    written = {
        k: np.concatenate([c[k] for c in generate_chunks(signal_spec, 4, 250_000, 100_000)])
        for k in ("photon_E", "photon_pz", "N_px", "weight", "helicity")
    }
    code = (
        "import sys, uproot, numpy as np; t = uproot.open(sys.argv[1])['events'];"
        "a = t.arrays(['photon_E', 'photon_pz', 'N_px', 'weight', 'helicity'], library='np');"
        "np.savez(sys.argv[2], **a); print(t.classname)"
    )
    out = tmp_path / "back.npz"
    res = subprocess.run([sys.executable, "-c", code, str(path), str(out)], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "TTree"
    back = np.load(out)
    for k, v in written.items():
        assert back[k].dtype == v.dtype
        assert np.array_equal(back[k], v)


def test_metadata_record(tmp_path, signal_spec):
    path = tmp_path / "sig.root"
    generate_to_root(signal_spec, path, seed=4, events=1000)
    meta = read_metadata(path)
    assert meta["process"] == "signal" and meta["mass_GeV"] == 1.0 and meta["decay_model"] == "exact"
    assert meta["n_cc_modes"] == 2 and meta["seed"] == 4 and meta["events_written"] == 1000
    assert meta["beams_GeV"] == {"e_minus": 7.0, "e_plus": 4.0}
    assert meta["constants"]["alpha"] == pytest.approx(1 / 137.035999)
    with uproot.open(path) as f:
        assert json.loads(str(f["metadata"]))["format_version"] == 1
        assert f["events"].num_entries == 1000


def test_every_branch_says_its_meaning_frame_and_unit(tmp_path, signal_spec):
    """Every branch title describes it (none is uproot's default ``name/type``), with its frame and unit; only
    CM branches are stored, even for asymmetric beams (Belle II); the tree title names the process, sqrt(s) and
    m_N."""
    path = tmp_path / "sig.root"
    generate_to_root(signal_spec, path, seed=4, events=1000)
    with uproot.open(path) as f:
        tree = f["events"]
        titles = {b.name: b.title for b in tree.branches}
        assert set(titles) == {
            "photon_E",
            "photon_px",
            "photon_py",
            "photon_pz",
            "N_E",
            "N_px",
            "N_py",
            "N_pz",
            "helicity",
            "cos_theta_star",
            "cos_psi",
            "weight",
        }
        for name, title in titles.items():
            assert not title.startswith(name + "/"), name
            assert "[" in title or name == "helicity" or (name.startswith("cos_") and "N rest frame" in title), name
        assert "CM frame" in titles["photon_E"] and "CM frame" in titles["N_pz"]
        assert tree.title == "dipole-portal signal events, sqrt(s) = 10.583 GeV, m_N = 1 GeV"


def test_same_seed_same_bits_other_seed_differs(tmp_path):
    spec = NuNuGammaSpec(Beams.symmetric_at(4.0), PhaseSpaceRegion(0.2, 2.0, -0.9, 0.9))
    arrays = []
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        generate_to_root(spec, tmp_path / f"{name}.root", seed=seed, events=120_000)
        with uproot.open(tmp_path / f"{name}.root") as f:
            arrays.append(f["events"].arrays(library="np"))
    for k in arrays[0]:
        assert arrays[0][k].tobytes() == arrays[1][k].tobytes()
    assert not np.array_equal(arrays[0]["photon_E"], arrays[2]["photon_E"])


def test_interrupted_write_leaves_nothing(tmp_path, signal_spec):
    path = tmp_path / "sig.root"

    def chunks():
        yield from generate_chunks(signal_spec, 1, 200_000, 100_000)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_events(path, chunks(), {"process": "signal"})
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_old_file(tmp_path, signal_spec):
    path = tmp_path / "sig.root"
    generate_to_root(signal_spec, path, seed=1, events=1000)
    before = path.read_bytes()

    def chunks():
        yield from generate_chunks(signal_spec, 2, 1000)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_events(path, chunks(), {"process": "signal"})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["sig.root"]


def test_more_baskets_than_uproots_default_table(tmp_path, monkeypatch):
    """uproot relocates a tree that outgrows its basket table, which fails with the rewritten branch titles (10^7
    generator events crashed with a KeyError); the table is sized from the expected entries instead."""
    from dipole_portal.samples import rootio

    monkeypatch.setattr(rootio, "MIN_BASKET", 1000)
    rng = np.random.default_rng(3)
    chunks = [{"photon_E": rng.random(1000), "weight": rng.random(1000)} for _ in range(25)]
    path = rootio.write_events(tmp_path / "many.root", iter(chunks), {"process": "signal"}, expected_entries=25_000)
    with uproot.open(path) as f:
        assert f["events"].num_entries == 25_000 and f["events"]["photon_E"].num_baskets == 25
        assert np.array_equal(
            f["events"]["photon_E"].array(library="np"), np.concatenate([c["photon_E"] for c in chunks])
        )
    with pytest.raises(ValueError, match="expected_entries"):  # never a KeyError deep inside uproot
        rootio.write_events(tmp_path / "unsized.root", iter(chunks), {"process": "signal"})
    assert not (tmp_path / "unsized.root").exists()
