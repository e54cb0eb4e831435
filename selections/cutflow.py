"""Weighted cut-flow: events and sum of weights (pb) after each cut in order, accumulated over chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CutFlow:
    """Cumulative cut-flow in the manner of coffea's PackedSelection.cutflow."""

    names: list[str]
    events: list[int] = field(default_factory=list)
    sumw: list[float] = field(default_factory=list)
    sumw2: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.names) + 1
        self.events = self.events or [0] * n
        self.sumw = self.sumw or [0.0] * n
        self.sumw2 = self.sumw2 or [0.0] * n

    def fill(self, masks: dict[str, np.ndarray], weight: np.ndarray) -> np.ndarray:
        """Add one chunk; return the mask of events that pass every cut."""
        mask = np.ones(len(weight), dtype=bool)
        self._add(0, mask, weight)
        for i, name in enumerate(self.names, start=1):
            mask = mask & masks[name]
            self._add(i, mask, weight)
        return mask

    def _add(self, i: int, mask: np.ndarray, weight: np.ndarray) -> None:
        w = weight[mask]
        self.events[i] += int(mask.sum())
        self.sumw[i] += float(w.sum())
        self.sumw2[i] += float(np.square(w).sum())

    def scale(self, factor: float) -> None:
        """Multiply every weight by ``factor`` (sums by it, sums of squares by its square)."""
        self.sumw = [w * factor for w in self.sumw]
        self.sumw2 = [w * factor**2 for w in self.sumw2]

    @property
    def efficiency(self) -> float:
        return self.sumw[-1] / self.sumw[0] if self.sumw[0] else 0.0

    def as_dict(self) -> dict:
        return {"cuts": ["all", *self.names], "events": self.events, "sumw_pb": self.sumw, "sumw2_pb2": self.sumw2}

    def table(self, title: str = "") -> str:
        lines = [title] if title else []
        lines.append(f"{'cut':<14}{'events':>12}{'sigma [pb]':>14}{'cumul. eff':>12}")
        for name, n, w in zip(["all", *self.names], self.events, self.sumw, strict=True):
            eff = w / self.sumw[0] if self.sumw[0] else 0.0
            lines.append(f"{name:<14}{n:>12d}{w:>14.4e}{eff:>12.4f}")
        return "\n".join(lines)
