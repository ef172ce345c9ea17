"""Where a photo was, from the user's tracks: pure numpy, no database.

A photo's time is looked up in each track with np.searchsorted; between the two track points
around it (no further apart than the largest gap allowed) the position moves along the great
circle at constant speed, which also takes the short way across the antimeridian. The
camera clock offset is fitted from photos that have both GPS and a track point near their
time: the offset that brings their GPS closest to the track."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.photos.geo import EARTH_RADIUS_M

Times = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

BASE_ACCURACY_M = 10.0  # what a phone's or logger's fix is good for
BEND_SHARE = 0.15  # how far a path may bend from the straight line, as a share of the distance
WANDER_M_PER_S = 0.5  # how far one may wander unseen, per second from the nearest point

FIT_RANGE_S = 12 * 3600
FIT_SAMPLE = 600  # photos the fit looks at, evenly spread
FIT_CAP_M = 1_000.0  # a miss counts at most this much, so one wrong GPS cannot pull the fit
FIT_NEAR_S = 5 * 60  # a photo counts for the fit when a track point is this close to it
FIT_MIN_PHOTOS = 3


@dataclass(frozen=True)
class TrackPoints:
    """One track's points, sorted by time."""

    times: Times
    latitudes: Floats
    longitudes: Floats

    def __len__(self) -> int:
        return len(self.times)


@dataclass(frozen=True)
class Estimates:
    """Per photo: the estimated position and its accuracy in metres, NaN where none."""

    latitudes: Floats
    longitudes: Floats
    accuracies: Floats

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.accuracies)


def _unit(latitudes: Floats, longitudes: Floats) -> Floats:
    lat, lon = np.radians(latitudes), np.radians(longitudes)
    cos_lat = np.cos(lat)
    return np.stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)), axis=-1)


def _along_one(track: TrackPoints, times: Times, max_gap_ms: int) -> Estimates:
    n = len(track)
    size = len(times)
    nan = np.full(size, np.nan)
    if n == 0 or size == 0:
        return Estimates(nan, nan.copy(), nan.copy())
    right = np.searchsorted(track.times, times, side="left")
    after = np.minimum(right, n - 1)
    exact = track.times[after] == times
    before = np.where(exact, after, np.maximum(right - 1, 0))
    t0, t1 = track.times[before], track.times[after]
    gap = t1 - t0
    usable = exact | ((right > 0) & (right < n) & (gap <= max_gap_ms))
    if not usable.any():
        return Estimates(nan, nan.copy(), nan.copy())
    index = np.flatnonzero(usable)
    b, a, t = before[index], after[index], times[index]
    span = gap[index].astype(np.float64)
    fraction = np.where(span > 0, (t - t0[index]) / np.where(span > 0, span, 1.0), 0.0)
    p0 = _unit(track.latitudes[b], track.longitudes[b])
    p1 = _unit(track.latitudes[a], track.longitudes[a])
    chord = np.linalg.norm(p1 - p0, axis=1)
    omega = 2 * np.arcsin(np.minimum(1.0, chord / 2))  # the angle between them, exact when small
    sin_omega = np.sin(omega)
    straight = sin_omega < 1e-12
    safe = np.where(straight, 1.0, sin_omega)
    w0 = np.where(straight, 1 - fraction, np.sin((1 - fraction) * omega) / safe)
    w1 = np.where(straight, fraction, np.sin(fraction * omega) / safe)
    point = w0[:, None] * p0 + w1[:, None] * p1
    point /= np.linalg.norm(point, axis=1)[:, None]
    distance = omega * EARTH_RADIUS_M
    nearest_s = np.minimum(t - t0[index], t1[index] - t) / 1000.0
    latitudes, longitudes, accuracies = nan, nan.copy(), nan.copy()
    latitudes[index] = np.degrees(np.arcsin(np.clip(point[:, 2], -1.0, 1.0)))
    longitudes[index] = np.degrees(np.arctan2(point[:, 1], point[:, 0]))
    accuracies[index] = BASE_ACCURACY_M + BEND_SHARE * distance + WANDER_M_PER_S * nearest_s
    return Estimates(latitudes, longitudes, accuracies)


