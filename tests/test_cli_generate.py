"""Command line ``generate``: works, and bad input gives one line, exit code 2 and no file."""

from __future__ import annotations

import subprocess
import sys

import pytest
import uproot


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dipole_portal", *args], capture_output=True, text=True, cwd=cwd)


def test_generate_signal_belle2(tmp_path):
    out = tmp_path / "s.root"
    res = run(
        "generate",
        "--process",
        "signal",
        "--sqrt-s",
        "10.583",
        "--beams",
        "7,4",
        "--mass",
        "1",
        "--events",
        "5000",
        "--seed",
        "1",
        "--output",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    with uproot.open(out) as f:
        assert "photon_E" in f["events"].keys() and "photon_E_lab" not in f["events"].keys()
        assert f["events"].num_entries == 5000


def test_help_describes_options():
    res = run("generate", "--help")
    assert res.returncode == 0
    for word in ("--process", "--decay-model", "--beams", "--seed", "GeV"):
        assert word in res.stdout


BAD = [
    (["--process", "signal", "--sqrt-s", "4", "--mass", "4"], "mass"),
    (["--process", "signal", "--sqrt-s", "4", "--mass", "5"], "mass"),
    (["--process", "signal", "--sqrt-s", "-4", "--mass", "1"], "sqrt-s"),
    (["--process", "signal", "--sqrt-s", "nan", "--mass", "1"], "sqrt-s"),
    (["--process", "signal", "--sqrt-s", "4", "--mass", "1", "--decay-model", "up"], "--decay-model"),
    (["--process", "bhabha", "--sqrt-s", "4", "--mass", "1"], "process"),
    (["--process", "signal", "--sqrt-s", "4", "--mass", "1", "--beams", "7,4"], "beams"),
    (["--process", "nunugamma", "--sqrt-s", "4", "--region", "0.1,3,-0.5,0.5"], "region"),
]


@pytest.mark.parametrize(("args", "word"), BAD)
def test_bad_input_one_line_exit_2(tmp_path, args, word):
    out = tmp_path / "x.root"
    res = run("generate", *args, "--events", "10", "--seed", "1", "--output", str(out))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and word in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("events", ["0", "-5"])
def test_bad_event_count(tmp_path, events):
    res = run(
        "generate",
        "--process",
        "signal",
        "--sqrt-s",
        "4",
        "--mass",
        "1",
        "--events",
        events,
        "--seed",
        "1",
        "--output",
        str(tmp_path / "x.root"),
    )
    assert res.returncode == 2 and "events" in res.stderr


def test_unwritable_path(tmp_path):
    res = run(
        "generate",
        "--process",
        "signal",
        "--sqrt-s",
        "4",
        "--mass",
        "1",
        "--events",
        "10",
        "--seed",
        "1",
        "--output",
        str(tmp_path / "missing" / "x.root"),
    )
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_generate_shares_the_defaults_of_every_command(tmp_path):
    """--events and --seed default to 100000 and 1 as on every other command; --beams adds no lab-frame branch
    (its help says the boost goes into the metadata)."""
    from dipole_portal.core.options import DEFAULT_EVENTS, DEFAULT_SEED
    from dipole_portal.samples.rootio import read_metadata

    out = tmp_path / "s.root"
    res = run(
        "generate", "--process", "signal", "--sqrt-s", "10.583", "--beams", "7,4", "--mass", "1", "--output", str(out)
    )
    assert res.returncode == 0, res.stderr
    meta = read_metadata(out)
    assert (meta["events"], meta["seed"]) == (DEFAULT_EVENTS, DEFAULT_SEED)
    with uproot.open(out) as f:
        assert not [b for b in f["events"].keys() if "lab" in b]
    text = " ".join(run("generate", "--help").stdout.split())
    assert "lab-frame branches are added" not in text and "metadata" in text
    assert f"default: {DEFAULT_EVENTS}" in text and f"default: {DEFAULT_SEED}" in text
