"""The cache's size limit: samples are hand-offs, evicted least recently used first after each command; results
stay; the limit is the user's (``DIPOLE_PORTAL_CACHE_LIMIT``) and a bad value is refused before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from dipole_portal.analysis.cli import main
from dipole_portal.core.cache import LIMIT_ENV, SAMPLE_CODE, Cache, cache_limit, parse_size


def _sample(cache: Cache, i: int, size: int, used_at: float):
    entry = cache.entry("samples", {"sample": i}, SAMPLE_CODE)
    with entry.writing_file("root") as tmp:
        tmp.write_bytes(os.urandom(size))
    os.utime(entry.json_path, (used_at, used_at))
    return entry


def test_eviction_removes_the_least_recently_used_samples_until_the_cache_is_under_the_limit(tmp_path):
    cache = Cache(tmp_path / "c")
    now = time.time()
    entries = [_sample(cache, i, 10_000, now - 1000 + 100 * i) for i in range(6)]  # 0 is the oldest
    result = cache.entry("limits", {"limit": 1}, SAMPLE_CODE)
    result.store_json({"d95": 1e-5})
    assert entries[0].valid_file("root") is not None  # a use: 0 becomes the most recently used
    total = sum(v["bytes"] for v in cache.info().values())
    per_sample = cache.info()["samples"]["bytes"] / 6
    limit = int(total - 2.5 * per_sample)  # three samples must go
    ev = cache.evict(limit)
    assert (ev.entries, ev.limit_bytes) == (3, limit)
    assert ev.total_bytes == sum(v["bytes"] for v in cache.info().values()) <= limit
    assert ev.freed_bytes == pytest.approx(3 * per_sample, rel=0.01)
    kept = [e.valid_file("root") is not None for e in entries]
    assert kept == [True, False, False, False, True, True]  # 1, 2, 3 were the least recently used
    assert result.load_json() == {"d95": 1e-5}  # a result is never evicted
    assert not list((tmp_path / "c" / "samples").glob(".lock-*"))  # an evicted entry leaves no lock file
    assert cache.evict(None).entries == 0 and cache.evict(10**12).entries == 0  # no limit, or under it: nothing


def test_an_evicted_sample_keeps_what_it_cost_and_clear_forgets_it(tmp_path):
    """A report states what its numbers cost from the samples' records: eviction keeps each evicted sample's CPU
    seconds (beside the kind folders), so a warm run never calls evicted samples "computed without a record";
    clearing the samples forgets them."""
    from dipole_portal.core.cache import EVICTED

    cache = Cache(tmp_path / "c")
    entry = _sample(cache, 0, 10_000, time.time())
    seconds = entry.recorded_seconds()
    assert seconds is not None
    assert cache.evict(0).entries == 1 and entry.valid_file("root") is None
    assert entry.recorded_seconds() == seconds
    assert cache.entry_by_key("samples", "0" * 24).recorded_seconds() is None  # never made: no record
    cache.clear("samples")
    assert not (tmp_path / "c" / EVICTED).exists() and entry.recorded_seconds() is None


def test_the_eviction_ledger_is_read_once_per_version(tmp_path):
    """A warm run asks the ledger about thousands of evicted samples: it is parsed once, and again only when a later
    eviction has rewritten it (the second eviction's entries are then known too)."""
    from dipole_portal.core import cache as cache_module

    cache = Cache(tmp_path / "c")
    now = time.time()
    entries = [_sample(cache, i, 10_000, now - 100 + i) for i in range(6)]
    seconds = [e.recorded_seconds() for e in entries]
    assert cache.evict(cache.info()["samples"]["bytes"] // 2).entries == 3
    cache_module._read_ledger.cache_clear()
    assert [e.recorded_seconds() for e in entries[:3] * 50] == seconds[:3] * 50
    assert cache_module._read_ledger.cache_info().misses == 1  # 150 questions, one read
    assert cache.evict(0).entries == 3  # a new version of the ledger, holding all six
    assert [e.recorded_seconds() for e in entries] == seconds
    assert cache_module._read_ledger.cache_info().misses == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500MB", 500 * 10**6), ("2gb", 2 * 10**9), ("1.5 GB", 1_500_000_000), ("0", 0), ("none", None), ("", 10**9)],
)
def test_the_limit_is_read_from_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv(LIMIT_ENV, text)
    assert cache_limit() == expected
    assert parse_size("20k", "x") == 20_000


@pytest.mark.parametrize("text", ["lots", "-1GB", "1e9", "5 PB", "1,000", "GB", "nan", "1.2.3MB"])
def test_a_bad_limit_is_refused_in_one_line_before_any_work(monkeypatch, capsys, tmp_path, text):
    monkeypatch.setenv(LIMIT_ENV, text)
    code = main(["yields", "--scenario", "stcf-4gev", "--mass", "1", "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith(f"error: {LIMIT_ENV}={text!r}: expected a size"), err
    assert not (tmp_path / "c").exists()  # nothing was computed


def _cli(args: list[str], limit: str) -> subprocess.CompletedProcess:
    """The command line in its own process (its log lines on stderr, whatever logging earlier tests set up)."""
    env = {**os.environ, LIMIT_ENV: limit, "DIPOLE_PORTAL_PROGRESS": "0"}
    return subprocess.run(
        [sys.executable, "-m", "dipole_portal", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_a_command_leaves_the_cache_under_its_limit_and_a_rerun_needs_no_sample(tmp_path):
    """Without a limit the samples stay (and are indexed); with a 1 kB limit every sample goes after the command
    and the index says so; the limits and yields stay, so the same command again reads its limits from the cache
    and makes no sample; the cache, still over its limit with results alone, says so."""
    import csv

    cache = tmp_path / "c"
    argv = ["limits", "--scenario", "stcf-4gev", "--masses", "1,2", "--events", "2000", "--method", "chi2"]
    argv += ["--cache", str(cache), "--workers", "1"]
    assert _cli([*argv, "--output", str(tmp_path / "a")], "none").returncode == 0
    assert _cli(["cache", "index", "--cache", str(cache)], "none").returncode == 0
    index = cache / "samples" / "index.csv"
    before = list(csv.DictReader(index.open()))
    assert len(before) == len(list((cache / "samples").glob("*.root"))) == 3  # 2 signal, 1 shared background
    res = _cli([*argv, "--output", str(tmp_path / "b")], "1kB")
    assert res.returncode == 0, res.stderr
    assert "0 to compute, 2 cached" in res.stderr and "removed 3 least recently used samples" in res.stderr
    assert "over its 1.0 kB limit" in res.stderr, res.stderr
    assert not list((cache / "samples").glob("*.root")) and list((cache / "limits").glob("*.json"))
    assert list(csv.DictReader(index.open())) == []  # the index lists only the samples still there
    assert _cli([*argv, "--output", str(tmp_path / "c2")], "1kB").returncode == 0
    assert not list((cache / "samples").glob("*.root"))  # a rerun made none
    tables = [(tmp_path / d / "stcf-4gev_limits.csv").read_text() for d in ("a", "b", "c2")]
    assert tables[0] == tables[1] == tables[2]
    res = _cli(["cache", "info", "--json", "--cache", str(cache)], "1kB")
    info = json.loads(res.stdout)
    assert info["limit_bytes"] == 1000 and info["total_bytes"] == sum(v["bytes"] for v in info["kinds"].values())
