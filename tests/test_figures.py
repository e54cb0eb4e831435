"""Figures: Fig. 1 rebuilt from stored limit tables matches the stored reference image within a tolerance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.testing.compare import compare_images

from dipole_portal.plotting import limit_figures as lf
from dipole_portal.plotting.style import save, use_style

REFERENCE = Path(__file__).parent / "data" / "reference"
TOLERANCE = 2.0  # RMS of the pixel difference (0-255); fonts are pinned to DejaVu Sans, so this is not fragile


def _figure1(limits: Path, out: Path) -> Path:
    use_style()
    save(lf.figure_belle2(lf.load_curves(limits)), out, "fig1_belle2")
    return out / "fig1_belle2.png"


def test_figure1_matches_reference(tmp_path):
    png = _figure1(REFERENCE / "limits", tmp_path)
    assert compare_images(str(REFERENCE / "fig1_belle2.png"), str(png), tol=TOLERANCE) is None


def test_reference_comparison_detects_a_changed_curve(tmp_path):
    """The same comparison fails when one curve moves by 30% (so the test above can fail)."""
    limits = tmp_path / "limits"
    shutil.copytree(REFERENCE / "limits", limits)
    path = limits / "belle2-bbg_limits.json"
    table = json.loads(path.read_text())
    for row in table["limits"]:
        row["d95"] *= 1.3
    path.write_text(json.dumps(table))
    png = _figure1(limits, tmp_path / "fig")
    assert compare_images(str(REFERENCE / "fig1_belle2.png"), str(png), tol=TOLERANCE) is not None


def test_figures_need_their_tables(tmp_path):
    from dipole_portal.core.errors import InputError

    with pytest.raises(InputError, match="fig1_belle2"):
        lf.figure_belle2({})


def test_figures_draw_on_given_axes():
    """Figure functions draw on the axes they are given (a notebook's) and return that figure."""
    import matplotlib.pyplot as plt

    curves = lf.load_curves(REFERENCE / "limits")
    fig, (a, b) = plt.subplots(1, 2)
    assert lf.figure_belle2(curves, ax=b) is fig
    assert len(b.lines) >= 3 and len(a.lines) == 0
    plt.close(fig)


def _landscape_curves():
    """Fig. 3's curves from the stored reference tables (the Belle II ones stand in for all four)."""
    curves = lf.load_curves(REFERENCE / "limits")
    spec = lf.default_figure("fig3_landscape")
    for name, _ in spec.curves:
        if name not in curves:
            src = curves["belle2-bbg"]
            curves[name] = lf.LimitCurve(name, name, src.mass, src.d95 * 2, src.d95_chi2 * 2, None, "")
    return curves


@pytest.mark.parametrize("figure", ["fig3_landscape", "energy_frontier"])
def test_a_landscape_legend_of_any_length_keeps_off_the_axis_labels(figure):
    """The paper's Fig. 3 (8 legend entries) and the energy frontier's (22): the legend below the panels overlaps
    neither the panels nor their m_N labels."""
    import matplotlib.pyplot as plt

    from dipole_portal.plotting.presentation import load_configuration

    _, presentation = load_configuration("colliders" if figure == "energy_frontier" else None)
    spec = next(f for f in presentation.figures if f.name == figure)
    src = lf.load_curves(REFERENCE / "limits")["belle2-bbg"]
    curves = {n: lf.LimitCurve(n, n, src.mass, src.d95, src.d95_chi2, None, "") for n, _ in spec.curves}
    use_style()
    fig = lf.figure_landscape(curves, spec)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes[:3]:
        assert legend.y1 <= ax.xaxis.label.get_window_extent(renderer).y0, figure
    plt.close(fig)


@pytest.mark.parametrize(("coupling", "label"), [("d", "$d$"), ("d_gamma", "$d_\\gamma$")])
def test_a_landscape_names_the_coupling_its_curves_limit(coupling, label):
    """Curves with Z exchange limit d_gamma (d_Z fixed by the operator): the axis says so; the paper's say d."""
    import matplotlib.pyplot as plt

    spec = lf.default_figure("fig3_landscape")
    src = lf.load_curves(REFERENCE / "limits")["belle2-bbg"]
    curves = {
        n: lf.LimitCurve(n, n, src.mass, src.d95, src.d95_chi2, None, "", coupling=coupling) for n, _ in spec.curves
    }
    fig = lf.figure_landscape(curves, spec)
    assert fig.axes[0].get_ylabel().startswith(label)
    plt.close(fig)


def test_landscape_regions_are_coloured_by_flavour_and_labelled_without_overlap():
    """Fig. 3: grey for all flavours, orange d_e, sky blue d_mu, pink d_tau; every region labelled once per panel,
    inside the axes, no two labels overlapping, the C.L. stated where it is not 95%; the legend below the panels."""
    import matplotlib.colors as mcolors

    from dipole_portal.plotting.existing import load_regions

    use_style()
    fig = lf.figure_landscape(_landscape_curves())
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax, flavour in zip(fig.axes[:3], ("e", "mu", "tau"), strict=True):
        regions = load_regions(flavour)
        fills = {mcolors.to_hex(p.get_facecolor(), keep_alpha=False) for p in ax.patches}
        want = {mcolors.to_hex(lf.FLAVOUR_COLOURS[r.flavour][0]) for r in regions}
        assert fills == want, (flavour, fills)
        texts = [
            t for t in ax.texts if t.get_text() in {r.label if r.cl == 95 else f"{r.label} ({r.cl}%)" for r in regions}
        ]
        assert sorted(t.get_text() for t in texts) == sorted(
            r.label if r.cl == 95 else f"{r.label} ({r.cl}%)" for r in regions
        )
        boxes = [t.get_window_extent(renderer) for t in texts]
        axbox = ax.get_window_extent(renderer)
        for i, b in enumerate(boxes):
            assert axbox.x0 - 1 <= b.x0 and b.x1 <= axbox.x1 + 1 and axbox.y0 - 1 <= b.y0 and b.y1 <= axbox.y1 + 1, (
                texts[i].get_text()
            )
            for j in range(i):
                assert not b.overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    assert any("SN1987A (90%)" == t.get_text() for t in fig.axes[0].texts)
    legend = fig.legends[0].get_window_extent(renderer)
    assert all(legend.y1 <= ax.get_window_extent(renderer).y0 for ax in fig.axes[:3])  # off the shading
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_ninety_percent_scattering_limits_are_converted_to_95():
    from dipole_portal.plotting.existing import CL90_TO_95_RATE_D2, load_regions

    raw = {r.label: r for r in load_regions("mu", harmonise=False)}
    for r in load_regions("mu"):
        if r.label in ("Borexino", "XENON1T", "CHARM-II"):
            assert r.cl_published == 90 and r.cl == 95
            assert np.allclose(r.d_GeV_inv, raw[r.label].d_GeV_inv * CL90_TO_95_RATE_D2)
        elif r.label in ("SN1987A", "BBN", "NOMAD"):
            assert r.cl == r.cl_published == 90 and np.array_equal(r.d_GeV_inv, raw[r.label].d_GeV_inv)
        elif r.label in ("LEP", "MiniBooNE"):
            assert r.cl == r.cl_published == 95


def test_band_panels_label_several_y_ticks():
    """diag_bands: every panel labels at least two y values (a panel within one decade used to label one)."""
    use_style()
    curves = lf.load_curves(REFERENCE / "limits")
    fig = lf.figure_bands(curves)
    fig.canvas.draw()
    for ax in [a for a in fig.axes if a.get_visible()]:
        lo, hi = ax.get_ylim()
        labelled = [
            t for t in ax.yaxis.get_ticklabels(which="both") if t.get_text() and lo <= t.get_position()[1] <= hi
        ]
        assert len(labelled) >= 2, ax.get_title()
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_legend_names_a_non_default_decay_model():
    curves = lf.load_curves(REFERENCE / "limits")
    assert curves["belle2-bbg"].legend == curves["belle2-bbg"].label  # default: nothing added
    rows = [{"decay_model": "helicity", "n_cc_modes": 1}]
    assert lf._choices(rows) == "helicity angular law, N nubar only"


def _figure3(out: Path) -> Path:
    use_style()
    save(lf.figure_landscape(_landscape_curves()), out, "fig3_landscape")
    return out / "fig3_landscape.png"


def test_figure3_matches_reference(tmp_path):
    """Fig. 3 (regions, colours, labels, legend) against its stored image."""
    png = _figure3(tmp_path)
    assert compare_images(str(REFERENCE / "fig3_landscape.png"), str(png), tol=TOLERANCE) is None


@pytest.mark.parametrize(
    "content",
    [
        '{"a": 1}',
        '[{"op": "add", "path": "/channels/7/samples/0", "value": {}}]',
        "[]",
        '[{"op": "add", "path": "/channels/0/samples/0", "value": 3}]',
    ],
)
def test_brazil_diagnostic_names_a_patch_that_does_not_fit(tmp_path, content):
    """A per-mass patch that is JSON but not a signal patch of its workspace (not a list of operations, a channel
    that does not exist, no signal, a sample that is not an object): one InputError naming the file."""
    from dipole_portal.core.errors import InputError
    from dipole_portal.plotting.brazil import figure_brazil
    from dipole_portal.stats.models import patch_name
    from dipole_portal.stats.outputs import write_workspaces

    curves = json.loads((REFERENCE / "limits" / "belle2-bbg_limits.json").read_text())
    row = curves["limits"][0]
    spec = {
        "channels": [
            {
                "name": "E10p583GeV",
                "samples": [
                    {
                        "name": "signal",
                        "data": [5.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "nunugamma",
                        "data": [50.0],
                        "modifiers": [{"name": "staterror_E10p583GeV", "type": "staterror", "data": [1.0]}],
                    },
                ],
            }
        ],
        "observations": [{"name": "E10p583GeV", "data": [50.0]}],
        "measurements": [{"name": "expected", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    (tmp_path / "limits").mkdir()
    (tmp_path / "limits" / "belle2-bbg_limits.json").write_text(
        json.dumps({"scenario": "belle2-bbg", "limits": [{**row, "calculator": "asymptotic"}]})
    )
    write_workspaces(tmp_path / "ws", "belle2-bbg", {row["mass_GeV"]: spec})
    patch = tmp_path / "ws" / "belle2-bbg_patches" / f"{patch_name(row['mass_GeV'])}.json"
    figure_brazil(tmp_path / "limits", tmp_path / "ws")  # the patch as written draws
    patch.write_text(content)
    with pytest.raises(InputError, match=patch.name):
        figure_brazil(tmp_path / "limits", tmp_path / "ws")


def test_figure_cache_follows_the_style_in_force(tmp_path):
    """A matplotlibrc (here: rcParams changed before drawing) changes the figures, so it changes their cache key:
    the figures of another style are drawn again, never copied from the cache. Drawn on worker processes, a figure
    has the style of the process that keyed it, byte for byte as that process draws it."""
    import shutil

    import matplotlib

    from dipole_portal.analysis.figure_stage import make_all_figures
    from dipole_portal.core.cache import Cache
    from dipole_portal.core.executors import ProcessExecutor
    from dipole_portal.plotting.presentation import load_configuration

    scenarios, presentation = load_configuration()
    out = tmp_path / "out"
    shutil.copytree(REFERENCE / "limits", out / "limits")
    cache = Cache(tmp_path / "cache")

    def entries() -> int:
        return len(list((tmp_path / "cache" / "figures").glob("*.json")))

    with matplotlib.rc_context():
        make_all_figures(out, scenarios, [], presentation, cache)
        first = entries()
        make_all_figures(out, scenarios, [], presentation, cache)  # same style: copied, nothing new
        assert entries() == first > 0
        default = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
        matplotlib.rcParams["axes.facecolor"] = "red"
        with ProcessExecutor(2) as workers:
            make_all_figures(out, scenarios, [], presentation, cache, workers)
        assert entries() == 2 * first  # every figure drawn again under the new key
        red = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
        assert red.keys() == default.keys() and all(red[n] != default[n] for n in red)  # the workers drew in red
        make_all_figures(out, scenarios, [], presentation, Cache(tmp_path / "serial"))  # the same, in this process
        assert {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")} == red
