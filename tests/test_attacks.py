"""Attacks by class (issue 13): each class is handled by one mechanism, tried here on more cases than were reported.

Every refused input ends with exit code 2 and one line ``error: ...`` that names the file, key or value; nothing is
half-written, nothing is silently used.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import uproot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipole_portal.analysis import tasks
from dipole_portal.analysis.cli import main
from dipole_portal.core.atomic import remove_stale_temporaries, write_text_atomic
from dipole_portal.core.config import DEFAULT_SCENARIOS, get_scenario
from dipole_portal.core.errors import InputError
from dipole_portal.plotting.presentation import load_configuration
from dipole_portal.samples.generate import generate_to_root
from dipole_portal.samples.generators import SignalSpec
from dipole_portal.samples.kinematics import Beams
from dipole_portal.samples.rootio import write_events


def run_main(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def assert_refused(code: int, err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])


# -- 1. outputs that are not regular files ------------------------------------------------------------------------


def _special_paths(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    (tmp_path / "dir").mkdir()
    target = tmp_path / "target.txt"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "devlink").symlink_to("/dev/null")
    return {
        "device": Path("/dev/null"),
        "fifo": fifo,
        "socket": sock_path,
        "directory": tmp_path / "dir",
        "symbolic link": tmp_path / "link",
        "link to a device": tmp_path / "devlink",
    }


def test_outputs_that_are_not_regular_files_are_refused_and_untouched(tmp_path):
    paths = _special_paths(tmp_path)
    for kind, path in paths.items():
        before = os.lstat(path)
        code, err = run_main(
            "generate",
            "--process",
            "nunugamma",
            "--sqrt-s",
            "4",
            "--events",
            "1000",
            "--seed",
            "1",
            "--output",
            str(path),
        )
        assert_refused(code, err, str(path))
        after = os.lstat(path)
        assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino), kind
        with pytest.raises(InputError, match="expected a regular file or a new file name"):
            write_text_atomic(path, "x")
    assert (tmp_path / "target.txt").read_text() == "keep"
    assert not list(tmp_path.glob(".dpp-*"))


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_outputs_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        p = write_text_atomic(tmp_path / "report.md", "x")
        code, _ = run_main(
            "limits",
            "--scenario",
            "stcf-4gev",
            "--masses",
            "1",
            "--events",
            "3000",
            "--method",
            "chi2",
            "--workers",
            "1",
            "--cache",
            str(tmp_path / "c"),
            "--output",
            str(tmp_path / "o"),
        )
    finally:
        os.umask(old)
    assert code == 0
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    outputs = [q for q in (tmp_path / "o").rglob("*")]
    assert outputs and all(stat.S_IMODE(q.stat().st_mode) == (0o777 if q.is_dir() else 0o666) & ~umask for q in outputs)


# -- 2, 3, 14. damaged cache entries: byte flips at many offsets --------------------------------------------------


@pytest.fixture(scope="module")
def reference_limit(tmp_path_factory):
    cache = tmp_path_factory.mktemp("ref")
    task = tasks.LimitTask(get_scenario("stcf-4gev"), 0.5356, events=4000, cache=str(cache))
    return task, tasks.run_task(task)


def _flip(path: Path, frac: float) -> None:
    raw = bytearray(path.read_bytes())
    raw[min(int(frac * len(raw)), len(raw) - 1)] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("kind", ["samples", "limits", "yields", "selected"])
@pytest.mark.parametrize("frac", [0.0, 0.01, 0.1, 0.33, 0.5, 0.77, 0.95, 0.999])
def test_byte_flips_in_cache_entries_recompute_identically(tmp_path, reference_limit, kind, frac):
    task0, ref = reference_limit
    task = tasks.LimitTask(task0.scenario, task0.mass, events=task0.events, cache=str(tmp_path))
    tasks.run_task(task)
    ext = "root" if kind == "samples" else "json"
    for p in sorted((tmp_path / kind).glob(f"*.{ext}")):
        _flip(p, frac)
    order = ["samples", "selected", "yields", "limits"]
    for above in order[order.index(kind) + 1 :]:
        for p in (tmp_path / above).glob("*.json"):
            p.unlink()
    again = tasks.run_task(task)
    assert again.limit == ref.limit


def test_a_tampered_limit_entry_never_reaches_the_tables(tmp_path, reference_limit):
    task0, ref = reference_limit
    task = tasks.LimitTask(task0.scenario, task0.mass, events=task0.events, cache=str(tmp_path))
    tasks.run_task(task)
    path = task.entry().json_path
    record = json.loads(path.read_text())
    record["content"]["result"]["d95_cls"] = 1.234e-9  # a plausible-looking number, checksum left as it was
    path.write_text(json.dumps(record))
    assert tasks.load_cached(task) is None
    assert tasks.run_task(task).limit == ref.limit


# -- 4, 6, 11. configurations --------------------------------------------------------------------------------------


def _config(tmp_path: Path, mutate) -> Path:
    raw = json.loads(DEFAULT_SCENARIOS.read_text())
    raw["scenarios"]["bes3"]["points_csv"] = str(DEFAULT_SCENARIOS.parent / "bes3_datasets.csv")
    text = mutate(raw)
    path = tmp_path / "cfg.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text if isinstance(text, str) else json.dumps(raw))
    return path


def _rename(raw, new):
    raw["scenarios"][new] = raw["scenarios"].pop("stcf-2gev")
    raw["figures"]["fig2_bes3_stcf"]["curves"].pop("stcf-2gev")


BAD_CONFIGS = {
    "parent traversal": (lambda r: _rename(r, "../../x"), "scenario name"),
    "absolute path": (lambda r: _rename(r, "/abs/path/x"), "scenario name"),
    "hidden": (lambda r: _rename(r, ".x"), "scenario name"),
    "space": (lambda r: _rename(r, "a b"), "scenario name"),
    "empty": (lambda r: _rename(r, ""), "scenario name"),
    "duplicate scenario": (lambda r: json.dumps(r).replace('"stcf-7gev": {', '"stcf-4gev": {'), "twice"),
    "duplicate energy": (
        lambda r: r["scenarios"]["stcf-2gev"]["points"].append({"sqrt_s_GeV": 2.0, "lumi_fb": 1.0}),
        "given twice",
    ),
    "advanced without barrel": (lambda r: r["detectors"]["stcf"].pop("barrel"), "barrel"),
    "advanced without cos_theta_b": (lambda r: r["detectors"]["stcf"].pop("cos_theta_b"), "cos_theta_b"),
    "veto without gaps": (
        lambda r: (
            r["detectors"]["belle2"].update(veto_ecl_gaps=True),
            r["detectors"]["belle2"].pop("ecl_gaps_lab_deg"),
        ),
        "ecl_gaps_lab_deg",
    ),
    "extra top-level key": (lambda r: r.update(scenarioz={}), "scenarioz"),
    "deep nesting": (lambda r: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "deep but parseable": (lambda r: json.dumps({**r, "x": json.loads("[" * 900 + "]" * 900)}), "cfg.json"),
    "not UTF-8": (lambda r: b"\xff\xfe{}", "UTF-8"),
    "figure of an unknown scenario": (
        lambda r: r["figures"]["fig1_belle2"]["curves"].update(lep={"color": "k"}),
        "lep",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configurations(tmp_path, case):
    mutate, word = BAD_CONFIGS[case]
    path = _config(tmp_path, mutate)
    with pytest.raises(InputError, match=None) as exc:
        load_configuration(path)
    assert word in str(exc.value) and "\n" not in str(exc.value)
    code, err = run_main("run", "--scenarios", str(path), "--output", str(tmp_path / "out"), "--no-figures")
    assert_refused(code, err)
    assert not (tmp_path / "out").exists()


def test_foreign_points_csv_is_not_echoed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:password-hash\n")
    path = _config(tmp_path, lambda r: r["scenarios"]["bes3"].update(points_csv=str(secret)))
    with pytest.raises(InputError) as exc:
        load_configuration(path)
    assert "password" not in str(exc.value) and "secret.txt" in str(exc.value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, 10**6), new=st.binary(min_size=1, max_size=4), drop=st.booleans())
def test_any_byte_damage_of_the_configuration_is_refused_cleanly(tmp_path, pos, new, drop):
    """Arbitrary byte damage: the loader returns scenarios or raises InputError, never anything else."""
    raw = DEFAULT_SCENARIOS.read_bytes().replace(
        b'"bes3_datasets.csv"', json.dumps(str(DEFAULT_SCENARIOS.parent / "bes3_datasets.csv")).encode()
    )
    i = pos % len(raw)
    damaged = raw[:i] + (b"" if drop else new) + raw[i + len(new) :]
    path = tmp_path / "damaged.json"
    path.write_bytes(damaged)
    try:
        scenarios, _ = load_configuration(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert all(sc.points for sc in scenarios.values())


# -- 7. bad values inside sample files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_arrays(tmp_path_factory):
    p = generate_to_root(SignalSpec(Beams.symmetric_at(4.0), 1.0), tmp_path_factory.mktemp("g") / "s.root", 1, 3000)
    with uproot.open(p) as f:
        return f["events"].arrays(library="np"), json.loads(str(f["metadata"]))


def _sample(tmp_path, good_arrays, branch=None, index=0, value=None, meta_change=None, raw_meta=None) -> Path:
    arrays, meta = (dict(good_arrays[0]), dict(good_arrays[1]))
    if branch:
        arrays[branch] = arrays[branch].copy()
        arrays[branch][index] = value
    for k in ("format", "format_version", "events_written"):
        meta.pop(k)
    if meta_change:
        meta_change(meta)
    path = tmp_path / "bad.root"
    write_events(path, iter([arrays]), meta)
    if raw_meta is not None:  # replace the metadata record by arbitrary JSON text
        with uproot.open(path) as f:
            data = f["events"].arrays(library="np")
        with uproot.recreate(path) as g:
            g["metadata"] = raw_meta
            t = g.mktree("events", {k: v.dtype for k, v in data.items()})
            t.extend(data)
    return path


@pytest.mark.parametrize(
    ("branch", "index", "value"),
    [
        ("weight", 17, np.nan),
        ("weight", 2999, np.inf),
        ("weight", 0, -1e-3),
        ("weight", 3, 1e308),
        ("weight", 4, 2e100),
        ("photon_E", 5, np.inf),
        ("photon_E", 6, -1.0),
        ("photon_px", 7, np.nan),
        ("photon_pz", 2998, -np.inf),
    ],
)
def test_bad_values_in_a_sample(tmp_path, good_arrays, branch, index, value):
    path = _sample(tmp_path, good_arrays, branch, index, value)
    code, err = run_main("cutflow", "--input", str(path), "--scenario", "stcf-4gev", "--json")
    assert_refused(code, err, str(path), branch, f"entry {index}")


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (lambda m: m.update(process="bhabha"), "process"),
        (lambda m: m.pop("sqrt_s_GeV"), "sqrt_s_GeV"),
        (lambda m: m.update(sqrt_s_GeV="4"), "sqrt_s_GeV"),
        (lambda m: m.update(sqrt_s_GeV=-4.0), "sqrt_s_GeV"),
        (lambda m: m.update(mass_GeV=None), "mass_GeV"),
        (lambda m: m.update(mass_GeV=7.0), "mass_GeV"),  # heavier than sqrt(s) = 4 GeV
        (lambda m: m.update(mass_GeV=4.0), "mass_GeV"),
    ],
)
def test_bad_metadata_fields(tmp_path, good_arrays, change, word):
    path = _sample(tmp_path, good_arrays, meta_change=change)
    code, err = run_main("cutflow", "--input", str(path), "--scenario", "stcf-4gev")
    assert_refused(code, err, str(path), word)


@pytest.mark.parametrize("text", ["[1, 2]", '"x"', "{", "null", "[" * 5000])
def test_metadata_that_is_not_an_object(tmp_path, good_arrays, text):
    path = _sample(tmp_path, good_arrays, raw_meta=text)
    code, err = run_main("cutflow", "--input", str(path), "--scenario", "stcf-4gev")
    assert_refused(code, err, str(path), "metadata")


# -- 8, 10, 12. statistics and options -----------------------------------------------------------------------------

BAD_OPTIONS = [
    (
        ["limit", "--scenario", "bes3", "--mass", "1", "--method", "cls", "--bkg-syst", "0.5", "--events", "2000"],
        "systematic",
    ),
    (
        [
            "limit",
            "--scenario",
            "bes3",
            "--mass",
            "1",
            "--calculator",
            "toys",
            "--lumi-syst",
            "0.1",
            "--events",
            "2000",
        ],
        "systematic",
    ),
    (["limit", "--scenario", "stcf-4gev", "--mass", "3.9999999999", "--events", "2000"], "no coupling"),
    # one signal event, which with seed 5 fails the cuts: zero efficiency
    (
        ["limit", "--scenario", "stcf-4gev", "--mass", "1", "--events", "1", "--method", "chi2", "--seed", "5"],
        "no coupling",
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
            "1e300",
            "--events",
            "10",
            "--seed",
            "1",
            "--output",
            "{tmp}/x.root",
        ],
        "d_ref",
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
            "--region",
            "0.1,1,-0.5,0.5",
            "--events",
            "10",
            "--seed",
            "1",
            "--output",
            "{tmp}/x.root",
        ],
        "--region",
    ),
    (
        [
            "generate",
            "--process",
            "nunugamma",
            "--sqrt-s",
            "4",
            "--mass",
            "1",
            "--events",
            "10",
            "--seed",
            "1",
            "--output",
            "{tmp}/x.root",
        ],
        "--mass",
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
            "--events",
            "1e20",
            "--seed",
            "1",
            "--output",
            "{tmp}/x.root",
        ],
        "--events",
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
            "--events",
            "100000000000",
            "--seed",
            "1",
            "--output",
            "{tmp}/x.root",
        ],
        "--events",
    ),
    (["limits", "--scenario", "stcf-4gev", "--n-masses", "0", "--output", "{tmp}/o"], "--n-masses"),
    (["limits", "--scenario", "stcf-4gev", "--n-masses", "-1", "--output", "{tmp}/o"], "--n-masses"),
    (["limits", "--scenario", "stcf-4gev", "--n-masses", "10000000", "--output", "{tmp}/o"], "--n-masses"),
    (["limits", "--scenario", "stcf-4gev", "--m-min", "0", "--output", "{tmp}/o"], "--m-min"),
    (["limits", "--scenario", "stcf-4gev", "--seed", "-3", "--output", "{tmp}/o"], "--seed"),
    (["run", "--seed", "-1", "--output", "{tmp}/o"], "--seed"),
    (["run", "--workers", "100000", "--output", "{tmp}/o"], "--workers"),
    (["run", "--scheduler", "not a url", "--scenario", "stcf-4gev", "--output", "{tmp}/o"], "--scheduler"),
    (["run", "--output", "/proc/forbidden/out"], "--output"),
    (["run", "--output", "{tmp}/afile/out"], "--output"),
    (["select", "--scenario", "stcf-2gev", "--mass", "2.5", "--output", "{tmp}/sel"], "mass"),
    *[
        (["run", "--hepdata-ins", ins, "--output", "{tmp}/o"], "--hepdata-ins")  # pyhf's schema: ^ins[0-9]{7}$
        for ins in (
            "ins\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077",
            "ins\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
            "INS1234567",
            "ins123456",
            "ins12345678",
            " ins1234567",
            "ins1234567\n",
        )
    ],
]


@pytest.mark.parametrize(("argv", "word"), BAD_OPTIONS, ids=[" ".join(a[:3]) + f" {w}" for a, w in BAD_OPTIONS])
def test_bad_options(tmp_path, argv, word):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    (tmp_path / "afile").write_text("a regular file, not a folder")
    if argv[0] in ("limit", "limits", "select"):
        argv += ["--cache", str(tmp_path / "c")]
    code, err = run_main(*argv)
    assert_refused(code, err, word)
    assert not (tmp_path / "o").exists() and not (tmp_path / "sel").exists() and not (tmp_path / "x.root").exists()


# -- 5, 9. output sets that stay consistent -----------------------------------------------------------------------


def test_a_smaller_rerun_replaces_the_patch_set(tmp_path):
    base = [
        "limits",
        "--scenario",
        "stcf-4gev",
        "--events",
        "3000",
        "--workers",
        "1",
        "--method",
        "chi2",
        "--cache",
        str(tmp_path / "c"),
        "--output",
        str(tmp_path / "o"),
    ]
    assert run_main(*base, "--masses", "0.5,1,2", "--hepdata-ins", "ins0000000")[0] == 0
    assert run_main(*base, "--masses", "1", "--hepdata-ins", "ins0000000")[0] == 0
    patches = sorted(p.name for p in (tmp_path / "o" / "stcf-4gev_patches").iterdir())
    table = (tmp_path / "o" / "stcf-4gev_limits.csv").read_text().splitlines()
    assert patches == ["mN_1GeV.json"] and len(table) == 2
    assert json.loads((tmp_path / "o" / "stcf-4gev_patchset.json").read_text())["patches"][0]["metadata"]["values"] == [
        1.0
    ]
    assert run_main(*base, "--masses", "1")[0] == 0  # without an INSPIRE id no patchset, and no stale one
    assert not (tmp_path / "o" / "stcf-4gev_patchset.json").exists()


# -- 13. signals ---------------------------------------------------------------------------------------------------


def test_sigterm_leaves_no_temporary(tmp_path):
    final = tmp_path / "big.root"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "generate",
            "--process",
            "signal",
            "--sqrt-s",
            "4",
            "--mass",
            "1",
            "--events",
            "30000000",
            "--seed",
            "1",
            "--output",
            str(final),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".dpp-big.root.") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("error: terminated")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    old = tmp_path / "a" / ".dpp-x.root.abc.tmp"
    old.parent.mkdir()
    old.write_text("half")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    live = tmp_path / ".dpp-y.json.def.tmp"
    live.write_text("being written")
    foreign = tmp_path / ".other.tmp"
    foreign.write_text("not ours")
    os.utime(foreign, (time.time() - 3 * 86400,) * 2)
    assert remove_stale_temporaries(tmp_path) == 1
    assert not old.exists() and live.exists() and foreign.exists()


def test_a_rerun_with_other_choices_leaves_one_consistent_set(tmp_path):
    """Another scenario and decay model into the same folder: only the new run's files remain, and the manifest
    records the choices they were computed with."""
    out, cache = tmp_path / "o", tmp_path / "c"
    common = ["run", "--preset", "fast", "--output", str(out), "--cache", str(cache), "--workers", "1"]
    assert run_main(*common, "--scenario", "stcf-2gev")[0] == 0
    assert (out / "figures" / "diag_plane_stcf-2gev.png").exists()
    code, err = run_main(*common, "--scenario", "stcf-7gev", "--decay-model", "backward", "--no-figures")
    assert code == 0, err
    assert sorted(p.name for p in (out / "limits").iterdir()) == [
        "model_study.json",
        "stcf-7gev_limits.csv",
        "stcf-7gev_limits.json",
    ]
    assert not (out / "figures" / "diag_plane_stcf-2gev.png").exists() and not (out / "report.md").exists()
    assert not list((out / "workspaces").glob("stcf-2gev*"))
    from dipole_portal.analysis.manifest import read_manifest

    manifest = read_manifest(out / "manifest.json")
    assert manifest["settings"]["decay_model"] == "backward" and manifest["settings"]["scenarios"] == ["stcf-7gev"]
    assert all((out / f).exists() for f in manifest["files"])
    hep = (out / "hepdata" / "submission").iterdir()
    assert not any("stcf-2gev" in p.read_text() for p in hep if p.suffix == ".yaml")


def test_ctrl_c_to_the_process_group_stops_everything_cleanly(tmp_path):
    """Ctrl-C reaches the main process and its workers (the terminal signals the whole group): exit 130, one
    message and no worker traceback, no process of the run left behind, and no partial table."""
    out = tmp_path / "o"
    cmd = [
        sys.executable,
        "-m",
        "dipole_portal",
        "limits",
        "--scenario",
        "stcf-4gev",
        "--n-masses",
        "12",
        "--events",
        "20000",
        "--workers",
        "2",
        "--cache",
        str(tmp_path / "c"),
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "c" / "limits").glob("*.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: interrupted")
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # the whole group is gone: no orphan workers
        for _ in range(50):
            os.killpg(proc.pid, 0)
            time.sleep(0.1)
    assert not (out / "stcf-4gev_limits.csv").exists()


EXTREME_VALUES = {
    "luminosity 1e-300 fb^-1": (lambda r: r["scenarios"]["stcf-4gev"]["points"][0].update(lumi_fb=1e-300)),
    "luminosity 1e308 fb^-1": (lambda r: r["scenarios"]["stcf-4gev"]["points"][0].update(lumi_fb=1e308)),
    "luminosity 5e-324 fb^-1 (subnormal)": (lambda r: r["scenarios"]["stcf-4gev"]["points"][0].update(lumi_fb=5e-324)),
    "decay length 1e-300 m": (lambda r: r["detectors"]["stcf"].update(length_m=1e-300)),
    "decay length 1e300 m": (lambda r: r["detectors"]["stcf"].update(length_m=1e300)),
    "efficiency 1e-300": (lambda r: r["detectors"]["stcf"].update(eps_det=1e-300)),
    "no acceptance": (
        lambda r: r["detectors"]["stcf"].update(
            barrel={"cos_max": 0.8, "E_min_GeV": 1e3}, endcap={"cos_min": 0.86, "cos_max": 0.92, "E_min_GeV": 1e3}
        )
    ),
}


@pytest.mark.parametrize("method", ["chi2", "cls"])
@pytest.mark.parametrize("case", sorted(EXTREME_VALUES))
def test_extreme_scenario_values_give_a_finite_limit_or_one_line(tmp_path, case, method):
    """Luminosities, decay lengths and efficiencies at the edges of floating point: the limit command either
    prints a finite, self-consistent limit (exit 0) or refuses with one sentence (exit 2), never a traceback."""
    path = _config(tmp_path, EXTREME_VALUES[case])
    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(
            [
                "limit",
                "--scenarios",
                str(path),
                "--scenario",
                "stcf-4gev",
                "--mass",
                "1",
                "--events",
                "3000",
                "--method",
                method,
                "--json",
                "--cache",
                str(tmp_path / "c"),
            ]
        )
    if code == 0:
        rec = json.loads(out.getvalue())
        assert 0 < rec["d95"] < 1e3 and np.isfinite(rec["d95_chi2"]), rec
    else:
        assert_refused(code, err.getvalue(), "stcf-4gev")


@pytest.mark.parametrize("damage", ["truncate root", "delete uhi", "flip cache entry", "empty metadata"])
def test_diagnostic_histograms_heal_on_rerun(tmp_path, damage):
    """A truncated histograms/X.root, a missing _uhi.json, an empty sidecar or a damaged cache entry: the next
    write is identical to an undamaged one (the files are always rewritten from a verified cache entry)."""
    from dipole_portal.analysis.pipeline import write_diagnostic_histograms
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.options import DecayModel

    sc, cache, out = get_scenario("stcf-4gev"), Cache(tmp_path / "c"), tmp_path / "h"
    paths = write_diagnostic_histograms(sc, 3000, 1, DecayModel.EXACT, cache, out)
    good = {p.name: p.read_bytes() for p in paths if p.suffix != ".root"}
    good_root = uproot.open(paths[0])[uproot.open(paths[0]).keys()[0]].values()
    if damage == "truncate root":
        paths[0].write_bytes(paths[0].read_bytes()[:500])
    elif damage == "delete uhi":
        paths[1].unlink()
    elif damage == "empty metadata":
        paths[2].write_text("")
    else:
        for p in (tmp_path / "c" / "histograms").glob("*.json"):
            _flip(p, 0.5)
    again = write_diagnostic_histograms(sc, 3000, 1, DecayModel.EXACT, cache, out)
    assert {p.name: p.read_bytes() for p in again if p.suffix != ".root"} == good
    with uproot.open(again[0]) as f:
        assert np.array_equal(f[f.keys()[0]].values(), good_root)


@pytest.mark.parametrize("value", ["0", "", ".", "missing.csv", "/dev/null", "scenarios.json"])
def test_a_bad_points_csv_is_named_with_its_configuration_and_key(tmp_path, value):
    """Whatever the data-set table is (absent, a folder, empty, not a table), the one-line error starts with the
    configuration file and names the key that pointed there (hypothesis found the bare table path first)."""
    path = _config(tmp_path, lambda r: r["scenarios"]["bes3"].update(points_csv=value))
    with pytest.raises(InputError) as exc:
        load_configuration(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "bes3/points_csv" in msg and "\n" not in msg


def test_a_background_file_relabelled_as_signal_is_refused(tmp_path):
    """No N branches: it cannot be a signal sample, whatever its metadata says."""
    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import NuNuGammaSpec
    from dipole_portal.samples.kinematics import PhaseSpaceRegion

    region = PhaseSpaceRegion(E_min=0.1, E_max=1.9, cos_min=-0.9, cos_max=0.9)
    p = generate_to_root(NuNuGammaSpec(Beams.symmetric_at(4.0), region), tmp_path / "b.root", 1, 2000)
    with uproot.open(p) as f:
        arrays = f["events"].arrays(library="np")
        meta = json.loads(str(f["metadata"]))
    for k in ("format", "format_version", "events_written"):
        meta.pop(k)
    meta.update(process="signal", mass_GeV=1.0, d_ref_GeV_inv=1e-5, decay_model="exact", n_cc_modes=2, xsec_pb=1e-4)
    write_events(tmp_path / "fake.root", iter([arrays]), meta)
    code, err = run_main("cutflow", "--input", str(tmp_path / "fake.root"), "--scenario", "stcf-4gev")
    assert_refused(code, err, str(tmp_path / "fake.root"), "N_px")


def test_a_jagged_branch_is_refused(tmp_path, good_arrays):
    import awkward as ak

    arrays, meta = dict(good_arrays[0]), dict(good_arrays[1])
    for k in ("format", "format_version", "events_written"):
        meta.pop(k)
    n = len(arrays["photon_E"])
    path = tmp_path / "jagged.root"
    with uproot.recreate(path) as f:
        data = {k: v for k, v in arrays.items() if k != "photon_E"}
        data["photon_E"] = ak.Array([[e, e] for e in arrays["photon_E"][:n]])
        f.mktree("events", {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()})
        f["events"].extend(data)
        f["metadata"] = json.dumps({**meta, "format": "dipole-portal-events", "format_version": 1, "events_written": n})
    code, err = run_main("cutflow", "--input", str(path), "--scenario", "stcf-4gev")
    assert code == 2 and "photon_E" in err and "Traceback" not in err, err
