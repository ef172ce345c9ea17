"""A track simplified for drawing at a zoom level: points closer than about a pixel to the
previous kept one are dropped, then a stride keeps the line under a fixed size. Lines break
where the track has a gap longer than the largest gap estimates bridge."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.tracks.positions import TrackPoints

MAX_POINTS = 5_000  # all lines of one answer together
PIXEL_FRACTION = 1.5  # keep a point when it is this many pixels from the last kept one


def simplify(tracks: Sequence[TrackPoints], *, zoom: int, max_gap_ms: int) -> list[list[list[float]]]:
    """[[lat, lon], ...] lines; longitudes unwrapped, so a line crossing the antimeridian
    goes on past ±180 instead of across the whole map."""
    cell = 360.0 / (256 * 2 ** zoom) * PIXEL_FRACTION  # degrees of one screen pixel
    pieces: list[tuple[np.ndarray, np.ndarray]] = []
    for track in tracks:
        if len(track) == 0:
            continue
        breaks = np.flatnonzero(np.diff(track.times) > max_gap_ms) + 1
        for lat, lon in zip(np.split(track.latitudes, breaks), np.split(track.longitudes, breaks), strict=True):
            lon = np.degrees(np.unwrap(np.radians(lon)))
            keep = np.ones(len(lat), dtype=bool)
            if len(lat) > 2:
                qlat, qlon = np.floor(lat / cell), np.floor(lon * np.cos(np.radians(lat)) / cell)
                keep[1:] = (qlat[1:] != qlat[:-1]) | (qlon[1:] != qlon[:-1])
                keep[-1] = True
            pieces.append((lat[keep], lon[keep]))
    total = sum(len(lat) for lat, _ in pieces)
    stride = max(1, -(-total // MAX_POINTS))
    lines = []
    for lat, lon in pieces:
        if stride > 1 and len(lat) > 2:
            index = np.unique(np.append(np.arange(0, len(lat), stride), len(lat) - 1))
            lat, lon = lat[index], lon[index]
        if len(lat) >= 2:
            lines.append(np.stack((np.round(lat, 6), np.round(lon, 6)), axis=1).tolist())
    return lines
