"""The one cache: keys follow the code, checksums are verified, damage heals with a warning, info and clear."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from dipole_portal.analysis import tasks
from dipole_portal.core.cache import Cache
from dipole_portal.core.config import get_scenario


def _package(tmp_path, monkeypatch, files: dict[str, str]):
    """A throwaway copy of the package layout: ``dipole_portal`` modules under ``tmp_path`` (code_identity finds
    modules on disk next to itself, so it is pointed at this tree)."""
    from dipole_portal.core import code_identity

    root = tmp_path / "dipole_portal"
    for rel, text in {"__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setattr(code_identity, "__file__", str(root / "core" / "code_identity.py"))
    code_identity._closure.cache_clear()
    code_identity._digest.cache_clear()
    return root


def _digest_of(roots: tuple[str, ...]) -> str:
    from dipole_portal.core import code_identity

    code_identity._closure.cache_clear()
    code_identity._digest.cache_clear()
    return code_identity.Code(roots).digest()


FORMULA = (
    '''"""Signal yield."""\nfrom dipole_portal import helper\n\ndef signal(d):\n    """S(d)."""\n'''
    "    return helper.K * d**2\n"
)


def test_comments_docstrings_and_layout_change_no_key_and_a_formula_does(tmp_path, monkeypatch):
    root = _package(
        tmp_path,
        monkeypatch,
        {
            "formula.py": FORMULA,
            "helper.py": "K = 2.71\n",
            "other.py": "X = 1\n",
            "oracle.py": "from dipole_portal import formula\n",
        },
    )
    before = _digest_of(("dipole_portal.formula",))
    (root / "formula.py").write_text(
        FORMULA.replace('"""S(d)."""', '"""S(d), eq. 7 of the paper."""  # cited').replace(
            "helper.K * d**2", "helper.K  *  (d ** 2)  # a comment"
        )
    )
    assert _digest_of(("dipole_portal.formula",)) == before  # docstring, comment and spacing
    (root / "other.py").write_text("X = 2\n")
    (root / "oracle.py").write_text("from dipole_portal import formula\nCHECK = 1\n")
    assert _digest_of(("dipole_portal.formula",)) == before  # modules it does not import (a test oracle)
    (root / "helper.py").write_text("K = 3.84\n")
    assert _digest_of(("dipole_portal.formula",)) != before  # a number in a module it imports


def test_a_library_version_changes_the_keys_that_use_it(monkeypatch):
    """A new pyhf invalidates limits, not samples; a new numpy both."""
    from dipole_portal.core import code_identity
    from dipole_portal.core.cache import LIMIT_CODE, SAMPLE_CODE

    def keys() -> tuple[str, str]:
        code_identity._digest.cache_clear()
        return SAMPLE_CODE.digest(), LIMIT_CODE.digest()

    real = code_identity.library_version
    sample, limit = keys()
    monkeypatch.setattr(code_identity, "library_version", lambda n: real(n) + (".post1" if n == "pyhf" else ""))
    assert keys() == (sample, keys()[1]) and keys()[1] != limit
    monkeypatch.setattr(code_identity, "library_version", lambda n: real(n) + (".post1" if n == "numpy" else ""))
    new_sample, new_limit = keys()
    assert new_sample != sample and new_limit != limit
    code_identity._digest.cache_clear()


def test_no_production_key_holds_the_test_oracle():
    from dipole_portal.core.cache import FIGURE_CODE, HEPDATA_CODE, LIMIT_CODE, SAMPLE_CODE, SELECTION_CODE

    for code in (SAMPLE_CODE, SELECTION_CODE, LIMIT_CODE, FIGURE_CODE, HEPDATA_CODE):
        assert "dipole_portal.selections.reference" not in code.modules()
    assert not any(m.startswith("dipole_portal.stats") for m in SELECTION_CODE.modules())
    assert not any(m.startswith(("dipole_portal.selections", "dipole_portal.analysis")) for m in SAMPLE_CODE.modules())


def _counts(root) -> dict[str, int]:
    return {k: len(list((root / k).glob("*.json"))) for k in ("samples", "selected", "yields", "limits")}


@pytest.mark.parametrize(
    ("edited", "recomputed"),
    [
        ("dipole_portal.stats.limits", {"limits"}),
        ("dipole_portal.selections.cuts", {"selected", "yields", "limits"}),
        ("dipole_portal.samples.signal_physics", {"samples", "selected", "yields", "limits"}),
        ("dipole_portal.selections.reference", set()),  # the test oracle
        ("dipole_portal.plotting.style", set()),
    ],
)
def test_an_edit_invalidates_exactly_what_depends_on_it(tmp_path, monkeypatch, edited, recomputed):
    """Edit one module's code (simulated through its digest): only the entries computed with it are remade."""
    from dipole_portal.core import code_identity

    task = tasks.LimitTask(get_scenario("stcf-4gev"), 1.0, events=3000, method="chi2", cache=str(tmp_path))
    first = tasks.run_task(task).limit
    before = _counts(tmp_path)
    assert all(v > 0 for v in before.values())
    real = code_identity.module_digest
    monkeypatch.setattr(code_identity, "module_digest", lambda name: real(name) + ("-edited" if name == edited else ""))
    code_identity._digest.cache_clear()
    try:
        again = tasks.run_task(task).limit
    finally:
        code_identity._digest.cache_clear()
    after = _counts(tmp_path)
    for kind in before:
        assert after[kind] == before[kind] * (2 if kind in recomputed else 1), kind
    assert again.d95_chi2 == first.d95_chi2  # same code in fact: the same number


