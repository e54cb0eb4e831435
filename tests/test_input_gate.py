"""One gate for every file read: what is not a regular file is refused in one line (never a hang), JSON is bounded
in nesting and free of NaN; a cache entry that is not a regular file is recomputed, not read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dipole_portal.core.errors import InputError
from dipole_portal.core.readers import MAX_JSON_DEPTH, check_regular, loads_json, read_bytes, read_json

TIMEOUT_S = 60  # a reader that blocks on a FIFO would hang here: the test fails on the timeout instead


def _not_regular(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link_to_fifo"
    link.symlink_to(fifo)
    return {"fifo": fifo, "folder": folder, "device": Path("/dev/zero"), "link to a FIFO": link}


def test_the_gate_refuses_what_is_not_a_regular_file(tmp_path):
    for kind, path in _not_regular(tmp_path).items():
        for reader in (
            lambda p: read_bytes(p, "yields"),
            lambda p: check_regular(p, "yields"),
            lambda p: read_json(p, "yields"),
        ):
            with pytest.raises(InputError, match="not a regular file|cannot read") as exc:
                reader(path)
            assert str(path) in str(exc.value) and "\n" not in str(exc.value), kind
    with pytest.raises(InputError, match="no such file"):
        read_bytes(tmp_path / "absent.json", "yields")
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 100 + "0]")
    with pytest.raises(InputError, match="more than the 10 a yields"):
        read_bytes(big, "yields", max_bytes=10)


@pytest.mark.parametrize(
    "text",
    [
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        "[" * 100_000,
        '{"a": NaN}',
        '{"a": [Infinity]}',
        '{"a": -Infinity}',
        "\udcff",
        "{",
        "",
    ],
)
def test_json_that_no_format_here_has_is_refused_in_one_line(text):
    with pytest.raises(InputError) as exc:
        loads_json(text.encode("utf-8", "surrogateescape"), "f.json", "yields")
    assert str(exc.value).startswith("f.json: ") and "\n" not in str(exc.value)


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert loads_json('{"a": "' + "[" * 1000 + '"}', "f", "yields") == {"a": "[" * 1000}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dipole_portal", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=TIMEOUT_S,
        env={**os.environ, "DIPOLE_PORTAL_PROGRESS": "0", "DIPOLE_PORTAL_CACHE": str(cwd / "cache")},
    )


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "link to a FIFO"])
def test_commands_refuse_inputs_that_are_not_files(tmp_path, kind):
    """--yields, --scenarios, a configuration's points_csv and a sample given to cutflow: exit 2, one line."""
    path = _not_regular(tmp_path)[kind]
    config = json.loads((Path(__file__).parents[1] / "src/dipole_portal/core/data/scenarios.json").read_text())
    config["scenarios"]["bes3"]["points_csv"] = str(path)
    (tmp_path / "points.json").write_text(json.dumps(config))
    cases = [
        ("limit", "--yields", str(path)),
        ("limits", "--yields", str(path), "--output", "o"),
        ("yields", "--scenario", "stcf-4gev", "--mass", "1", "--scenarios", str(path)),
        ("yields", "--scenario", "bes3", "--mass", "1", "--scenarios", "points.json"),
        ("cutflow", "--input", str(path), "--scenario", "stcf-4gev", "--output", "c.root"),
    ]
    for args in cases:
        res = _cli(*args, cwd=tmp_path)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, res.stderr)
        assert str(path) in lines[0] or path.name in lines[0], (args, lines)
    assert not (tmp_path / "o").exists() and not (tmp_path / "c.root").exists()


@pytest.mark.parametrize("target", ["record", "data"])
def test_a_cache_entry_that_is_not_a_file_is_recomputed(tmp_path, target):
    """A FIFO planted as a sample's record (its checksum sidecar) or as its ROOT file: warned about, removed and
    made again; the result is the one a clean cache gives."""
    from dipole_portal.analysis.tasks import LimitTask, run_task
    from dipole_portal.core.config import get_scenario

    task = LimitTask(get_scenario("stcf-2gev"), 1.0, events=3000, cache=str(tmp_path / "c"))
    clean = run_task(task).limit
    samples = tmp_path / "c" / "samples"
    victim = sorted(samples.glob("*.json" if target == "record" else "*.root"))[0]
    victim.unlink()
    os.mkfifo(victim)
    for kind in ("limits", "yields", "selected"):  # recomputed, so the samples are read again
        for entry in (tmp_path / "c" / kind).iterdir():
            entry.unlink()
    again = run_task(task).limit
    assert again.d95 == clean.d95 and victim.is_file()


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("color", "notacolour"),
        ("color", ""),
        ("linestyle", "wiggly"),
        ("title", "bad $\\frac{$"),
        ("title", "one $ sign"),
        ("label", "50 ab$^{-1$"),
    ],
)
def test_presentation_strings_are_checked_before_anything_is_computed(tmp_path, where, value):
    config = json.loads((Path(__file__).parents[1] / "src/dipole_portal/core/data/scenarios.json").read_text())
    fig = config["figures"]["fig1_belle2"]
    first = next(iter(fig["curves"]))
    if where == "title":
        fig["title"] = value
    elif where == "label":
        config["scenarios"][first]["label"] = value
    else:
        fig["curves"][first][where] = value
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    data = Path(__file__).parents[1] / "src/dipole_portal/core/data/bes3_datasets.csv"
    (tmp_path / "bes3_datasets.csv").write_bytes(data.read_bytes())
    res = _cli("run", "--preset", "fast", "--scenarios", "cfg.json", "--output", "out", cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and lines[-1].startswith("error: ") and repr(value) in lines[-1], res.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()  # nothing computed
