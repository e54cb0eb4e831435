"""Property-based attack on the yields format: any value at any key of a real yields file is read correctly or
refused in one line (InputError), never a traceback, and an accepted file gives a finite limit or one line."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dipole_portal.core.errors import InputError

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), st.just(-1.0), st.just(0.0), st.just(1e308),
    st.just("abc"), st.just("../../escaped"), st.just([[]]))


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    from dipole_portal.analysis.tasks import yields_for
    from dipole_portal.core.config import get_scenario
    from dipole_portal.selections.yields import yields_record

    sc = get_scenario("stcf-4gev")
    y = yields_for(sc, 1.0, events=3000, cache=tmp_path_factory.mktemp("cache"))
    return json.loads(json.dumps(yields_record(y, sc)))


def _paths(obj, prefix=()):
    """Every key path of a JSON document (objects and arrays), the root excluded."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


def _set(doc, path, value):
    target = doc
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_at_any_key_is_read_or_refused(record, tmp_path_factory, data):
    from dipole_portal.selections.yields import read_yields
    from dipole_portal.stats.limits import compute_limit

    paths = sorted(set(_paths(record)), key=str)
    path = data.draw(st.sampled_from(paths))
    doc = copy.deepcopy(record)
    if data.draw(st.booleans()):
        _set(doc, path, data.draw(VALUES))
    else:  # remove the key instead
        target = doc
        for k in path[:-1]:
            target = target[k]
        if isinstance(target, dict):
            del target[path[-1]]
        else:
            target.pop(path[-1])
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
