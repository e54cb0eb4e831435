"""Scenario configuration: detectors, selections, energy points and luminosities (SPEC sections 3-4).

The configuration is JSON validated against ``data/scenarios.schema.json`` and then checked for
consistency; every error names the file, the key and the bad value and says what is allowed.

>>> sc = load_scenarios()
>>> sorted(sc)[:3]
['belle2-bbg', 'belle2-highmass', 'belle2-lowmass']
>>> len(sc["bes3"].points), round(sum(p.lumi_fb for p in sc["bes3"].points), 1)
(43, 28.4)
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dipole_portal.core.beams import Beams
from dipole_portal.core.errors import InputError
from dipole_portal.core.names import NAME_PATTERN, NAME_RULE
from dipole_portal.core.numerics import SQRT_S_MATCH_GEV
from dipole_portal.core.options import Operator
from dipole_portal.core.schemas import check_schema, key_path

#: The selections a configuration may name (SPEC 3; the schema's ``selection`` enum) and the detector keys each
#: reads. They are the configuration's vocabulary, so the configuration gate refuses a detector that lacks a key
#: its selection reads when the file is loaded; the cuts themselves are in ``selections.cuts``.
BELLE2_SELECTIONS = ("lowmass", "highmass", "bbg", "belle2-basic")
BES3_SELECTIONS = ("basic", "advanced")
#: the energy frontier's single-photon selections: an acceptance and threshold, and a recoil-mass veto of the
#: radiative return to the Z
SINGLE_PHOTON_SELECTIONS = ("single-photon", "single-photon-recoil")
SELECTION_NEEDS = {
    **{sel: ("beams_GeV", "theta_lab_deg") for sel in BELLE2_SELECTIONS},
    "basic": ("barrel", "endcap"),
    "advanced": ("barrel", "endcap", "cos_theta_b"),
    "single-photon": ("single_photon",),
    "single-photon-recoil": ("single_photon", "recoil_veto_GeV"),
}

DATA = resources.files("dipole_portal.core") / "data"
DEFAULT_SCENARIOS = Path(str(DATA / "scenarios.json"))
#: configurations that ship with the package, by the name ``--scenarios`` accepts for them: the paper's, and the
#: energy frontier's (the paper's low-energy scenarios beside LEP, CEPC, FCC-ee and ILC)
PACKAGED_CONFIGURATIONS = {"paper": DEFAULT_SCENARIOS, "colliders": Path(str(DATA / "colliders.json"))}
SCHEMA = Path(str(DATA / "scenarios.schema.json"))


@functools.cache
def config_schema() -> dict[str, Any]:
    """The configuration's JSON schema (``SCHEMA``), read once; the run's study files reuse parts of it."""
    schema: dict[str, Any] = json.loads(SCHEMA.read_text())
    return schema


@dataclass(frozen=True)
class EnergyPoint:
    """One data set: CM energy (GeV), integrated luminosity (fb^-1), the beams that make it and their longitudinal
    polarisations (P(e-), P(e+)) in [-1, 1], +1 right-handed (None: unpolarised; only with Z exchange)."""

    sqrt_s: float
    lumi_fb: float
    beams: Beams
    polarisation: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        """The data set's name: its energy, and its polarisations in per cent where polarised.

        >>> EnergyPoint(250.0, 900.0, Beams.symmetric_at(250.0), (-0.8, 0.3)).label
        '250.000GeV_Pm80p30'
        """
        return f"{self.sqrt_s:.3f}GeV" + polarisation_suffix(self.polarisation)


def polarisation_suffix(polarisation: tuple[float, float] | None) -> str:
    """'' unpolarised, else ``_P`` and each beam's polarisation in per cent, signed m (minus) or p (plus)."""
    if polarisation is None:
        return ""
    return "_P" + "".join(f"{'m' if p < 0 else 'p'}{abs(p) * 100:.0f}" for p in polarisation)


@dataclass(frozen=True)
class ElectroweakSetting:
    """Z exchange in signal and background (section "The electroweak dipole" of the physics page): the operator
    behind the dipole, which fixes d_Z / d_gamma, and the ratio itself for ``free``."""

    operator: Operator
    dz_over_dgamma: float | None = None

    @property
    def label(self) -> str:
        """How tables and figures name it: the operator, or the ratio for ``free``."""
        if self.operator is Operator.FREE:
            return f"d_Z/d_gamma = {self.dz_over_dgamma:g}"
        return {Operator.PHOTON: "photon-only", Operator.HYPERCHARGE: "B-type", Operator.WEAK_ISOSPIN: "W-type"}[
            self.operator
        ]


