"""Command line: one command per pipeline stage (``python -m analysis --help``).

Bad input ends with one line ``error: ...`` on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from analysis import __version__
from analysis.errors import EXIT_INPUT_ERROR, InputError
from analysis.progress import log, progress_bar


def _finite_positive(name: str, value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{name}={value!r}: expected a finite positive number")
    return value


def _parse_beams(text: str | None, sqrt_s: float):
    from samples.kinematics import Beams

    _finite_positive("--sqrt-s", sqrt_s)
    if text is None:
        return Beams.symmetric_at(sqrt_s)
    try:
        e_minus, e_plus = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--beams={text!r}: expected E_MINUS,E_PLUS in GeV, e.g. 7,4") from None
    beams = Beams(e_minus, e_plus)
    if abs(beams.sqrt_s - sqrt_s) > 1e-3:
        raise InputError(f"--beams={text!r} gives sqrt(s) = {beams.sqrt_s:.4f} GeV, contradicting --sqrt-s {sqrt_s:g}")
    return beams


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dipole-portal")
def cli() -> None:
    """Sensitivity of e+e- colliders to the neutrino dipole portal (arXiv:2204.07802).

    Stages: generate -> select / yields -> limit / limits -> run (all of them, with plots and report).
    """


@cli.command()
@click.option("--process", type=click.Choice(["signal", "nunugamma"]), required=True,
              help="signal: e+e- -> N nubar, N -> nu gamma; nunugamma: SM e+e- -> nu nubar gamma.")
@click.option("--sqrt-s", type=float, required=True, help="CM energy in GeV.")
@click.option("--beams", default=None, metavar="E_MINUS,E_PLUS",
              help="Beam energies in GeV for asymmetric beams (e.g. 7,4 for Belle II); lab-frame branches are added.")
@click.option("--mass", type=float, default=None, help="N mass in GeV (signal only), 0 < m_N < sqrt(s).")
@click.option("--decay-model", default="helicity", show_default=True,
              help="Photon angle in the N rest frame: helicity, backward, isotropic or forward.")
@click.option("--d-ref", type=float, default=1e-5, show_default=True, help="Reference coupling d in GeV^-1 (signal).")
@click.option("--cc-modes", type=click.IntRange(1, 2), default=2, show_default=True,
              help="Charge-conjugate modes counted: 2 = N nubar + Nbar nu (Dirac N), 1 = N nubar only.")
@click.option("--region", default=None, metavar="EMIN,EMAX,CMIN,CMAX",
              help="nunugamma: CM region in GeV and cos(theta) (default 0.05*sqrt(s), sqrt(s)/2, -0.95, 0.95).")
@click.option("--events", type=int, required=True, help="Number of events.")
@click.option("--seed", type=int, required=True, help="Seed of numpy.random.SeedSequence.")
@click.option("--chunk-size", type=int, default=1_000_000, show_default=True, help="Events per generated chunk.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="Output ROOT file.")
def generate(process, sqrt_s, beams, mass, decay_model, d_ref, cc_modes, region, events, seed, chunk_size, output):
    """Generate events into a ROOT file (TTree 'events' and JSON 'metadata')."""
    from samples.generate import generate_to_root
    from samples.generators import NuNuGammaSpec, SignalSpec
    from samples.kinematics import PhaseSpaceRegion

    b = _parse_beams(beams, sqrt_s)
    if events is None or events <= 0:
        raise InputError(f"--events={events!r}: expected a positive integer")
    if seed < 0:
        raise InputError(f"--seed={seed!r}: expected a non-negative integer")
    if process == "signal":
        if mass is None:
            raise InputError("--mass is required for --process signal")
        spec = SignalSpec(b, mass, d_ref=d_ref, decay_model=decay_model, n_modes=cc_modes)
    else:
        if region is None:
            reg = PhaseSpaceRegion(0.05 * b.sqrt_s, 0.5 * b.sqrt_s, -0.95, 0.95)
        else:
            try:
                reg = PhaseSpaceRegion(*(float(x) for x in region.split(",")))
            except (TypeError, ValueError):
                raise InputError(f"--region={region!r}: expected four numbers EMIN,EMAX,CMIN,CMAX") from None
        spec = NuNuGammaSpec(b, reg)
    with progress_bar(f"generate {process}", events) as advance:
        path = generate_to_root(spec, output, seed, events, chunk_size=chunk_size, on_chunk=advance)
    log(f"wrote {events} {process} events to {path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the click group and maps input errors to one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="python -m analysis", standalone_mode=False)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except click.UsageError as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    return 0


__all__ = ["cli", "main", "Path"]
