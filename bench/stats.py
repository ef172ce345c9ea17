"""Small statistics and the result record every measurement returns."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


@dataclass
class Row:
    """One line of the table: a figure, its baseline, the compared value and its target."""

    key: str
    name: str
    unit: str
    photo_atlas: float | None
    baseline: float | None
    value: float | None
    value_label: str  # how `value` reads: "ratio", "diff", "max", "count" or "value"
    target: str  # e.g. "<= 0.3", or "info"
    met: bool | None  # None: informational, no target
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # one line printed under the table

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(value: float | None, op: str, limit: float) -> bool | None:
    if value is None or math.isnan(value):
        return False
    return value <= limit if op == "<=" else value >= limit


def ms(seconds: float) -> float:
    return seconds * 1000.0
