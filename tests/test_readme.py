"""The documented commands run as written: a renamed file, a changed option or a missing extra fails here.

Every command of the example block of the pipeline page (docs/pipeline.md), the analysis command of the
README's "Run it" table and the pyhf commands of "What run produces" (docs/outputs.md) run in one folder, in
order, with smaller settings (fewer events and masses, and `run` restricted to one scenario; ``small`` says
exactly what changes). A template with placeholders (``<scenario>``, ``[--option]``) is not run: the files it
names must exist after the run.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: the pages whose commands are run, the README first
PAGES = (README, ROOT / "docs" / "pipeline.md", ROOT / "docs" / "outputs.md")


def documented_text() -> str:
    return "\n".join(p.read_text() for p in PAGES)


PROGRAMS = ("python -m dipole_portal ", "pyhf ", "dipole-portal ")
RUN_SCENARIO = "stcf-4gev"  # `run` is restricted to one scenario (no reproduction target: no model study)
FRONTIER_SCENARIO = "lep1-btype"  # the same for the packaged energy-frontier configuration


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = re.search(r"^#{1,3} ", text[start + len(heading) :], flags=re.M)
    return text[start : start + len(heading) + (nxt.start() if nxt else len(text))]


def readme_commands(text: str) -> tuple[list[str], list[str]]:
    """(commands to run, in README order; templates whose files must exist)."""
    fenced = [
        line.strip()
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
        if line.strip().startswith(PROGRAMS)
    ]
    table = re.findall(r"`(python -m dipole_portal run [^`]+)`", _section(text, "## Run it"))
    produces = [
        " ".join(span.split())
        for span in re.findall(r"`((?:pyhf) [^`]*DIR/[^`]*)`", _section(text, "# What `run` produces"), flags=re.S)
    ]
    templates = [c for c in produces if "<" in c]
    return table + fenced + [c for c in produces if c not in templates], templates


def small(command: str) -> list[str]:
    """The command with smaller settings: fewer events and masses, `run` on one scenario and the fast preset."""
    args = shlex.split(command)
    out = []
    for i, a in enumerate(args):
        prev = args[i - 1] if i else ""
        out.append({"--events": "3000", "--n-masses": "3", "--preset": "fast"}.get(prev, a))
    sub = out[3] if out[:3] == ["python", "-m", "dipole_portal"] else ""
    if sub in ("yields", "select", "limit", "limits") and "--scenario" in out and "--events" not in out:
        out += ["--events", "3000"]
    if sub == "run":
        out += ["--scenario", FRONTIER_SCENARIO if "colliders" in out else RUN_SCENARIO]
    if out[0] == "python":
        out[0] = sys.executable
    return out


def test_readme_lists_the_commands_it_documents():
    commands, templates = readme_commands(documented_text())
    subcommands = {shlex.split(c)[3] for c in commands if c.startswith("python -m dipole_portal")}
    assert {"generate", "yields", "select", "limit", "limits", "cutflow", "run", "cache"} <= subcommands
    assert any(c.startswith("pyhf cls") for c in commands) and any(c.startswith("pyhf inspect") for c in commands)
    assert any("_patches/mN_<m>GeV.json" in t for t in templates)


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path):
    commands, templates = readme_commands(documented_text())
    env = {
        **os.environ,
        "DIPOLE_PORTAL_CACHE": str(tmp_path / "cache"),
        "DIPOLE_PORTAL_PROGRESS": "0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    run_output = None
    for command in commands:
        args = small(command)
        if "run" in args[1:4]:
            run_output = args[args.index("--output") + 1].rstrip("/")
        if run_output:
            args = [a.replace("DIR/", f"{run_output}/") for a in args]
        res = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"{command}\n{res.stderr[-3000:]}"
        if args[:2] == ["pyhf", "cls"]:  # the patch holds the signal at the tabulated limit: median CLs = 0.05
            assert json.loads(res.stdout)["CLs_exp"][2] == pytest.approx(0.05, rel=0.02), command
    assert run_output is not None
    for template in templates:  # every file a template names exists for the scenario that was run
        for word in template.split():
            if "DIR/" in word:
                pattern = re.sub(r"<[^>]+>", "*", word.replace("DIR/", f"{run_output}/"))
                assert glob.glob(str(tmp_path / pattern)), template
