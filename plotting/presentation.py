"""The configuration's presentation: which figures show which scenarios and how, and the paper's statements the
report compares with. Presentation only, never part of a cache key: the scenarios themselves are
:mod:`dipole_portal.core.config`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dipole_portal.core.config import Scenario, parse_scenarios, read_configuration
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import NAME_PATTERN, NAME_RULE
from dipole_portal.core.schemas import check_mass_range


@dataclass(frozen=True)
class CurveStyle:
    """How a scenario's curve is drawn in one figure (matplotlib colour and line style)."""

    color: str
    linestyle: str = "-"


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the paper: which scenarios it shows and how (``kind``: limits or landscape)."""

    name: str
    kind: str
    caption: str
    title: str
    xlim: tuple[float, float] | None
    ylim: tuple[float, float] | None
    curves: tuple[tuple[str, CurveStyle], ...]

    @property
    def scenarios(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.curves)


@dataclass(frozen=True)
class Target:
    """A statement of the paper (SPEC 7): ``scenario``'s d95 for lo < m_N < hi is about ``paper_d95`` GeV^-1.

    ``derived``: the paper gives the number only indirectly (e.g. bBG as 'about 4 times' the low-mass value).
    """

    scenario: str
    lo_GeV: float
    hi_GeV: float
    paper_d95: float
    statement: str
    derived: bool = False


@dataclass(frozen=True)
class Presentation:
    """What the figures and the report show: presentation only, never part of a cache key."""

    figures: tuple[FigureSpec, ...] = ()
    targets: tuple[Target, ...] = ()
    comparisons: tuple[dict[str, Any], ...] = ()

    def figure(self, name: str) -> FigureSpec | None:
        return next((f for f in self.figures if f.name == name), None)

    def shown(self) -> set[str]:
        """Scenarios that appear in at least one figure."""
        return {n for f in self.figures for n in f.scenarios}


def parse_presentation(raw: dict[str, Any], source: Path, scenarios: dict[str, Scenario]) -> Presentation:
    """Figures, targets and comparisons of a validated configuration; every scenario they name must exist."""

    def known(name: str, key: str) -> str:
        if name not in scenarios:
            raise InputError(f"{source}: key {key}: scenario {name!r} unknown, expected one of {sorted(scenarios)}")
        return name

    figures = []
    for fname, f in raw.get("figures", {}).items():
        if not NAME_PATTERN.fullmatch(fname):
            raise InputError(f"{source}: figure name {fname!r}: expected {NAME_RULE}")
        curves = tuple(
            (known(n, f"figures/{fname}/curves/{n}"), CurveStyle(c["color"], c.get("linestyle", "-")))
            for n, c in f["curves"].items()
        )
        figures.append(
            FigureSpec(
                fname,
                f["kind"],
                f.get("caption", fname),
                f.get("title", ""),
                tuple(f["xlim"]) if "xlim" in f else None,
                tuple(f["ylim"]) if "ylim" in f else None,
                curves,
            )
        )
    for kind in ("targets", "comparisons"):
        for i, item in enumerate(raw.get(kind, [])):
            check_mass_range(item, f"{source}: key {kind}/{i}")
    targets = tuple(
        Target(
            known(t["scenario"], f"targets/{i}/scenario"),
            float(t["lo_GeV"]),
            float(t["hi_GeV"]),
            float(t["paper_d95"]),
            t["statement"],
            bool(t.get("derived", False)),
        )
        for i, t in enumerate(raw.get("targets", []))
    )
    comparisons = tuple(
        {**c, "scenarios": [known(n, f"comparisons/{i}/scenarios") for n in c["scenarios"]]}
        for i, c in enumerate(raw.get("comparisons", []))
    )
    return Presentation(tuple(figures), targets, comparisons)


def load_configuration(path: str | Path | None = None) -> tuple[dict[str, Scenario], Presentation]:
    """Scenarios and presentation of a configuration file (the packaged default when ``path`` is None)."""
    raw, source = read_configuration(path)
    scenarios = parse_scenarios(raw, source)
    return scenarios, parse_presentation(raw, source, scenarios)
