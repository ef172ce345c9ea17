"""Great-circle distance filtering: Haversine on a sphere, with a bounding-box pre-filter,
vectorised over all photos at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8

Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_m: float

    def bounding_box(self) -> tuple[float, float, list[tuple[float, float]]]:
        """(min lat, max lat, longitude intervals) that hold the whole circle."""
        angular = self.radius_m / EARTH_RADIUS_M
        if angular >= math.pi:
            return -90.0, 90.0, [(-180.0, 180.0)]
        lat = math.radians(self.latitude)
        min_lat, max_lat = lat - angular, lat + angular
        if min_lat <= -math.pi / 2 or max_lat >= math.pi / 2:
            # The circle holds a pole: every longitude.
            return (math.degrees(max(min_lat, -math.pi / 2)), math.degrees(min(max_lat, math.pi / 2)),
                    [(-180.0, 180.0)])
        delta = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(lat))))
        lo, hi = self.longitude - delta, self.longitude + delta
        if lo < -180.0:
            return math.degrees(min_lat), math.degrees(max_lat), [(lo + 360.0, 180.0), (-180.0, hi)]
        if hi > 180.0:
            return math.degrees(min_lat), math.degrees(max_lat), [(lo, 180.0), (-180.0, hi - 360.0)]
        return math.degrees(min_lat), math.degrees(max_lat), [(lo, hi)]


def coordinates(photos: Sequence[dict[str, Any]]) -> tuple[Floats, Floats]:
    """Latitude and longitude arrays of the photos, NaN where a photo has no GPS."""
    lat = np.fromiter((np.nan if p["latitude"] is None else p["latitude"] for p in photos), np.float64, len(photos))
    lon = np.fromiter((np.nan if p["longitude"] is None else p["longitude"] for p in photos), np.float64, len(photos))
    return lat, lon


def within_mask(latitudes: Floats, longitudes: Floats, circle: Circle) -> Mask:
    """True for each point inside the circle (edge included); NaN points are never inside."""
    min_lat, max_lat, spans = circle.bounding_box()
    margin = 1e-9  # float rounding at the box's edge must not drop a point
    with np.errstate(invalid="ignore"):
        box = (latitudes >= min_lat - margin) & (latitudes <= max_lat + margin)
        in_lon = np.zeros_like(box)
        for lo, hi in spans:
            in_lon |= (longitudes >= lo - margin) & (longitudes <= hi + margin)
    candidates = np.flatnonzero(box & in_lon)
    mask = np.zeros(latitudes.shape, dtype=bool)
    if candidates.size:
        lat = np.radians(latitudes[candidates])
        dlon = np.radians(longitudes[candidates] - circle.longitude)
        lat0 = math.radians(circle.latitude)
        h = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin(dlon / 2) ** 2
        distance = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        mask[candidates[distance <= circle.radius_m]] = True
    return mask


def rounded(values: Floats, decimals: int | None) -> Floats:
    """Coordinates to `decimals` places (as they are without): the one rounding every answer
    of a share uses, so a photo's place and its cluster's agree."""
    return values if decimals is None else np.round(values, decimals)


def within(photos: Sequence[dict[str, Any]], circle: Circle) -> list[dict[str, Any]]:
    """The photos with coordinates inside the circle; photos without GPS are left out."""
    mask = within_mask(*coordinates(photos), circle)
    return [photo for photo, inside in zip(photos, mask, strict=True) if inside]
