"""Labels for shaded regions that stay inside their region, inside the axes, and off each other and the curves.

Each label is tried at the points of a grid over the axes, deepest inside its region first, horizontal then
vertical, then smaller; a place is taken when the whole text box lies inside the region and the axes and
overlaps no earlier label and no obstacle (the drawn limit curves). A region too thin for its label gets it
beside the region, with a leader line, at the nearest free place. All geometry is in display coordinates and
vectorised over the candidate places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox

GRID = 56  # candidate places per axis
PAD_PX = 2.0


@dataclass(frozen=True)
class RegionLabel:
    """A label for the polygon (x, y in data coordinates) drawn in ``color``."""

    text: str
    x: np.ndarray
    y: np.ndarray
    color: str = "0.1"


def _text_size(ax: Axes, text: str, fontsize: float, rotation: float) -> tuple[float, float]:
    t = ax.text(0.5, 0.5, text, transform=ax.transAxes, fontsize=fontsize, rotation=rotation, ha="center", va="center")
    bb = t.get_window_extent(ax.figure.canvas.get_renderer())  # type: ignore[attr-defined]  # Agg canvases
    t.remove()
    return bb.width + 2 * PAD_PX, bb.height + 2 * PAD_PX


def _distance_to_edges(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance (pixels) from each point to the nearest polygon edge."""
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    ab2 = np.maximum((ab**2).sum(axis=1), 1e-12)
    ap = points[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab[None]).sum(axis=2) / ab2[None], 0, 1)
    nearest = a[None] + t[..., None] * ab[None]
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1)


def _boxes_free(centres: np.ndarray, w: float, h: float, taken: list[Bbox], obstacles: np.ndarray) -> np.ndarray:
    """Which boxes of size w x h around ``centres`` overlap no box in ``taken`` and contain no obstacle point."""
    x0, x1 = centres[:, 0] - w / 2, centres[:, 0] + w / 2
    y0, y1 = centres[:, 1] - h / 2, centres[:, 1] + h / 2
    ok = np.ones(len(centres), bool)
    for bb in taken:
        ok &= (x1 <= bb.x0) | (x0 >= bb.x1) | (y1 <= bb.y0) | (y0 >= bb.y1)
    if len(obstacles):
        ox, oy = obstacles[:, 0][None], obstacles[:, 1][None]
        hit = ((ox >= x0[:, None]) & (ox <= x1[:, None]) & (oy >= y0[:, None]) & (oy <= y1[:, None])).any(axis=1)
        ok &= ~hit
    return ok


def _inside_box(centres: np.ndarray, w: float, h: float, box: Bbox) -> np.ndarray:
    """Which w x h boxes around ``centres`` lie wholly inside ``box``."""
    return (
        (centres[:, 0] - w / 2 >= box.x0)
        & (centres[:, 0] + w / 2 <= box.x1)
        & (centres[:, 1] - h / 2 >= box.y0)
        & (centres[:, 1] + h / 2 <= box.y1)
    )


def _corners(centres: np.ndarray, w: float, h: float) -> list[np.ndarray]:
    return [centres + np.array([sx * w / 2, sy * h / 2]) for sx in (-1, 0, 1) for sy in (-1, 0, 1)]


def _draw_label(ax: Axes, lb: RegionLabel, centre: tuple[float, float], fs: float, rot: float, target: Any) -> Text:
    """``lb`` at ``centre`` (display pixels): inside its region, or beside it with a leader line to ``target``."""
    cx, cy = centre
    xy = ax.transAxes.inverted().transform((cx, cy))
    if target is None:
        return ax.text(
            xy[0],
            xy[1],
            lb.text,
            transform=ax.transAxes,
            fontsize=fs,
            rotation=rot,
            ha="center",
            va="center",
            color=lb.color,
        )
    return ax.annotate(
        lb.text,
        xy=tuple(ax.transAxes.inverted().transform(target)),
        xycoords="axes fraction",
        xytext=(xy[0], xy[1]),
        textcoords="axes fraction",
        fontsize=fs,
        ha="center",
        va="center",
        color=lb.color,
        arrowprops={"arrowstyle": "-", "color": lb.color, "lw": 0.7},
    )


