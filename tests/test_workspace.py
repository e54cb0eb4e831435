"""The workspace itself: pixi manifest valid and mirroring pyproject, scenario data validated on load."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from dipole_portal.core.config import load_scenarios, parse_scenarios
from dipole_portal.core.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "schemas" / "pixi-manifest.schema.json"


def test_pixi_manifest_against_schema():
    if not SCHEMA.exists():
        pytest.skip(f"{SCHEMA} absent")
    import jsonschema

    manifest = tomllib.loads((ROOT / "pixi.toml").read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_pixi_mirrors_pyproject():
    pixi = tomllib.loads((ROOT / "pixi.toml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dep = pixi["pypi-dependencies"][project["name"]]
    assert dep["editable"] is True and dep["path"] == "."
    assert "python" in pixi["dependencies"]
    assert pixi["workspace"]["channels"] == ["conda-forge"]
    for extra in ("dask", "root", "docs"):
        assert extra in project["optional-dependencies"]
        assert extra in pixi["feature"][extra]["pypi-dependencies"][project["name"]]["extras"]
    assert {"analysis", "test", "bench", "lint"} <= set(pixi["tasks"])
    # the version is written once, in pyproject.toml; the installed package reports it
    assert "version" not in pixi["workspace"]
    from dipole_portal import __version__

    assert __version__ == project["version"]


def test_scenarios_load():
    sc = load_scenarios()
    assert set(sc) == {
        "belle2-lowmass",
        "belle2-highmass",
        "belle2-bbg",
        "bes3",
        "stcf-2gev",
        "stcf-4gev",
        "stcf-7gev",
        "stcf-4gev-30ab",
    }
    bes3 = sc["bes3"]
    assert len(bes3.points) == 43
    assert sum(p.lumi_fb for p in bes3.points) == pytest.approx(28.4, abs=0.1)
    assert sc["belle2-lowmass"].gap_background.expected(50000.0) == pytest.approx(750000.0)
    assert sc["belle2-bbg"].points[0].beams.beta == pytest.approx(3 / 11)


def _raw():
    raw = json.loads((ROOT / "src" / "dipole_portal" / "core" / "data" / "scenarios.json").read_text())
    raw["scenarios"]["bes3"]["points_csv"] = str(ROOT / "src" / "dipole_portal" / "core" / "data" / "bes3_datasets.csv")
    return raw


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda r: r["scenarios"]["stcf-2gev"]["points"][0].update(lumi_fb=-1), ["stcf-2gev", "lumi_fb", "-1"]),
        (lambda r: r["scenarios"]["stcf-2gev"].update(selection="tight"), ["selection", "tight"]),
        (lambda r: r["scenarios"]["stcf-2gev"].update(detector="cleo"), ["detector", "cleo"]),
        (lambda r: r["detectors"]["belle2"].update(eps_det=1.5), ["eps_det", "1.5"]),
        (lambda r: r["scenarios"]["belle2-bbg"]["points"][0].update(sqrt_s_GeV=10.0), ["sqrt_s_GeV", "contradicts"]),
    ],
)
def test_bad_scenarios_are_named(tmp_path, mutate, words):
    raw = _raw()
    mutate(raw)
    src = tmp_path / "bad.json"
    with pytest.raises(InputError) as exc:
        parse_scenarios(raw, src)
    msg = str(exc.value)
    assert str(src) in msg
    for w in words:
        assert w in msg


def test_bad_points_csv(tmp_path):
    raw = _raw()
    (tmp_path / "pts.csv").write_text("sqrt_s_GeV,lumi_pb\n4.18,abc\n")
    raw["scenarios"]["bes3"]["points_csv"] = "pts.csv"
    (tmp_path / "s.json").write_text(json.dumps(raw))
    with pytest.raises(InputError, match=r"pts.csv: row 2 lumi_pb='abc'"):
        load_scenarios(tmp_path / "s.json")
