"""The table printed at the end and the JSON written beside it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.stats import Row

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _number(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if abs(value) < 1000 else f"{value:,.0f} ms"
    if unit == "us":
        return f"{value:.2f} µs"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "MiB/s":
        return f"{value:.0f} MiB/s"
    if unit == "req/s":
        return f"{value:.0f}/s"
    return f"{value:.3g}"


def _value(row: Row) -> str:
    if row.value is None or math.isnan(row.value):
        return "-"
    if row.value_label == "ratio":
        return f"{row.value:.2f}x"
    if row.value_label == "diff":
        sign = "+" if row.value >= 0 else "-"
        return f"{sign}{_number(abs(row.value), row.unit)}"
    if row.value_label == "count":
        return f"{row.value:.0f}"
    if row.value_label == "max":
        return f"max {_number(row.value, row.unit)}"
    return _number(row.value, row.unit)


def _met(row: Row) -> str:
    if row.met is None:
        return ""
    return "yes" if row.met else "NO"


def table(rows: list[Row]) -> str:
    header = ("measurement", "Photo Atlas", "baseline", "ratio/value", "target", "met?")
    lines = [header] + [
        (row.name, _number(row.photo_atlas, row.unit), _number(row.baseline, row.unit), _value(row),
         row.target, _met(row))
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in enumerate(line) if i]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  * {row.note}" for row in rows if row.note]
    return "\n".join(out + ([""] + notes if notes else []))


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(payload: dict[str, Any], path: Path | None = None) -> Path:
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload), indent=2, ensure_ascii=False) + "\n")
    return path
