"""Each command's outputs are one transaction: complete, or the earlier set byte for byte; later stages read only
this run's files; names that become paths pass one gate."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dipole_portal.core.errors import InputError
from dipole_portal.core.transaction import output_transaction

ENV = {**os.environ, "DIPOLE_PORTAL_PROGRESS": "0"}


def _cli(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dipole_portal", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**ENV, "DIPOLE_PORTAL_CACHE": str(cwd / "cache")},
        timeout=900,
        **kw,
    )


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as links) and its SHA-256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_a_failed_block_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    with output_transaction(out) as stage:
        (stage / "a.txt").write_text("first")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.txt").write_text("first")
    before = _snapshot(out)
    for exc in (InputError("refused"), OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), output_transaction(out) as stage:
            (stage / "a.txt").write_text("second")
            (stage / "sub").mkdir()
            raise exc
        assert _snapshot(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dpp-")]  # no staging folder left


def test_links_in_the_output_folder_are_replaced_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    (out / "limits").symlink_to(outside, target_is_directory=True)
    (out / "report.md").symlink_to(outside / "keep.txt")
    with output_transaction(out) as stage:
        (stage / "limits").mkdir()
        (stage / "limits" / "t.csv").write_text("new")
        (stage / "report.md").write_text("new")
    assert not (out / "limits").is_symlink() and (out / "limits" / "t.csv").read_text() == "new"
    assert not (out / "report.md").is_symlink() and (outside / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    link = tmp_path / "link_out"
    link.symlink_to(out, target_is_directory=True)
    with pytest.raises(InputError, match="symbolic link"), output_transaction(link):
        pass


def _yields(tmp_path: Path, model: str) -> Path:
    res = _cli(
        "select",
        "--scenario",
        "stcf-4gev",
        "--mass",
        "1",
        "--events",
        "3000",
        "--decay-model",
        model,
        "--output",
        "sel",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    return tmp_path / "sel" / f"stcf-4gev_m1_{model}_yields.json"


def test_a_refused_limits_command_changes_nothing(tmp_path):
    exact, helicity = _yields(tmp_path, "exact"), _yields(tmp_path, "helicity")
    assert _cli("limits", "--yields", str(exact), "--output", "L", cwd=tmp_path).returncode == 0
    before = _snapshot(tmp_path / "L")
    res = _cli("limits", "--yields", str(exact), "--yields", str(helicity), "--output", "L", cwd=tmp_path)
    assert res.returncode == 2 and "mixed decay_model" in res.stderr
    assert _snapshot(tmp_path / "L") == before


@pytest.mark.parametrize(
    ("scenario", "word"),
    [("../../escaped", "scenario"), ("limits/x", "scenario"), ("", "scenario"), (".hidden", "scenario")],
)
def test_a_scenario_name_from_a_yields_file_cannot_leave_the_output_folder(tmp_path, scenario, word):
    good = _yields(tmp_path, "exact")
    record = json.loads(good.read_text())
    record["scenario"] = scenario
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record))
    (tmp_path / "D" / "sub").mkdir(parents=True)
    res = _cli("limits", "--yields", str(bad), "--output", "D/sub/out", cwd=tmp_path)
    assert res.returncode == 2 and word in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["bad.json", "cache", "sel", "D"])
    assert not any((tmp_path / "D").rglob("*.json"))


def test_masses_that_differ_get_different_files(tmp_path):
    res = _cli(
        "limits",
        "--scenario",
        "stcf-4gev",
        "--masses",
        "1,1.0000001",
        "--events",
        "3000",
        "--method",
        "chi2",
        "--output",
        "L",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "L" / "stcf-4gev_patches").iterdir()) == [
        "mN_1GeV.json",
        "mN_1p0000001GeV.json",
    ]


def test_cutflow_never_writes_onto_its_input(tmp_path):
    res = _cli(
        "generate",
        "--process",
        "signal",
        "--sqrt-s",
        "4",
        "--mass",
        "1",
        "--events",
        "2000",
        "--output",
        "s.root",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    before = _snapshot(tmp_path)
    for out in ("s.root", "./s.root", str(tmp_path / "s.root")):
        res = _cli("cutflow", "--input", "s.root", "--scenario", "stcf-4gev", "--output", out, cwd=tmp_path)
        assert res.returncode == 2 and "same file as --input" in res.stderr, out
    assert _snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """A fast run of one scenario (stcf-4gev: no reproduction target, so no model study)."""
    base = tmp_path_factory.mktemp("runs")
    res = _cli("run", "--preset", "fast", "--scenario", "stcf-4gev", "--output", "OUT", "--workers", "2", cwd=base)
    assert res.returncode == 0, res.stderr
    return base


def test_later_stages_publish_only_this_runs_tables(earlier_run):
    base = earlier_run
    res = _cli(
        "limits", "--scenario", "stcf-2gev", "--masses", "0.5", "--events", "3000", "--output", "OUT/limits", cwd=base
    )
    assert res.returncode == 0, res.stderr
    res = _cli("run", "--preset", "fast", "--scenario", "stcf-4gev", "--output", "OUT", "--workers", "2", cwd=base)
    assert res.returncode == 0, res.stderr
    published = " ".join(p.read_text() for p in (base / "OUT" / "hepdata" / "submission").glob("*.yaml"))
    assert "stcf-2gev" not in published and "stcf-2gev" not in (base / "OUT" / "report.md").read_text()
    assert not (base / "OUT" / "limits" / "stcf-2gev_limits.json").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_rerun_leaves_the_earlier_set(earlier_run, tmp_path, sig):
    """A rerun with another decay model, interrupted once its tables are being made: exit 130/143 and the earlier
    set byte for byte (the rerun had replaced most of it before)."""
    import shutil

    out = tmp_path / "OUT"
    shutil.copytree(earlier_run / "OUT", out, symlinks=True)
    before = _snapshot(out)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "run",
            "--preset",
            "fast",
            "--scenario",
            "stcf-4gev",
            "--decay-model",
            "helicity",
            "--output",
            str(out),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**ENV, "DIPOLE_PORTAL_CACHE": str(earlier_run / "cache")},
    )
    deadline = time.monotonic() + 300
    staging = None
    while staging is None:  # the staging folder holds tables: the run is past its limits
        assert proc.poll() is None and time.monotonic() < deadline, "finished before it could be interrupted"
        staging = next((p for p in tmp_path.glob(".dpp-OUT.*") if (p / "limits").is_dir()), None)
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 143), err
    assert _snapshot(out) == before
    assert not list(tmp_path.glob(".dpp-*"))


def test_cache_clear_removes_only_what_the_cache_made(tmp_path):
    from dipole_portal.core.cache import KINDS, Cache

    root = tmp_path / "shared"
    for k in ("samples", "limits"):
        (root / k).mkdir(parents=True)
        (root / k / "abc.json").write_text("{}")
    (root / "my_thesis").mkdir()
    (root / "my_thesis" / "chapter1.tex").write_text("precious")
    (root / "notes.txt").write_text("precious")
    assert Cache(root).clear() == 2
    assert sorted(p.name for p in root.iterdir()) == ["my_thesis", "notes.txt"]
    assert (root / "my_thesis" / "chapter1.tex").read_text() == "precious"
    with pytest.raises(InputError, match="cache kind"):
        Cache(root).clear("my_thesis")
    assert "figures" in KINDS and "hepdata" in KINDS


@pytest.mark.parametrize("output", ["C", "C/results"])
def test_run_refuses_an_output_folder_inside_the_cache(tmp_path, output):
    res = _cli("run", "--preset", "fast", "--scenario", "stcf-4gev", "--cache", "C", "--output", output, cwd=tmp_path)
    assert res.returncode == 2 and "inside the cache" in res.stderr
    assert not (tmp_path / "C" / "results").exists()


def test_yields_of_two_luminosities_are_not_one_curve(tmp_path):
    good = _yields(tmp_path, "exact")
    record = json.loads(good.read_text())
    record["mass_GeV"] = 1.5
    for ch in record["channels"]:
        ch["lumi_fb"] = 1.0
    other = tmp_path / "other.json"
    other.write_text(json.dumps(record))
    res = _cli("limits", "--yields", str(good), "--yields", str(other), "--output", "L", cwd=tmp_path)
    assert res.returncode == 2 and "different scenarios under one name" in res.stderr
    assert not (tmp_path / "L").exists()