@pytest.mark.parametrize("kind", ["limits", "yields", "selected", "samples"])
def test_damaged_entries_are_recomputed_with_a_warning(tmp_path, caplog, kind):
    task = tasks.LimitTask(get_scenario("stcf-4gev"), 1.0, events=3000, method="chi2", cache=str(tmp_path))
    first = tasks.run_task(task).limit
    ext = "root" if kind == "samples" else "json"
    victims = sorted((tmp_path / kind).glob(f"*.{ext}"))
    for p in victims:  # flip one byte in the middle
        raw = bytearray(p.read_bytes())
        raw[len(raw) // 2] ^= 0x20
        p.write_bytes(bytes(raw))
    order = ["samples", "selected", "yields", "limits"]
    for above in order[order.index(kind) + 1 :]:  # force the recomputation down to the damaged entry
        for p in (tmp_path / above).glob("*.json"):
            p.unlink()
    with caplog.at_level(logging.WARNING, logger="dipole_portal"):
        again = tasks.run_task(task).limit
    assert any("recomputing" in r.getMessage() for r in caplog.records)
    assert again.d95_chi2 == first.d95_chi2


def test_info_and_clear_from_the_command_line(tmp_path):
    tasks.run_task(tasks.LimitTask(get_scenario("stcf-4gev"), 1.0, events=3000, method="chi2", cache=str(tmp_path)))
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "cache", "info", "--cache", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)["kinds"]
    assert set(info) == {"samples", "selected", "yields", "limits"} and info["samples"]["bytes"] > 0
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "cache", "clear", "--kind", "limits", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0 and "removed 1 entries" in res.stderr
    assert set(Cache(tmp_path).info()) == {"samples", "selected", "yields"}
    assert Cache(tmp_path).clear() > 0 and Cache(tmp_path).info() == {}


def test_sample_index_lists_every_sample_file_with_its_parameters(tmp_path):
    """``cache index`` writes samples/index.csv from the entries' records: one row per ROOT file, a damaged
    record or a record without its file left out (its entry is remade and indexed when next needed)."""
    import csv

    sc = get_scenario("stcf-2gev")
    tasks.yields_for(sc, 1.0, events=2_000, cache=tmp_path)
    folder = tmp_path / "samples"
    (folder / "ffffffffffffffffffffffff.json").write_text("{not json")
    (folder / "eeeeeeeeeeeeeeeeeeeeeeee.json").write_text(json.dumps({"inputs": {"process": "signal"}}))
    for i, odd in enumerate(([1, 2], {"sqrt_s_GeV": "2.0"}, {"sqrt_s_GeV": 2.0, "mass_GeV": [1]}, "x")):
        (folder / f"dddddddddddddddddddddd{i:02d}.json").write_text(json.dumps({"inputs": odd}))
        (folder / f"dddddddddddddddddddddd{i:02d}.root").write_bytes(b"")  # a file beside an odd record
    (folder / "cccccccccccccccccccccccc.json").write_bytes(b"\xff\xfe")
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "cache", "index", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader((folder / "index.csv").open()))
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.glob("*.root") if p.stat().st_size)
    assert len(rows) == 2
    by = {r["process"]: r for r in rows}
    assert float(by["signal"]["mass_GeV"]) == 1.0 and float(by["nunugamma"]["sqrt_s_GeV"]) == 2.0
    # one isotropic sample serves every decay model (reweighted in the selection)
    assert by["signal"]["decay_model"] == "isotropic" and int(by["signal"]["events"]) == 2_000
    assert "index.csv" not in {p.name for p in folder.glob("*.json")}  # the index is not an entry


def _ensure_same_sample(root: str) -> tuple[str, int]:
    from dipole_portal.samples.cache import ensure_sample

    sc = get_scenario("stcf-2gev")
    spec, seed = tasks.background_sample(sc, sc.points[0], 1)
    path = ensure_sample(spec, seed, 20_000, Cache(root))
    return str(path), path.stat().st_ino


def test_a_process_waits_for_the_sample_another_is_making(tmp_path):
    """While one process holds a sample's entry (generating it), another asking for the same sample waits, then
    reads the finished file instead of making (or discarding as damaged) a second one."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    from dipole_portal.samples.cache import sample_entry
    from dipole_portal.samples.generate import generate_to_root

    sc = get_scenario("stcf-2gev")
    spec, seed = tasks.background_sample(sc, sc.points[0], 1)
    entry = sample_entry(spec, seed, 20_000, Cache(tmp_path))
    with ProcessPoolExecutor(1) as ex:
        ex.submit(int, 0).result()  # the worker is up
        with entry.locked():
            future = ex.submit(_ensure_same_sample, str(tmp_path))
            time.sleep(1.5)  # generating 20k events takes about 0.1 s: without the lock it would be done
            assert not future.done()
            with entry.writing_file("root") as tmp:
                generate_to_root(spec, tmp, seed, 20_000)
        path, inode = future.result(timeout=60)
    assert path == str(entry.file_path("root")) and inode == entry.file_path("root").stat().st_ino
    assert entry.valid_file("root") is not None
