"""The package's shape: one namespace, layers that point one way, doctests that run, no import-time side effects."""

from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import dipole_portal

ROOT = Path(__file__).resolve().parents[1]
#: layers from the bottom up; a module may import its own layer and those below it
LAYERS = ["core", "samples", "selections", "stats", "plotting", "analysis"]
FOLDERS = {"core": ROOT / "src" / "dipole_portal" / "core", **{n: ROOT / n for n in LAYERS[1:]}}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at any depth (function-level imports count too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "dipole_portal" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def upward_arrows() -> list[str]:
    """Every import that points from a layer to one above it (or a stage import of a bare top-level name)."""
    bad = []
    for layer, folder in FOLDERS.items():
        own = LAYERS.index(layer)
        for path in sorted(folder.glob("*.py")):
            for line, mod in _imports(path):
                target = _layer_of(mod)
                if target is not None and target > own:
                    bad.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {mod}")
                if mod.split(".")[0] in ("analysis", "samples", "selections", "stats", "plotting"):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports the bare top-level name {mod}")
    return bad


def test_no_import_points_up():
    assert all(len(list(folder.glob("*.py"))) >= 3 for folder in FOLDERS.values()), FOLDERS  # every layer is read
    assert upward_arrows() == []


MAX_FUNCTION_LINES = 60
MAX_PLAIN_PARAMETERS = 6  # positional-or-keyword; more go in an options object or behind ``*``


def oversized_functions(folders: list[Path]) -> list[str]:
    """Every function (methods and nested ones too) longer than ``MAX_FUNCTION_LINES`` lines, decorators excluded,
    or with more than ``MAX_PLAIN_PARAMETERS`` positional-or-keyword parameters (``self`` and ``cls`` not counted)."""
    bad = []
    for folder in folders:
        for path in sorted(folder.glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                where = f"{path.name}:{node.lineno} {node.name}"
                n_lines = (node.end_lineno or node.lineno) - node.lineno + 1
                plain = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
                if n_lines > MAX_FUNCTION_LINES:
                    bad.append(f"{where}: {n_lines} lines")
                if len(plain) > MAX_PLAIN_PARAMETERS:
                    bad.append(f"{where}: {len(plain)} positional-or-keyword parameters")
    return bad


def test_no_function_is_long_or_takes_a_long_parameter_list():
    assert oversized_functions(list(FOLDERS.values())) == []


def test_the_size_check_can_fail(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "big.py").write_text(f"def long():\n{body}\n\n\ndef wide(a, b, c, d, e, f, g, *, h=1):\n    pass\n")
    assert oversized_functions([tmp_path]) == [
        "big.py:1 long: 61 lines",
        "big.py:64 wide: 7 positional-or-keyword parameters",
    ]


def test_the_layer_check_can_fail(tmp_path, monkeypatch):
    """A planted upward import (core -> analysis) is found."""
    fake = tmp_path / "core"
    fake.mkdir()
    (fake / "bad.py").write_text("def f():\n    from dipole_portal.analysis import pipeline\n")
    monkeypatch.setitem(FOLDERS, "core", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert any("imports dipole_portal.analysis" in b for b in upward_arrows())


def _all_modules() -> list[str]:
    """Every module of the package (each stage walked through its own ``__path__``: an editable install maps the
    top-level stage folders into the namespace, which ``dipole_portal.__path__`` alone does not show)."""
    names = {"dipole_portal", "dipole_portal.__main__"}
    for stage in LAYERS:
        pkg = importlib.import_module(f"dipole_portal.{stage}")
        names.add(pkg.__name__)
        names.update(m.name for m in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}."))
    return sorted(names)


def test_every_stage_lives_in_the_namespace():
    names = _all_modules()
    for stage in LAYERS:
        assert f"dipole_portal.{stage}" in names
    # the stage folders are the top of the repository, linked into the one namespace
    for stage in ("samples", "selections", "stats", "plotting", "analysis"):
        pkg = Path(importlib.import_module(f"dipole_portal.{stage}").__file__).parent
        assert pkg == ROOT / "src" / "dipole_portal" / stage and pkg.resolve() == ROOT / stage


def test_a_checkout_imports_without_an_install(tmp_path):
    """``PYTHONPATH=src`` is enough (no import hook): what every static tool sees."""
    code = "import dipole_portal.samples.generators, dipole_portal.analysis.cli; print('ok')"
    res = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); {code}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


@pytest.mark.slow
def test_mypy_follows_the_installed_package_and_finds_no_error(tmp_path):
    """mypy, run outside the checkout on the installed package, resolves every ``dipole_portal`` import (through
    the plain path entry of the install) and reports no error, with the configuration in pyproject.toml."""
    pytest.importorskip("mypy")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy"),
            "-p",
            "dipole_portal",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert 'module named "dipole_portal' not in res.stdout, res.stdout
    assert res.returncode == 0, res.stdout[-3000:]


@pytest.mark.parametrize("name", _all_modules())
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_import_has_no_side_effects():
    """Importing every module selects no matplotlib backend, leaves pyhf's backend alone and adds no log handler."""
    code = (
        "import logging, pkgutil, importlib, sys, matplotlib, pyhf\n"
        "backend_before = matplotlib.rcParams._get_backend_or_none()\n"
        "pyhf_before = pyhf.get_backend()\n"
        f"for name in {[n for n in _all_modules() if n != 'dipole_portal.__main__']!r}:\n"
        "    importlib.import_module(name)\n"
        "assert matplotlib.rcParams._get_backend_or_none() == backend_before, 'backend chosen at import'\n"
        "assert pyhf.get_backend() == pyhf_before, 'pyhf backend changed at import'\n"
        "assert not logging.getLogger('dipole_portal').handlers, 'log handler added at import'\n"
        "print('ok')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_cli_runs_as_module_and_script(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "dipole_portal", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 0 and "cache" in res.stdout
    script = Path(sys.executable).parent / "dipole-portal"
    if script.exists():
        res = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert res.returncode == 0 and dipole_portal.__version__ in res.stdout


def test_a_stats_module_in_the_working_directory_is_harmless(tmp_path):
    """Generic names (stats.py, plotting/, analysis.py) in the working directory do not shadow the stages."""
    for name in ("stats.py", "analysis.py", "samples.py"):
        (tmp_path / name).write_text("raise RuntimeError('shadowed')\n")
    (tmp_path / "plotting").mkdir()
    (tmp_path / "plotting" / "__init__.py").write_text("raise RuntimeError('shadowed')\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "dipole_portal",
            "limit",
            "--scenario",
            "stcf-4gev",
            "--mass",
            "1",
            "--events",
            "3000",
            "--method",
            "chi2",
            "--cache",
            str(tmp_path / "c"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert '"d95_chi2"' in res.stdout


def test_the_python_api_has_every_physics_option_of_the_command_line():
    """``expected_limit`` takes what ``limit --scenario`` takes, ``scan`` what ``limits --scenario`` takes (output,
    executor and file-format options aside)."""
    import inspect

    from dipole_portal.analysis import api
    from dipole_portal.analysis.cli import cli

    renamed = {
        "mass": "mass_GeV",
        "masses": "masses_GeV",
        "cc_modes": "n_cc_modes",
        "scenarios": "scenarios_file",
        "bkg_syst": "systematics",
        "lumi_syst": "systematics",
        "cache_dir": "cache",
        "scenarios_file": "scenarios_file",
    }
    not_physics = {
        "yields",
        "yields_file",
        "yields_files",
        "as_json",
        "json",
        "output",
        "hepdata_ins",
        "executor_kind",
        "executor",
        "workers",
        "dask_workers",
        "scheduler",
        "refine",
        "m_min",
        "help",
    }
    for command, function in (("limit", api.expected_limit), ("limits", api.scan)):
        accepted = set(inspect.signature(function).parameters)
        for param in cli.commands[command].params:
            name = renamed.get(param.name, param.name)
            if param.name in not_physics or name in not_physics:
                continue
            assert name in accepted, (command, param.name, function.__name__)


def test_every_option_keyword_of_the_api_reaches_the_tasks(monkeypatch):
    """Each keyword of ``expected_limit`` and ``scan`` that says how a limit is computed arrives in the tasks'
    ``AnalysisOptions`` with the value given (none left at its default, none missing)."""
    import inspect

    from dipole_portal.analysis import api
    from dipole_portal.stats.models import Systematics

    given = {
        "decay_model": "helicity",
        "method": "chi2",
        "calculator": "asymptotic",
        "events": 1234,
        "seed": 7,
        "n_cc_modes": 1,
        "binned": True,
        "systematics": Systematics(0.1, 0.02),
        "detector_model": "geometry",
        "n_type": "dirac",
    }
    seen = []

    class Done:
        limit = "computed"

    monkeypatch.setattr(api, "run_task", lambda task: seen.append(task) or Done)
    monkeypatch.setattr(api, "scan_masses", lambda sc, grid, options, ex: seen.append(options))
    for function in (api.expected_limit, api.scan):
        plain = {"scenario", "mass_GeV", "masses_GeV", "n_masses", "workers", "scenarios_file", "cache"}
        assert set(inspect.signature(function).parameters) - plain == set(given), function.__name__
    assert api.expected_limit("stcf-4gev", 1.0, **given) == "computed"
    api.scan("stcf-4gev", [1.0], **given)
    for options in seen:  # the limit task, then the scan's options: the same field names
        assert (options.decay_model, options.method, options.calculator) == ("helicity", "chi2", "asymptotic")
        assert (options.events, options.seed, options.n_modes, options.binned) == (1234, 7, 1, True)
        assert options.syst == Systematics(0.1, 0.02)
        assert (options.detector_model, options.n_type) == ("geometry", "dirac")
    api.scan("stcf-4gev", [1.0], **{**given, "decay_model": "isotropic", "n_type": "majorana"})
    assert len(seen) == 3 and (seen[-1].decay_model, seen[-1].n_type) == ("isotropic", "majorana")


def test_hepdata_lib_is_imported_without_roots_alpha_notice():
    """hepdata_lib imports PyROOT where the ``root`` extra is installed; its alpha-stage notice (a warning whose text
    begins with a newline) is not printed into a run's output."""
    pytest.importorskip("ROOT")
    code = "from dipole_portal.analysis.hepdata_export import _hepdata_lib; _hepdata_lib()"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "alpha stage" not in res.stderr, res.stderr


def test_the_selection_vocabulary_is_one_list():
    """The schema's selection names, the detector keys each reads and the cuts built for each are one list: every
    name the schema allows builds its cuts, and a detector without a key the selection reads is refused."""
    import dataclasses
    import json

    from dipole_portal.core.config import (
        BELLE2_SELECTIONS,
        BES3_SELECTIONS,
        SCHEMA,
        SELECTION_NEEDS,
        SINGLE_PHOTON_SELECTIONS,
        get_scenario,
    )
    from dipole_portal.selections.cuts import build_selection

    enum = json.loads(SCHEMA.read_text())["properties"]["scenarios"]["additionalProperties"]["properties"]["selection"]
    every = BELLE2_SELECTIONS + BES3_SELECTIONS + SINGLE_PHOTON_SELECTIONS
    assert sorted(enum["enum"]) == sorted(every) == sorted(SELECTION_NEEDS)
    for names, base, config in (
        (BELLE2_SELECTIONS, "belle2-lowmass", None),
        (BES3_SELECTIONS, "stcf-4gev", None),
        (SINGLE_PHOTON_SELECTIONS, "lep2-btype", "colliders"),
    ):
        sc = get_scenario(base, config)
        for name in names:
            sel = build_selection(dataclasses.replace(sc, selection=name), sc.points[0])
            assert sel.cuts and all(needed in sc.detector.params for needed in SELECTION_NEEDS[name])


def test_a_detector_without_a_key_its_selection_reads_is_refused_on_load(tmp_path):
    """Every (scenario, key its selection reads) of the packaged configuration: without the key, the file is refused
    in one line naming a scenario whose selection reads it, the detector and the key."""
    import json
    import shutil

    from dipole_portal.core.config import DEFAULT_SCENARIOS, SELECTION_NEEDS, load_scenarios
    from dipole_portal.core.errors import InputError

    shutil.copytree(DEFAULT_SCENARIOS.parent, tmp_path / "data")
    raw = json.loads(DEFAULT_SCENARIOS.read_text())
    tried = 0
    for s in raw["scenarios"].values():
        for key in SELECTION_NEEDS[s["selection"]]:
            doc = json.loads(json.dumps(raw))
            del doc["detectors"][s["detector"]][key]
            f = tmp_path / "data" / "mutated.json"
            f.write_text(json.dumps(doc))
            with pytest.raises(InputError) as exc:
                load_scenarios(f)
            msg = str(exc.value)
            assert "\n" not in msg and f"{s['detector']} to define {key!r}" in msg, msg
            tried += 1
    assert tried >= 20
