"""A GPX track of where a user really was, for location-history tests.

The positions come from the assets (their hidden true position, else their GPS); between two
of them the track moves in a straight line at constant speed, sampled every N seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from time import gmtime
from xml.sax.saxutils import escape

Fix = tuple[int, float, float]  # (ms since the epoch, latitude, longitude)


def _iso(ms: int) -> str:
    t = gmtime(ms // 1000)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"


def _between(a: Fix, b: Fix, ms: int) -> tuple[float, float]:
    if b[0] == a[0]:
        return a[1], a[2]
    f = (ms - a[0]) / (b[0] - a[0])
    dlon = (b[2] - a[2] + 180.0) % 360.0 - 180.0  # the short way, across the antimeridian too
    lon = (a[2] + f * dlon + 180.0) % 360.0 - 180.0
    return a[1] + f * (b[1] - a[1]), lon


def sample_track(
    fixes: Sequence[Fix],
    *,
    every_seconds: float,
    noise_m: float = 0.0,
    seed: object = 0,
) -> list[Fix]:
    """Points every ``every_seconds`` from the first fix to the last (fixes sorted by time),
    each moved by Gaussian noise of ``noise_m`` metres when asked."""
    if every_seconds <= 0:
        raise ValueError("every_seconds must be positive")
    if not fixes:
        return []
    rng = random.Random(f"photo-atlas/fake-immich/track/{seed}")
    step = int(every_seconds * 1000)
    out: list[Fix] = []
    j = 0
    for ms in range(fixes[0][0], fixes[-1][0] + 1, step):
        while j + 1 < len(fixes) and fixes[j + 1][0] <= ms:
            j += 1
        lat, lon = _between(fixes[j], fixes[min(j + 1, len(fixes) - 1)], ms)
        if noise_m:
            lat += rng.gauss(0.0, noise_m) / 111_320.0
            lon += rng.gauss(0.0, noise_m) / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
            lat = max(-90.0, min(90.0, lat))
            lon = (lon + 180.0) % 360.0 - 180.0
        out.append((ms, lat, lon))
    return out


def gpx(points: Sequence[Fix], *, name: str) -> str:
    """A GPX 1.1 document with one track of one segment."""
    rows = "".join(
        f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{_iso(ms)}</time></trkpt>\n' for ms, lat, lon in points
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="fake-immich" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"<trk><name>{escape(name)}</name><trkseg>\n{rows}</trkseg></trk>\n</gpx>\n"
    )