@dataclass(frozen=True)
class Detector:
    name: str
    label: str
    eps_det: float
    length_m: float
    params: dict[str, Any] = field(hash=False)  # compared (cuts differ => scenarios differ), not hashed

    @property
    def decay_volume(self) -> dict[str, float] | None:
        """Where a decay gives a calorimeter photon (the ``realistic`` detector model): barrel radius and endcap
        faces in m, lab frame; None when the configuration does not describe it."""
        v = self.params.get("decay_volume")
        return None if v is None else {k: float(v[k]) for k in ("radius_m", "z_forward_m", "z_backward_m")}

    @property
    def calorimeter_resolution(self) -> dict[str, dict[str, float]] | None:
        """The calorimeter's energy and position resolution at 1 GeV, barrel and endcaps (the ``realistic``
        detector model); None when the configuration does not give it."""
        v = self.params.get("calorimeter_resolution")
        return None if v is None else {r: {k: float(x) for k, x in v[r].items()} for r in ("barrel", "endcap")}


@dataclass(frozen=True)
class GapBackground:
    """Reducible background from the ECL gaps: ``events`` per ``per_lumi_fb`` fb^-1, scaled with luminosity."""

    events: float
    per_lumi_fb: float

    def expected(self, lumi_fb: float) -> float:
        return self.events * lumi_fb / self.per_lumi_fb


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    detector: Detector
    selection: str
    points: tuple[EnergyPoint, ...]
    gap_background: GapBackground | None
    #: Z exchange and the electroweak background (None: the paper's photon-only physics and SPEC 2's background)
    electroweak: ElectroweakSetting | None = None

    def as_dict(self) -> dict[str, Any]:
        """The full definition (detector, cuts, energy points) as JSON-able data: part of every cache key.

        What a photon-only scenario with unpolarised beams does not have (``electroweak``, ``polarisation``) is left
        out, so that its key is the one it had before the energy frontier existed."""
        out: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self), default=str))
        if out["electroweak"] is None:
            del out["electroweak"]
        for point in out["points"]:
            if point["polarisation"] is None:
                del point["polarisation"]
        return out

    @property
    def max_sqrt_s(self) -> float:
        return max(p.sqrt_s for p in self.points)

    @property
    def lumi_fb(self) -> float:
        """Total integrated luminosity (fb^-1)."""
        return sum(p.lumi_fb for p in self.points)

    def with_luminosity(self, lumi_fb: float, name: str | None = None, label: str | None = None) -> Scenario:
        """The same scenario with every data set scaled so that the total is ``lumi_fb`` fb^-1.

        >>> sc = get_scenario("stcf-4gev").with_luminosity(30_000, "stcf-4gev-30ab-custom")
        >>> sc.name, sc.lumi_fb
        ('stcf-4gev-30ab-custom', 30000.0)
        """
        if not (math.isfinite(lumi_fb) and lumi_fb > 0):
            raise InputError(f"lumi_fb={lumi_fb!r}: expected a finite positive luminosity in fb^-1")
        scale = lumi_fb / self.lumi_fb
        points = tuple(dataclasses.replace(p, lumi_fb=p.lumi_fb * scale) for p in self.points)
        new_name = name or self.name
        if not NAME_PATTERN.fullmatch(new_name):
            raise InputError(f"scenario name {new_name!r}: expected {NAME_RULE}")
        return dataclasses.replace(
            self, name=new_name, label=label or f"{self.label}, {lumi_fb:g} fb$^{{-1}}$", points=points
        )

    def points_for_mass(self, mass: float) -> tuple[EnergyPoint, ...]:
        """The energy points at which an N of ``mass`` GeV can be produced (sqrt(s) > m_N)."""
        return tuple(p for p in self.points if p.sqrt_s > mass)


MAX_CONFIG_BYTES = 16 * 1024 * 1024


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup is not None:
        raise _Duplicate(dup)
    return dict(pairs)


class _Duplicate(ValueError):
    pass


