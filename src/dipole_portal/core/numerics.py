"""Numerical conventions written once: comparison tolerances and the toy count, each with what it means.

>>> SQRT_S_MATCH_GEV, MASS_EDGE_REL, DEFAULT_TOYS
(0.001, 1e-09, 30000)
"""

from __future__ import annotations

#: two CM energies closer than this (GeV) are the same data set (beams that make sqrt(s), a sample's metadata)
SQRT_S_MATCH_GEV = 1e-3
#: relative slack when a mass is compared with the edges of a mass band (edges are printed with few digits)
MASS_EDGE_REL = 1e-9
#: pseudo-experiments of a toy-based CLs limit (its MC precision is quoted with the limit)
DEFAULT_TOYS = 30_000


def in_band(mass: float, lo: float, hi: float) -> bool:
    """Whether ``mass`` lies in [lo, hi] up to :data:`MASS_EDGE_REL` (GeV).

    >>> in_band(0.1, 0.1 * (1 + 1e-12), 3.0)
    True
    """
    return lo * (1 - MASS_EDGE_REL) <= mass <= hi * (1 + MASS_EDGE_REL)


#: events: below this total expected background, asymptotic CLs is unreliable and the "auto" calculator uses toys
LOW_BACKGROUND = 5.0