def estimate(tracks: Sequence[TrackPoints], times: Times, *, max_gap_ms: int) -> Estimates:
    """Each time's position on the tracks; where tracks overlap, the most accurate one."""
    size = len(times)
    best = Estimates(np.full(size, np.nan), np.full(size, np.nan), np.full(size, np.nan))
    for track in tracks:
        found = _along_one(track, times, max_gap_ms)
        better = found.found & ~(found.accuracies >= best.accuracies)  # NaN compares False: NaN loses
        if better.any():
            best.latitudes[better] = found.latitudes[better]
            best.longitudes[better] = found.longitudes[better]
            best.accuracies[better] = found.accuracies[better]
    return best


def distance_m(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Haversine, element by element, on the same sphere as the radius filter."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    result: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


@dataclass(frozen=True)
class ClockFit:
    offset_seconds: int | None  # how far the camera's clock runs ahead of the track's
    photos: int  # photos with GPS and a track point near their time at that offset


def _near_track(tracks: Sequence[TrackPoints], times: Times, within_ms: int) -> npt.NDArray[np.bool_]:
    near = np.zeros(len(times), dtype=bool)
    for track in tracks:
        if len(track) == 0:
            continue
        right = np.searchsorted(track.times, times)
        after = track.times[np.minimum(right, len(track) - 1)]
        before = track.times[np.maximum(right - 1, 0)]
        near |= (np.abs(after - times) <= within_ms) | (np.abs(times - before) <= within_ms)
    return near


def _cost(tracks: Sequence[TrackPoints], times: Times, latitudes: Floats, longitudes: Floats,
          offsets_s: npt.NDArray[np.int64], max_gap_ms: int) -> Floats:
    """The mean capped miss of the photos' GPS from the track, for each candidate offset."""
    count = len(times)
    shifted = (times[None, :] - offsets_s[:, None] * 1000).ravel()
    found = estimate(tracks, shifted, max_gap_ms=max_gap_ms)
    miss = distance_m(found.latitudes, found.longitudes, np.tile(latitudes, len(offsets_s)),
                      np.tile(longitudes, len(offsets_s)))
    miss = np.where(np.isnan(miss), FIT_CAP_M, np.minimum(miss, FIT_CAP_M)).reshape(len(offsets_s), count)
    # Among equally good offsets, the smallest wins (a still morning fits many).
    costs: Floats = miss.mean(axis=1) + np.abs(offsets_s) * 1e-6
    return costs


def fit_clock_offset(tracks: Sequence[TrackPoints], times: Times, latitudes: Floats, longitudes: Floats, *,
                     max_gap_ms: int) -> ClockFit:
    """The camera clock offset (whole seconds, within ±12 h) that brings the GPS of these
    photos closest to the tracks; None when too few photos lie near a track."""
    candidates = _near_track(tracks, times, FIT_RANGE_S * 1000 + max_gap_ms)
    if candidates.sum() < FIT_MIN_PHOTOS:
        return ClockFit(None, 0)
    index = np.flatnonzero(candidates)
    if len(index) > FIT_SAMPLE:
        index = index[np.linspace(0, len(index) - 1, FIT_SAMPLE).round().astype(np.int64)]
    t, lat, lon = times[index], latitudes[index], longitudes[index]
    best = 0
    for step, reach in ((60, FIT_RANGE_S), (5, 90), (1, 6)):
        offsets = np.arange(best - reach, best + reach + 1, step, dtype=np.int64)
        offsets = offsets[np.abs(offsets) <= FIT_RANGE_S]
        costs = np.concatenate([_cost(tracks, t, lat, lon, part, max_gap_ms)
                                for part in np.array_split(offsets, max(1, math.ceil(len(offsets) / 64)))])
        best = int(offsets[int(np.argmin(costs))])
    used = int(_near_track(tracks, times - best * 1000, FIT_NEAR_S * 1000).sum())
    if used < FIT_MIN_PHOTOS:
        return ClockFit(None, used)
    return ClockFit(best, used)