def _read_json(path: Path) -> Any:
    """A JSON document: UTF-8, at most 16 MiB, no key given twice, nesting within Python's limits."""
    from dipole_portal.core.readers import MAX_JSON_DEPTH, _depth, read_bytes

    try:
        text = read_bytes(path, "configuration", MAX_CONFIG_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a JSON configuration") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise InputError(
            f"{path}: JSON nested too deeply (more than {MAX_JSON_DEPTH} levels); not a configuration file"
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        raise InputError(f"{path}: key {exc.args[0]!r} appears twice in one object; each key must be unique") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply; not a configuration file") from None


def read_points_csv(path: Path) -> tuple[tuple[float, float], ...]:
    """Read (sqrt_s GeV, lumi pb^-1) rows of a BESIII-style table; '#' lines are comments."""
    from dipole_portal.core.readers import read_bytes

    try:
        text = read_bytes(path, "data-set table (CSV)", MAX_CONFIG_BYTES).decode("utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a CSV table of data sets") from None
    reader = csv.DictReader(lines)
    need = {"sqrt_s_GeV", "lumi_pb"}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise InputError(f"{path}: no header with the columns {sorted(need)}; expected a CSV table of data sets")
    rows = []
    for i, row in enumerate(reader, start=2):
        for key in ("sqrt_s_GeV", "lumi_pb"):
            try:
                v = float(row[key])
            except (TypeError, ValueError):
                raise InputError(f"{path}: row {i} {key}={repr(row[key])[:40]}, expected a number") from None
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"{path}: row {i} {key}={row[key]!r}, expected a finite positive number")
        rows.append((float(row["sqrt_s_GeV"]), float(row["lumi_pb"])))
    if not rows:
        raise InputError(f"{path}: no data rows")
    return tuple(rows)


