"""Property-based attacks on every file format the project reads: any value at any key of a real configuration,
yields file or sample's metadata, and any byte damage of a sample's ROOT file, is read correctly or refused in one
line (InputError, exit 2), never a traceback or a hang."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipole_portal.core.config import DEFAULT_SCENARIOS
from dipole_portal.core.errors import InputError

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(-1.0),
    st.just(0.0),
    st.just(1e308),
    st.just("abc"),
    st.just("../../escaped"),
    st.just([[]]),
)


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.yields_file import yields_record

    sc = get_scenario("stcf-4gev")
    y = yields_for(sc, 1.0, events=3000, cache=tmp_path_factory.mktemp("cache"))
    return json.loads(json.dumps(yields_record(y, sc)))


def _paths(obj, prefix=()):
    """Every key path of a JSON document (objects and arrays), the root excluded."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


def _mutated(doc, data):
    """A copy of ``doc`` with one key (drawn from all of them) set to a drawn value, or removed."""
    path = data.draw(st.sampled_from(sorted(set(_paths(doc)), key=str)))
    doc = copy.deepcopy(doc)
    target = doc
    for k in path[:-1]:
        target = target[k]
    if data.draw(st.booleans()):
        target[path[-1]] = data.draw(VALUES)
    elif isinstance(target, dict):
        del target[path[-1]]
    else:
        target.pop(path[-1])
    return doc


