"""Stage 5, the figures: drawn from the files of the earlier stages (``limits/``, ``workspaces/``, ``histograms/``),
as PDF and PNG, each kept in the cache under the inputs it is drawn from.

The figures that are not in the cache are drawn on the run's local workers (one figure a task, the longest
first), each with the style the run's process has in force, so the figures and their cache keys never disagree.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dipole_portal.core.atomic import copy_atomic
from dipole_portal.core.cache import FIGURE_CODE, Cache, canonical_json, files_digest
from dipole_portal.core.config import Scenario
from dipole_portal.core.executors import Executor, SerialExecutor
from dipole_portal.core.progress import progress_bar
from dipole_portal.plotting.presentation import Presentation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: a figure by name, and how to draw it (a ``functools.partial`` of a plotting function: it travels to a worker)
FigureStep = tuple[str, Callable[[], "Figure | None"]]
#: figures that take several times as long as the others (toys, many panels): started first
SLOW_FIGURES = ("diag_brazil", "diag_bands", "fig3_landscape", "fig_detector")


def figure_steps(
    output: Path, scenarios: dict[str, Scenario], names: list[str], presentation: Presentation
) -> list[FigureStep]:
    """The figures to draw, by name: the configuration's (the paper's), one for each scenario that none of them
    shows (a custom scenario), the realistic-detector figure, the diagnostics, and the E_gamma-theta_gamma planes."""
    from dipole_portal.plotting import limit_figures as lf
    from dipole_portal.plotting.brazil import figure_brazil
    from dipole_portal.plotting.plane_figures import figure_plane

    curves = lf.load_curves(output / "limits")
    steps: list[FigureStep] = []
    for spec in presentation.figures:
        if not any(n in curves for n in spec.scenarios):
            continue
        maker = lf.figure_landscape if spec.kind == "landscape" else lf.figure_from_spec
        steps.append((spec.name, functools.partial(maker, curves, spec)))
    shown = presentation.shown()
    steps += [
        (f"fig_{n}", functools.partial(lf.figure_limits, {n: curves[n]}))
        for n in names
        if n not in shown and n in curves
    ]
    realistic = lf.load_curves(output / "limits" / "realistic_detector")
    if realistic:
        panels: dict[str, list[str]] = {}
        for n in realistic:
            label = "Belle II" if scenarios[n].detector.name == "belle2" else "BESIII / STCF"
            panels.setdefault(label, []).append(n)
        steps.append(("fig_detector", functools.partial(lf.figure_detector, curves, realistic, panels)))
    steps += [
        ("diag_brazil", functools.partial(figure_brazil, output / "limits", output / "workspaces")),
        ("diag_cls_vs_chi2", functools.partial(lf.figure_cls_vs_chi2, curves)),
        ("diag_bands", functools.partial(lf.figure_bands, curves)),
    ]
    return steps + [
        (f"diag_plane_{n}", functools.partial(figure_plane, scenarios[n], output / "histograms" / f"{n}.root"))
        for n in names
    ]


def current_style() -> dict[str, Any]:
    """The style in force (``rcParams``, the backend aside): what a figure is drawn with here or on a worker, and
    part of its cache key (a matplotlibrc in the working directory changes it)."""
    import matplotlib

    rc = matplotlib.rcParams
    return {k: rc[k] for k in rc if k != "backend"}


def figure_keys(
    output: Path,
    scenarios: dict[str, Scenario],
    names: list[str],
    presentation: Presentation,
    steps: list[FigureStep],
    style: dict[str, Any],
) -> dict[str, dict]:
    """Each figure's cache key: the digest of the files it is drawn from, the configuration, matplotlib's version
    and the ``style`` it is drawn with."""
    import matplotlib

    # what each figure is drawn from: the tables and workspaces, or one scenario's diagnostic histograms (their
    # JSON files: the ROOT files carry write times, so their bytes change on every run)
    tables = files_digest(output / "limits", output / "workspaces")
    sources = {name: tables for name, _ in steps}
    sources |= {
        f"diag_plane_{n}": files_digest(output / "histograms" / f"{n}.json", output / "histograms" / f"{n}_uhi.json")
        for n in names
    }
    style_digest = hashlib.sha256(repr(sorted(style.items())).encode()).hexdigest()
    settings = {
        "presentation": canonical_json(dataclasses.asdict(presentation)),
        "matplotlib": matplotlib.__version__,
        "rcparams": style_digest,
        "scenarios": {n: scenarios[n].as_dict() for n in names},
    }
    return {name: {"figure": name, "inputs": sources[name], **settings} for name, _ in steps}


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw into ``folder``, with the style (``rcParams``) of the process that keyed it."""

    name: str
    draw: Callable[[], Figure | None]
    folder: Path
    style: dict[str, Any]


