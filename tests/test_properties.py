"""Property-based tests (hypothesis): no configuration and no command line produces a traceback.

Every input either works or is refused with an ``InputError`` (one line, exit code 2 at the command line).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipole_portal.analysis.cli import main
from dipole_portal.core.config import DEFAULT_SCENARIOS, parse_scenarios
from dipole_portal.core.errors import InputError

BASE = json.loads(DEFAULT_SCENARIOS.read_text())
BASE["scenarios"]["bes3"]["points_csv"] = str(DEFAULT_SCENARIOS.parent / "bes3_datasets.csv")

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated_configs(draw):
    cfg = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = cfg
        try:
            for k in path[:-1]:
                node = node[k]
            if draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(leaf)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return cfg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_config_loader_never_crashes(cfg):
    try:
        scenarios = parse_scenarios(cfg, DEFAULT_SCENARIOS)
    except InputError as exc:
        assert str(exc).startswith(str(DEFAULT_SCENARIOS)) and "\n" not in str(exc)
        return
    for sc in scenarios.values():  # what loads is usable: finite, positive energies and luminosities
        assert sc.points and all(math.isfinite(p.sqrt_s) and p.sqrt_s > 0 and p.lumi_fb > 0 for p in sc.points)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    )
)
def test_arbitrary_json_documents_are_refused_cleanly(doc):
    try:
        parse_scenarios(doc, DEFAULT_SCENARIOS)
    except InputError:
        pass


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 10**7).map(str),
    st.sampled_from(["", "x", "1e400", "-0", "0x10", "nan", "inf", "1,2"]),
)
options = {
    "generate": [
        "--process",
        "--sqrt-s",
        "--mass",
        "--decay-model",
        "--d-ref",
        "--cc-modes",
        "--events",
        "--seed",
        "--chunk-size",
        "--beams",
        "--region",
    ],
    "yields": ["--scenario", "--mass", "--decay-model", "--cc-modes", "--events", "--seed"],
    "limit": ["--scenario", "--mass", "--method", "--calculator", "--bkg-syst", "--lumi-syst", "--events"],
    "run": ["--preset", "--scenario", "--decay-model", "--workers", "--executor"],
}
words = st.sampled_from(
    ["signal", "nunugamma", "stcf-2gev", "bes3", "helicity", "up", "cls", "chi2", "toys", "fast", "serial", "lep"]
)


@st.composite
def command_lines(draw):
    cmd = draw(st.sampled_from(sorted(options)))
    argv = [cmd]
    for opt in draw(st.lists(st.sampled_from(options[cmd]), max_size=6)):
        argv += [opt, draw(st.one_of(numbers, words))]
    return argv


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command_lines())
def test_command_line_never_crashes(tmp_path, argv):
    """Only argument handling runs to completion here: samples are capped at 2000 events, runs are not started."""
    argv = list(argv)
    if argv[0] in ("yields", "limit", "generate"):
        for i, a in enumerate(argv[:-1]):
            if a == "--events":
                argv[i + 1] = argv[i + 1] if argv[i + 1].lstrip("-").isdigit() and int(argv[i + 1]) <= 2000 else "2000"
        if "--events" not in argv:
            argv += ["--events", "2000"]
    if argv[0] == "generate":
        argv += ["--output", str(tmp_path / "g.root")]
    if argv[0] in ("yields", "limit"):
        argv += ["--cache", str(tmp_path / "w")]
    if argv[0] == "run":
        argv += ["--output", str(tmp_path / "r"), "--scenario", "no-such-scenario"]  # refused before any work
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    assert code in (0, 2), (argv, err.getvalue())
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert lines and lines[-1].startswith("error: ") and "Traceback" not in err.getvalue()