def _run(*argv: str) -> tuple[int, str]:
    from dipole_portal.analysis.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def _assert_one_line_refusal(code: int, err: str, where: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert where in lines[0] and "Traceback" not in err, err


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_at_any_key_is_read_or_refused(record, tmp_path_factory, data):
    from dipole_portal.selections.yields_file import read_yields
    from dipole_portal.stats.limits import compute_limit

    doc = _mutated(record, data)
    f = tmp_path_factory.mktemp("y") / "y.json"
    f.write_text(json.dumps(doc))
    try:
        y = read_yields(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        return
    assert y.mass > 0 and all(y.mass < c.sqrt_s for c in y.channels)
    try:
        r = compute_limit(y, "chi2")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert math.isfinite(r.d95) and r.d95 > 0


# -- limit tables ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limit_table(record, tmp_path_factory):
    from dipole_portal.selections.yields_file import yields_from_record
    from dipole_portal.stats.limits import compute_limit
    from dipole_portal.stats.outputs import write_limit_tables

    r = compute_limit(yields_from_record(record, "fixture"), "cls")
    folder = tmp_path_factory.mktemp("t")
    write_limit_tables(folder, "stcf-4gev", [r], "STCF")
    return json.loads((folder / "stcf-4gev_limits.json").read_text())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_limit_table_with_any_value_at_any_key_is_read_or_refused_by_every_reader(
    limit_table, tmp_path_factory, data
):
    """The report, the HEPData export and the figures read limit tables through one reader: a mutated table is
    read as limits that can be right (finite, positive, ordered bands) or refused in one line naming the file."""
    from dipole_portal.plotting.limit_figures import load_curves
    from dipole_portal.stats.limit_table import read_limit_table

    doc = _mutated(limit_table, data)
    folder = tmp_path_factory.mktemp("l")
    f = folder / "stcf-4gev_limits.json"
    f.write_text(json.dumps(doc))
    try:
        table = read_limit_table(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        with pytest.raises(InputError) as by_figures:
            load_curves(folder)
        assert str(by_figures.value) == str(exc)  # one gate: the figures refuse with the reader's own line
        return
    for row in table["limits"]:
        assert math.isfinite(row["d95"]) and row["d95"] > 0 and row["mass_GeV"] > 0
        bands = row.get("d95_cls_bands")
        assert bands is None or list(bands) == sorted(bands)
    (curve,) = load_curves(folder).values()
    assert len(curve.mass) == len(table["limits"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_model_study_with_any_value_at_any_key_is_read_or_refused(limit_table, tmp_path_factory, data):
    """The report's model study: read, and the verdict and model table made from it, or refused in one line."""
    from dipole_portal.analysis.report import _qualitative, model_table
    from dipole_portal.analysis.study_file import read_model_study
    from dipole_portal.analysis.verdict import compute_verdict
    from dipole_portal.core.constants import DEFAULT_CONSTANTS

    target = {"scenario": "stcf-4gev", "lo_GeV": 0.1, "hi_GeV": 3.0, "paper_d95": 2e-6, "statement": "s"}
    study = {
        "targets": [{**target, "derived": False}],
        "comparisons": [
            {"kind": k, "scenarios": ["stcf-4gev"] * 2, "lo_GeV": 0.1, "hi_GeV": 3.0, "statement": "s"}
            for k in ("better_everywhere", "ratio", "order_at_lowest_mass")
        ],
        "decay_model": "exact",
        "limits": limit_table["limits"],
        "preset": "fast",
        "seed": 1,
        "constants": DEFAULT_CONSTANTS.as_dict(),
    }
    f = tmp_path_factory.mktemp("m") / "model_study.json"
    f.write_text(json.dumps(_mutated(study, data)))
    try:
        read = read_model_study(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        return
    rows, _ = model_table(read)
    compute_verdict(read, {"stcf-4gev": read["limits"]})
    assert rows[0].startswith("| target")
    statements = _qualitative({"stcf-4gev": read["limits"]}, read["comparisons"])
    assert all(line.startswith("- ") and "nan" not in line for line in statements)


# -- configuration ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def configuration():
    raw = json.loads(DEFAULT_SCENARIOS.read_text())
    raw["scenarios"]["bes3"]["points_csv"] = str(DEFAULT_SCENARIOS.parent / "bes3_datasets.csv")
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_at_any_key_of_the_configuration_is_loaded_or_refused(configuration, tmp_path_factory, data):
    """The configuration schema and its consistency checks: what loads is usable (every scenario has energy points
    below which a mass exists, figures name known scenarios); the rest is one line naming the file."""
    from dipole_portal.plotting.presentation import load_configuration

    f = tmp_path_factory.mktemp("c") / "cfg.json"
    f.write_text(json.dumps(_mutated(configuration, data)))
    try:
        scenarios, presentation = load_configuration(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc), str(exc)
        return
    for sc in scenarios.values():
        assert sc.points and all(p.sqrt_s > 0 and p.lumi_fb > 0 and math.isfinite(p.lumi_fb) for p in sc.points)
    assert presentation.shown() <= set(scenarios)


# -- samples: metadata and bytes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small signal sample, its arrays and its metadata."""
    import uproot

    from dipole_portal.samples.generate import generate_to_root
    from dipole_portal.samples.generators import SignalSpec
    from dipole_portal.samples.kinematics import Beams

    p = generate_to_root(SignalSpec(Beams.symmetric_at(4.0), 1.0), tmp_path_factory.mktemp("s") / "s.root", 1, 2000)
    with uproot.open(p) as f:
        return p, f["events"].arrays(library="np"), json.loads(str(f["metadata"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_at_any_key_of_a_samples_metadata_is_used_or_refused(sample, tmp_path_factory, data):
    from dipole_portal.samples.rootio import write_events

    _, arrays, meta = sample
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "events_written")}
    path = tmp_path_factory.mktemp("m") / "s.root"
    write_events(path, iter([arrays]), _mutated(meta, data))
    code, err = _run("cutflow", "--input", str(path), "--scenario", "stcf-4gev", "--json")
    if code != 0:
        _assert_one_line_refusal(code, err, str(path))
        return
    # what the pipeline does beyond the cut-flow: reweight to another photon law and counting
    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.cuts import build_selection
    from dipole_portal.selections.process import process_sample

    sc = get_scenario("stcf-4gev")
    result = process_sample(path, "signal", build_selection(sc, sc.points[0]), decay_model="helicity", n_modes=1)
    assert all(math.isfinite(x) for x in result.histogram.values(flow=True).ravel())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pos=st.floats(0, 1, exclude_max=True),
    new=st.binary(min_size=1, max_size=8),
    how=st.sampled_from(["overwrite", "insert", "truncate"]),
)
def test_any_byte_damage_of_a_sample_is_read_or_refused(sample, tmp_path_factory, pos, new, how):
    """ROOT bytes damaged anywhere (header, streamers, baskets, metadata): a one-line refusal, or a cut-flow (a value
    changed inside an uncompressed basket is a different but valid sample: only the sample cache has checksums)."""
    raw = sample[0].read_bytes()
    i = int(pos * len(raw))
    damaged = {
        "overwrite": raw[:i] + new + raw[i + len(new) :],
        "insert": raw[:i] + new + raw[i:],
        "truncate": raw[:i],
    }[how]
    path = tmp_path_factory.mktemp("b") / "s.root"
    path.write_bytes(damaged)
    code, err = _run("cutflow", "--input", str(path), "--scenario", "stcf-4gev", "--json")
    if code != 0:
        _assert_one_line_refusal(code, err, str(path))


# -- the run's other records: studies beyond the paper, the manifest, the diagnostic histograms' record -------------


def _beyond_paper_doc():
    return {
        "rows": [
            {
                "scenario": "stcf-4gev",
                "mass_GeV": 1.0,
                "variant": "background normalisation 10%",
                "reference": "counting, no systematics",
                "reference_d95": 2.1e-6,
                "d95": 2.3e-6,
                "calculator": "asymptotic",
            }
        ]
    }


def _beyond_detector_doc():
    from dipole_portal.analysis.pipeline import DETECTOR_STEPS
    from dipole_portal.core.config import get_scenario

    params = get_scenario("stcf-4gev").detector.params
    steps = [{"name": n, "adds": a, **{k: str(v) for k, v in change.items()}} for n, a, change in DETECTOR_STEPS]
    row = {
        "scenario": "stcf-4gev",
        "mass_GeV": 0.01,
        "where": "lightest mass",
        "d95_paper": 3e-5,
        "calculator": None,
        "d95": {s["name"]: 2.5e-5 for s in steps},
        "decay_volume": dict(params["decay_volume"]),
        "calorimeter_resolution": params.get("calorimeter_resolution"),
    }
    return {"steps": steps, "rows": [row]}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(["beyond_paper", "beyond_detector"]))
def test_a_study_beyond_the_paper_with_any_value_at_any_key_is_reported_or_refused(tmp_path_factory, data, which):
    """The report's two studies beyond the paper: a mutated table is read and its report section written (every
    cell a number), or refused in one line naming the file."""
    from dipole_portal.analysis import report
    from dipole_portal.analysis.study_file import read_beyond_detector, read_beyond_paper

    doc = _beyond_paper_doc() if which == "beyond_paper" else _beyond_detector_doc()
    out = tmp_path_factory.mktemp("b")
    (out / "limits").mkdir()
    f = out / "limits" / f"{which}.json"
    f.write_text(json.dumps(_mutated(doc, data)))
    reader, section = (
        (read_beyond_paper, report._beyond)
        if which == "beyond_paper"
        else (read_beyond_detector, report._beyond_detector)
    )
    try:
        reader(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        with pytest.raises(InputError):
            section(out)
        return
    lines = section(out)
    assert all("nan" not in line.lower().split("|")[-2:] for line in lines)


def test_the_study_records_written_by_a_run_match_their_readers():
    """The seeds of the mutation tests above are what ``run`` writes: both pass their readers unchanged."""
    import tempfile
    from pathlib import Path

    from dipole_portal.analysis.study_file import read_beyond_detector, read_beyond_paper

    with tempfile.TemporaryDirectory() as d:
        for name, doc, reader in (
            ("p.json", _beyond_paper_doc(), read_beyond_paper),
            ("d.json", _beyond_detector_doc(), read_beyond_detector),
        ):
            (Path(d) / name).write_text(json.dumps(doc))
            assert reader(Path(d) / name) == doc
        broken = _beyond_detector_doc()
        del broken["rows"][0]["d95"]["majorana"]
        (Path(d) / "b.json").write_text(json.dumps(broken))
        with pytest.raises(InputError, match=r"b\.json: key rows/0/d95: no limit for step 'majorana'"):
            read_beyond_detector(Path(d) / "b.json")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_manifest_with_any_value_at_any_key_names_files_or_nothing(tmp_path_factory, data):
    """An earlier run's manifest decides what the next run removes: a mutated one gives its file list (strings)
    when it is a manifest, and removes nothing (no list) when it is not; it never stops the run."""
    from dipole_portal.analysis.manifest import MANIFEST, manifest_files, read_manifest

    doc = {
        "settings": {
            "preset": "fast",
            "seed": 1,
            "decay_model": "exact",
            "scenarios": ["stcf-4gev"],
            "detector_model": "paper",
        },
        "files": ["limits/stcf-4gev_limits.json", "report.md"],
    }
    folder = tmp_path_factory.mktemp("m")
    (folder / MANIFEST).write_text(json.dumps(_mutated(doc, data)))
    files = manifest_files(folder)
    try:
        read = read_manifest(folder / MANIFEST)
    except InputError as exc:
        assert files == [] and "\n" not in str(exc) and MANIFEST in str(exc)
        return
    assert files == read["files"] and all(isinstance(f, str) for f in files)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_diagnostic_record_with_any_value_at_any_key_is_read_or_refused(tmp_path_factory, data):
    """The diagnostic histograms' JSON record, which the plane figure reads: every number it uses is positive and
    finite, or the record is refused in one line naming the file."""
    from dipole_portal.selections.histograms import read_diagnostic_meta

    meta = {
        "scenario": "stcf-4gev",
        "label": "STCF",
        "sqrt_s_GeV": 4.0,
        "lumi_fb": 1000.0,
        "mass_GeV": 1.0,
        "d_ref_GeV_inv": 1e-5,
        "decay_model": "exact",
        "n_cc_modes": 2,
        "units": "pb per bin",
        "axes": {"E_gamma": "photon energy, CM frame [GeV]"},
        "events_per_bin": "sigma [pb] x 1000 x lumi_fb",
        "cutflow_signal": {"all": 1.0},
        "cutflow_nunugamma": {"all": 1.0},
    }
    f = tmp_path_factory.mktemp("h") / "stcf-4gev.json"
    f.write_text(json.dumps(_mutated({"meta": meta}, data)))
    try:
        read = read_diagnostic_meta(f)
    except InputError as exc:
        assert "\n" not in str(exc) and str(f) in str(exc)
        return
    for key in ("sqrt_s_GeV", "lumi_fb", "mass_GeV", "d_ref_GeV_inv"):
        assert math.isfinite(read[key]) and read[key] > 0
