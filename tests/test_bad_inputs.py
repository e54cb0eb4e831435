"""Bad inputs: each gives one line naming the file, key or value, exit code 2, and leaves earlier outputs alone."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot

from dipole_portal.core.config import DEFAULT_SCENARIOS
from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.samples.kinematics import Beams
from dipole_portal.samples.rootio import FORMAT_VERSION, write_events

GOOD_OUTPUT = b"earlier output, must survive\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dipole_portal", *args], capture_output=True, text=True)


def assert_one_line_error(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert "Traceback" not in res.stderr


@pytest.fixture(scope="module")
def good_sample(tmp_path_factory) -> Path:
    return generate_to_root(
        SignalSpec(Beams.symmetric_at(4.0), 1.0),
        tmp_path_factory.mktemp("s") / "sig.root",
        seed=3,
        events=120_000,
        chunk_size=120_000,
    )


@pytest.fixture
def earlier(tmp_path) -> Path:
    p = tmp_path / "earlier.root"
    p.write_bytes(GOOD_OUTPUT)
    return p


def _cutflow(path: Path, out: Path) -> subprocess.CompletedProcess:
    return cli("cutflow", "--input", str(path), "--scenario", "stcf-4gev", "--output", str(out))


def test_good_file_works(good_sample, tmp_path):
    res = _cutflow(good_sample, tmp_path / "h.root")
    assert res.returncode == 0, res.stderr
    assert "advanced" in res.stdout
    with uproot.open(tmp_path / "h.root") as f:
        assert f["signal_selected"].values().sum() > 0


def test_truncated_file(good_sample, tmp_path, earlier):
    bad = tmp_path / "truncated.root"
    bad.write_bytes(good_sample.read_bytes()[: good_sample.stat().st_size // 2])
    assert_one_line_error(_cutflow(bad, earlier), str(bad))
    assert earlier.read_bytes() == GOOD_OUTPUT


def test_corrupted_baskets(good_sample, tmp_path, earlier):
    raw = bytearray(good_sample.read_bytes())
    rng = np.random.default_rng(1)
    start, stop = 2_000, len(raw) - 50_000  # the data baskets; header and directory stay readable
    for i in rng.integers(start, stop, 4000):
        raw[i] ^= 0xFF
    bad = tmp_path / "corrupt.root"
    bad.write_bytes(bytes(raw))
    assert_one_line_error(_cutflow(bad, earlier), str(bad))
    assert earlier.read_bytes() == GOOD_OUTPUT


def test_not_a_root_file(tmp_path, earlier):
    bad = tmp_path / "notes.root"
    bad.write_text("just text\n")
    assert_one_line_error(_cutflow(bad, earlier), str(bad), "not a readable ROOT file")


def test_missing_file(tmp_path, earlier):
    assert_one_line_error(_cutflow(tmp_path / "absent.root", earlier), "absent.root", "no such file")


def _rewrite(
    good: Path, dest: Path, drop_branch: str | None = None, tree: str = "events", meta_update: dict | None = None
) -> Path:
    with uproot.open(good) as f:
        arrays = f["events"].arrays(library="np")
        meta = json.loads(str(f["metadata"]))
    if drop_branch:
        arrays.pop(drop_branch)
    meta.update(meta_update or {})
    meta.pop("format", None), meta.pop("format_version", None), meta.pop("events_written", None)
    write_events(dest, iter([arrays]), meta)
    if tree != "events":  # rename the tree: copy into a file whose tree has another name
        with uproot.open(dest) as f:
            data, text = f["events"].arrays(library="np"), str(f["metadata"])
        with uproot.recreate(dest) as g:
            g["metadata"] = text
            t = g.mktree(tree, {k: v.dtype for k, v in data.items()})
            t.extend(data)
    return dest


def test_missing_branch(good_sample, tmp_path, earlier):
    bad = _rewrite(good_sample, tmp_path / "nobranch.root", drop_branch="weight")
    assert_one_line_error(_cutflow(bad, earlier), str(bad), "weight")
    assert earlier.read_bytes() == GOOD_OUTPUT


def test_missing_tree(good_sample, tmp_path, earlier):
    bad = _rewrite(good_sample, tmp_path / "notree.root", tree="photons")
    assert_one_line_error(_cutflow(bad, earlier), str(bad), "events")
    assert earlier.read_bytes() == GOOD_OUTPUT


def test_incompatible_metadata_version(good_sample, tmp_path, earlier):
    bad = tmp_path / "future.root"
    shutil.copy(good_sample, bad)
    with uproot.open(bad) as f:
        arrays, meta = f["events"].arrays(library="np"), json.loads(str(f["metadata"]))
    meta["format_version"] = FORMAT_VERSION + 1
    with uproot.recreate(bad) as g:
        g["metadata"] = json.dumps(meta)
        t = g.mktree("events", {k: v.dtype for k, v in arrays.items()})
        t.extend(arrays)
    assert_one_line_error(_cutflow(bad, earlier), str(bad), "format_version", str(FORMAT_VERSION + 1))
    assert earlier.read_bytes() == GOOD_OUTPUT


def test_file_from_another_energy(good_sample, earlier):
    res = cli("cutflow", "--input", str(good_sample), "--scenario", "stcf-7gev", "--output", str(earlier))
    assert_one_line_error(res, "sqrt_s_GeV", "stcf-7gev")
    assert earlier.read_bytes() == GOOD_OUTPUT


# -- configuration -------------------------------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "bes3_datasets.csv").write_text((DEFAULT_SCENARIOS.parent / "bes3_datasets.csv").read_text())
    p = tmp_path / "cfg.json"
    p.write_text(text)
    return p


def _mutated(mutate) -> str:
    cfg = json.loads(DEFAULT_SCENARIOS.read_text())
    mutate(cfg)
    return json.dumps(cfg)


def _set(path: list, value):
    def mutate(cfg):
        node = cfg
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return mutate


CONFIGS = [
    ("{ not json", ["cfg.json", "not valid JSON", "line 1"]),
    (_mutated(_set(["scenarios", "stcf-2gev", "points", 0, "lumi_fb"], 0.0)), ["lumi_fb", "0"]),
    (_mutated(_set(["scenarios", "stcf-2gev", "points", 0, "lumi_fb"], -5.0)), ["lumi_fb", "-5"]),
    (_mutated(_set(["scenarios", "stcf-2gev", "points", 0, "lumi_fb"], math.nan)), ["lumi_fb", "NaN"]),
    (_mutated(_set(["scenarios", "stcf-2gev", "points", 0, "sqrt_s_GeV"], math.inf)), ["sqrt_s_GeV", "Infinity"]),
    (_mutated(_set(["detectors", "belle2", "eps_det"], math.nan)), ["eps_det", "NaN"]),
    (_mutated(_set(["detectors", "belle2", "theta_lab_deg"], [155.1, 12.4])), ["theta_lab_deg"]),
    (_mutated(_set(["scenarios", "belle2-bbg", "points", 0, "sqrt_s_GeV"], 9.0)), ["sqrt_s_GeV", "contradicts"]),
    (_mutated(_set(["scenarios", "stcf-2gev", "detector"], "cleo")), ["detector", "cleo"]),
    (_mutated(_set(["targets", 0, "lo_GeV"], 50.0)), ["targets/0", "lo_GeV 50.0", "expected lo_GeV < hi_GeV"]),
    (_mutated(_set(["comparisons", 1, "hi_GeV"], 0.3)), ["comparisons/1", "hi_GeV 0.3"]),
    (_mutated(_set(["comparisons", 1, "scenarios"], ["stcf-2gev"])), ["comparisons/1/scenarios", "too short"]),
    (_mutated(_set(["comparisons", 0, "scenarios"], ["stcf-2gev"] * 3)), ["comparisons/0/scenarios", "too long"]),
    (_mutated(_set(["comparisons", 2, "scenarios"], ["stcf-2gev"])), ["comparisons/2/scenarios", "too short"]),
]


@pytest.mark.parametrize(("text", "words"), CONFIGS)
def test_bad_configuration(tmp_path, text, words):
    out = tmp_path / "out"
    (out / "limits").mkdir(parents=True)
    keep = out / "limits" / "stcf-2gev_limits.csv"
    keep.write_bytes(GOOD_OUTPUT)
    res = cli("run", "--scenarios", str(_config(tmp_path, text)), "--scenario", "stcf-2gev", "--output", str(out))
    assert_one_line_error(res, *words)
    assert keep.read_bytes() == GOOD_OUTPUT
    assert sorted(p.name for p in out.rglob("*")) == ["limits", "stcf-2gev_limits.csv"]


# -- parameters ----------------------------------------------------------------------------------------------

PARAMS = [
    (["limit", "--scenario", "stcf-4gev", "--mass", "0"], ["mass=0.0"]),
    (["limit", "--scenario", "stcf-4gev", "--mass", "4"], ["mass=4.0", "m_N < 4"]),
    (["limit", "--scenario", "stcf-4gev", "--mass", "-1"], ["mass=-1.0"]),
    (["limit", "--scenario", "stcf-4gev", "--mass", "nan"], ["mass=nan"]),
    (["limit", "--scenario", "stcf-4gev", "--mass", "inf"], ["mass=inf"]),
    (["limit", "--scenario", "stcf-4gev", "--mass", "1", "--bkg-syst", "nan"], ["--bkg-syst", "nan"]),
    (
        [
            "generate",
            "--process",
            "signal",
            "--sqrt-s",
            "inf",
            "--mass",
            "1",
            "--events",
            "10",
            "--seed",
            "1",
            "--output",
            "x.root",
        ],
        ["sqrt-s", "inf"],
    ),
    (
        [
            "generate",
            "--process",
            "signal",
            "--sqrt-s",
            "4",
            "--mass",
            "1",
            "--d-ref",
            "nan",
            "--events",
            "10",
            "--seed",
            "1",
            "--output",
            "x.root",
        ],
        ["d", "nan"],
    ),
]


@pytest.mark.parametrize(("args", "words"), PARAMS)
def test_bad_parameters(tmp_path, args, words):
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", *args, *(["--cache", str(tmp_path)] if args[0] == "limit" else [])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert_one_line_error(res, *words)
    assert list(tmp_path.iterdir()) == []
