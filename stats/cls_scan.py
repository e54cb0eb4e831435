"""Expected CLs against the signal strength mu for a published background-only workspace and one of its patches:
what the Brazil-band diagnostic draws (``plotting.brazil``). The patch holds the signal at the tabulated limit, so
the median crosses CLs = 0.05 at mu = 1.

Toy-based limits (below a few background events, BESIII) are scanned with the same numpy toys that computed them;
the others with pyhf's asymptotic calculator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dipole_portal.core.numerics import DEFAULT_TOYS

MU_SCAN = np.linspace(0.05, 2.5, 25)


def cls_scan(
    bkg_only: dict[str, Any], patch: list[dict[str, Any]], toys: bool, mus: np.ndarray = MU_SCAN
) -> list[tuple[float, list[float]]]:
    """(observed = median on Asimov data, five expected CLs) per mu, for a background-only workspace and a patch."""
    import jsonpatch
    import pyhf

    from dipole_portal.stats import toys as toymod
    from dipole_portal.stats.cls import hypotest_mended, signal_background
    from dipole_portal.stats.pyhf_setup import pyhf_backend

    spec = jsonpatch.apply_patch(bkg_only, patch)
    if toys:
        s, b = signal_background(spec)
        out = []
        for mu in mus:
            exp = toymod.expected_cls(float(mu), s, b, ntoys=DEFAULT_TOYS, seed=0).tolist()
            out.append((exp[2], exp))
        return out
    with pyhf_backend():
        ws = pyhf.Workspace(spec)
        model = ws.model(measurement_name="expected")
        data = ws.data(model)
        out = []
        for mu in mus:
            obs, exp = hypotest_mended(float(mu), data, model, test_stat="qtilde", return_expected_set=True)
            out.append((float(obs), [float(e) for e in exp]))
    return out