def _check_finite(node: Any, source: Path, path: tuple[Any, ...] = ()) -> None:
    """JSON as Python reads it accepts NaN and Infinity; no number in a configuration may be either."""
    if isinstance(node, dict):
        for k, v in node.items():
            _check_finite(v, source, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_finite(v, source, (*path, i))
    elif isinstance(node, float) and not math.isfinite(node):
        raise InputError(f"{source}: key {key_path(path)}: value {json.dumps(node)} invalid: expected a finite number")


def _check_ranges(raw: dict[str, Any], source: Path) -> None:
    """Intervals given as [low, high] (angles, cos theta) must be increasing."""
    for name, d in raw["detectors"].items():
        pairs = [("theta_lab_deg", d.get("theta_lab_deg")), ("recoil_veto_GeV", d.get("recoil_veto_GeV"))]
        pairs += [(f"ecl_gaps_lab_deg/{i}", g) for i, g in enumerate(d.get("ecl_gaps_lab_deg", []))]
        if "endcap" in d:
            pairs.append(("endcap/cos_min..cos_max", [d["endcap"]["cos_min"], d["endcap"]["cos_max"]]))
        for key, pair in pairs:
            if pair is not None and not pair[0] < pair[1]:
                raise InputError(
                    f"{source}: key detectors/{name}/{key}: value {pair!r} invalid: "
                    f"expected an increasing [low, high] interval"
                )


def _check_selection_needs(selection: str, det: Detector, where: str) -> None:
    """The detector defines every key the selection reads (``SELECTION_NEEDS``)."""
    gaps = ("ecl_gaps_lab_deg",) if det.params.get("veto_ecl_gaps") and selection in BELLE2_SELECTIONS else ()
    for needed in SELECTION_NEEDS[selection] + gaps:
        if needed not in det.params:
            raise InputError(f"{where}: {selection!r} needs detector {det.name} to define {needed!r}")


def _energy_points(s: dict[str, Any], det: Detector, source: Path, key: str) -> tuple[EnergyPoint, ...]:
    """A scenario's energy points, from ``points`` or its ``points_csv`` table (lumi in pb^-1 there), each once and
    each matching the detector's beams where it has fixed ones."""
    if "points" in s:
        pairs = [(p["sqrt_s_GeV"], p["lumi_fb"]) for p in s["points"]]
        pols = [_polarisation(p.get("polarisation")) for p in s["points"]]
    else:
        csv_path = Path(s["points_csv"])
        csv_path = csv_path if csv_path.is_absolute() else source.parent / csv_path
        try:
            rows = read_points_csv(csv_path)
        except InputError as exc:  # led by the configuration and key that named the table
            raise InputError(f"{source}: key {key}/points_csv: {exc}") from None
        pairs = [(e, lumi_pb / 1000.0) for e, lumi_pb in rows]
        pols = [None] * len(pairs)
    if any(p is not None for p in pols) and s.get("electroweak") is None:
        raise InputError(
            f"{source}: key {key}/points: polarised beams need Z exchange; expected an 'electroweak' block in the "
            "scenario"
        )
    labels = [(round(float(e), 9), pol) for (e, _), pol in zip(pairs, pols, strict=True)]
    dup = next((e for e in labels if labels.count(e) > 1), None)
    if dup is not None:
        pol_text = "" if dup[1] is None else f" with polarisation {list(dup[1])}"
        raise InputError(f"{source}: key {key}: energy point {dup[0]:g} GeV{pol_text} given twice; each data set once")
    points = []
    for i, ((e, lumi), pol) in enumerate(zip(pairs, pols, strict=True)):
        if "beams_GeV" in det.params:
            beams = Beams(det.params["beams_GeV"]["e_minus"], det.params["beams_GeV"]["e_plus"])
            if abs(beams.sqrt_s - e) > SQRT_S_MATCH_GEV:
                raise InputError(
                    f"{source}: key {key}/points/{i}/sqrt_s_GeV: value {e!r} contradicts the beams of "
                    f"{det.name} (sqrt(s) = {beams.sqrt_s:.4f} GeV)"
                )
            beams = Beams(beams.e_minus, beams.e_plus)
        else:
            beams = Beams.symmetric_at(e)
        points.append(EnergyPoint(float(e), float(lumi), beams, pol))
    return tuple(points)


def _polarisation(raw: dict[str, float] | None) -> tuple[float, float] | None:
    """(P(e-), P(e+)) of a point's ``polarisation`` block; None for none or for two zeros (unpolarised)."""
    if raw is None or (raw["e_minus"] == 0 and raw["e_plus"] == 0):
        return None
    return float(raw["e_minus"]), float(raw["e_plus"])


def _electroweak(raw: dict[str, Any] | None, source: Path, key: str) -> ElectroweakSetting | None:
    """A scenario's ``electroweak`` block: the operator, and d_Z/d_gamma when (and only when) it is ``free``."""
    if raw is None:
        return None
    operator = Operator(raw["operator"])
    ratio = raw.get("dz_over_dgamma")
    if (operator is Operator.FREE) != (ratio is not None):
        raise InputError(
            f"{source}: key {key}/electroweak: operator {operator.value!r} "
            + ("needs 'dz_over_dgamma'" if ratio is None else "takes no 'dz_over_dgamma' (its operator fixes it)")
        )
    return ElectroweakSetting(operator, None if ratio is None else float(ratio))


def parse_scenarios(raw: Any, source: Path) -> dict[str, Scenario]:
    """Validate a scenarios document (already parsed) and build typed scenarios."""
    try:
        _check_finite(raw, source)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply; not a configuration file") from None
    check_schema(raw, config_schema(), str(source))
    _check_ranges(raw, source)
    detectors = {}
    for name, d in raw["detectors"].items():
        detectors[name] = Detector(name, d["label"], float(d["eps_det"]), float(d["length_m"]), d)
    scenarios = {}
    for name, s in raw["scenarios"].items():
        key = f"scenarios/{name}"
        if not NAME_PATTERN.fullmatch(name):
            raise InputError(f"{source}: scenario name {name!r}: expected {NAME_RULE}")
        if s["detector"] not in detectors:
            raise InputError(
                f"{source}: key {key}/detector: value {s['detector']!r} unknown, expected one of {sorted(detectors)}"
            )
        det = detectors[s["detector"]]
        _check_selection_needs(s["selection"], det, f"{source}: key {key}/selection")
        points = _energy_points(s, det, source, key)
        gap = s["gap_background"]
        scenarios[name] = Scenario(
            name=name,
            label=s.get("label", name),
            detector=det,
            selection=s["selection"],
            points=points,
            gap_background=None if gap is None else GapBackground(float(gap["events"]), float(gap["per_lumi_fb"])),
            electroweak=_electroweak(s.get("electroweak"), source, key),
        )
    return scenarios


def configuration_path(path: str | Path | None) -> Path:
    """The file a ``--scenarios`` value names: the packaged default for None, a packaged configuration for its name
    (``PACKAGED_CONFIGURATIONS``) where no file of that name exists, else the path itself.

    >>> configuration_path("colliders").name, configuration_path(None).name
    ('colliders.json', 'scenarios.json')
    """
    if path is None:
        return DEFAULT_SCENARIOS
    if str(path) in PACKAGED_CONFIGURATIONS and not Path(path).exists():
        return PACKAGED_CONFIGURATIONS[str(path)]
    return Path(path)


def read_configuration(path: str | Path | None = None) -> tuple[Any, Path]:
    """The parsed JSON document of a configuration file (:func:`configuration_path`: the packaged default when
    ``path`` is None, a packaged one by name) and its path; :func:`parse_scenarios` validates it."""
    source = configuration_path(path)
    return _read_json(source), source


def load_scenarios(path: str | Path | None = None) -> dict[str, Scenario]:
    """Load and validate the scenarios file (the packaged default when ``path`` is None)."""
    return parse_scenarios(*read_configuration(path))


def get_scenario(name: str, path: str | Path | None = None) -> Scenario:
    scenarios = load_scenarios(path)
    if name not in scenarios:
        raise InputError(f"scenario {name!r} unknown, expected one of {', '.join(sorted(scenarios))}")
    return scenarios[name]