def draw_figure(job: FigureJob) -> list[Path]:
    """Draw and save one figure (PDF, PNG) where this runs, with the job's style; [] when there is nothing to draw."""
    import matplotlib

    from dipole_portal.plotting.style import save

    with matplotlib.rc_context(cast(Any, job.style)):  # typed with literal keys; ours come from rcParams
        fig = job.draw()
        return save(fig, job.folder, job.name) if fig is not None else []


def _local(executor: Executor | None) -> Executor:
    """The executor when its workers share this machine's files (processes), else this process: a remote Dask
    worker cannot write into the run's staging folder."""
    return executor if executor is not None and executor.kind == "processes" else SerialExecutor()


def make_all_figures(
    output: Path,
    scenarios: dict[str, Scenario],
    names: list[str],
    presentation: Presentation,
    cache: Cache,
    executor: Executor | None = None,
) -> list[Path]:
    """Every figure from the files of the earlier stages, as PDF and PNG, in ``output/figures``.

    Each drawn figure is kept in the cache, keyed on the bytes of the files it is drawn from, the configuration,
    matplotlib's version, the style and the plotting code (``figure_keys``): a rerun with nothing changed copies
    them instead of drawing. The others are drawn on ``executor``'s local workers (``draw_figure``).
    """
    from dipole_portal.plotting.style import FORMATS, use_style

    use_style()
    style = current_style()
    steps = figure_steps(output, scenarios, names, presentation)
    keys = figure_keys(output, scenarios, names, presentation, steps, style)
    folder = output / "figures"
    folder.mkdir(parents=True, exist_ok=True)  # a warm rerun into a new output folder copies into it
    entries = {
        name: [cache.entry("figures", {**keys[name], "format": e}, FIGURE_CODE) for e in FORMATS] for name, _ in steps
    }
    paths: list[Path] = []
    jobs = []
    for name, step in steps:
        stored = [e.valid_file(ext) for e, ext in zip(entries[name], FORMATS, strict=True)]
        if all(p is not None for p in stored):  # the same inputs and plotting code: copy the stored files
            paths += [
                copy_atomic(src, folder / f"{name}.{ext}") for src, ext in zip(stored, FORMATS, strict=True) if src
            ]
        else:
            jobs.append(FigureJob(name, step, folder, style))
    jobs.sort(key=lambda j: j.name not in SLOW_FIGURES)  # the slow ones first, the others in their order
    with progress_bar(f"figures ({len(steps) - len(jobs)} cached)", len(jobs)) as advance:
        drawn_all = _local(executor).map(draw_figure, jobs, on_done=advance)
    for job, drawn in zip(jobs, drawn_all, strict=True):
        if not drawn:  # nothing to draw (no workspaces for the Brazil plot): nothing to keep
            continue
        for e, ext, src in zip(entries[job.name], FORMATS, drawn, strict=True):
            with e.writing_file(ext) as tmp:
                shutil.copyfile(src, tmp)
        paths += drawn
    return paths