def place_labels(
    ax: Axes,
    labels: Sequence[RegionLabel],
    fontsize: float = 9.0,
    obstacles_data: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    avoid: Sequence[Bbox] = (),
) -> list[Text]:
    """Draw every label on ``ax`` (whose limits and scales must be final); returns the Text objects.

    ``obstacles_data``: curves (x, y in data coordinates) that labels must not cover; ``avoid``: display boxes
    (another text, an inset) to keep clear of.
    """
    ax.figure.canvas.draw()  # final transforms
    axbox = ax.get_window_extent()
    # labels stay clear of the frame by the length of the (inward) major ticks, which would cross them
    tick_px = max(plt.rcParams["xtick.major.size"], plt.rcParams["ytick.major.size"]) * ax.figure.dpi / 72 + 2
    inner = Bbox.from_extents(axbox.x0 + tick_px, axbox.y0 + tick_px, axbox.x1 - tick_px, axbox.y1 - tick_px)
    frac = np.linspace(0.02, 0.98, GRID)
    cand = ax.transAxes.transform(np.array([(fx, fy) for fy in frac for fx in frac]))
    obstacles = [ax.transData.transform(np.column_stack(_dense(x, y))) for x, y in obstacles_data]
    obst = np.concatenate(obstacles) if obstacles else np.empty((0, 2))
    taken: list[Bbox] = list(avoid)
    texts: list[Text] = []
    polys = [ax.transData.transform(np.column_stack([lb.x, lb.y])) for lb in labels]
    areas = [_visible_area(p, axbox) for p in polys]
    for i in sorted(range(len(labels)), key=lambda k: areas[k]):  # the smallest regions choose first
        lb, poly = labels[i], polys[i]
        path = MplPath(poly)
        inside = path.contains_points(cand)
        in_axes = (cand[:, 0] > axbox.x0) & (cand[:, 0] < axbox.x1) & (cand[:, 1] > axbox.y0) & (cand[:, 1] < axbox.y1)
        depth = np.where(inside, _distance_to_edges(cand, poly), -np.inf)
        placed: tuple[Any, float, float, float, float, Any] | None = None
        fs: float
        rot: float
        for fs, rot in ((fontsize, 0), (fontsize, 90), (fontsize - 1.5, 0), (fontsize - 1.5, 90)):
            w, h = _text_size(ax, lb.text, fs, rot)
            ok = inside & _boxes_free(cand, w, h, taken, obst) & _inside_box(cand, w, h, inner)
            for corner in _corners(cand, w, h):
                ok &= path.contains_points(corner)
            if ok.any():
                k = int(np.argmax(np.where(ok, depth, -np.inf)))
                placed = (cand[k], fs, rot, w, h, None)
                break
        if placed is None:  # too thin: beside it, with a leader line to its deepest visible point
            target = (
                cand[int(np.argmax(np.where(in_axes, depth, -np.inf)))]
                if (inside & in_axes).any()
                else _visible_point(poly, axbox)
            )
            w, h = _text_size(ax, lb.text, fontsize - 1.5, 0)
            ok = _boxes_free(cand, w, h, taken, obst) & _inside_box(cand, w, h, inner)
            dist = np.where(ok, np.hypot(*(cand - target).T), np.inf)
            k = int(np.argmin(dist))
            placed = (cand[k], fontsize - 1.5, 0, w, h, target)
        (cx, cy), fs, rot, w, h, target = placed
        t = _draw_label(ax, lb, (cx, cy), fs, rot, target)
        taken.append(Bbox.from_bounds(cx - w / 2, cy - h / 2, w, h))
        texts.append(t)
    return texts


def _dense(x: np.ndarray, y: np.ndarray, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Points along a polyline in log-log data space, ``n`` per segment (obstacles between the nodes too)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    t = np.linspace(0, 1, n, endpoint=False)
    xs = (lx[:-1, None] + (lx[1:] - lx[:-1])[:, None] * t).ravel()
    ys = (ly[:-1, None] + (ly[1:] - ly[:-1])[:, None] * t).ravel()
    return np.exp(np.append(xs, lx[-1:])), np.exp(np.append(ys, ly[-1:]))


def _visible_area(poly: np.ndarray, box: Bbox) -> float:
    """The area (pixels^2) of the polygon inside the box, estimated on a grid."""
    xs, ys = np.linspace(box.x0, box.x1, 80), np.linspace(box.y0, box.y1, 80)
    pts = np.array([(x, y) for y in ys for x in xs])
    return float(MplPath(poly).contains_points(pts).mean() * box.width * box.height)


def _visible_point(poly: np.ndarray, box: Bbox) -> np.ndarray:
    """A polygon vertex inside the box (or the vertex nearest to it)."""
    inside = (poly[:, 0] >= box.x0) & (poly[:, 0] <= box.x1) & (poly[:, 1] >= box.y0) & (poly[:, 1] <= box.y1)
    if inside.any():
        return poly[inside].mean(axis=0) if MplPath(poly).contains_point(poly[inside].mean(axis=0)) else poly[inside][0]
    c = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    return poly[int(np.argmin(np.hypot(*(poly - c).T)))]
