"""Great-circle distance filtering: Haversine on a sphere, with a bounding-box pre-filter."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_m: float

    def bounding_box(self) -> tuple[float, float, list[tuple[float, float]]]:
        """(min lat, max lat, longitude intervals) that contain the whole circle."""
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
            spans = [(lo + 360.0, 180.0), (-180.0, hi)]
        elif hi > 180.0:
            spans = [(lo, 180.0), (-180.0, hi - 360.0)]
        else:
            spans = [(lo, hi)]
        return math.degrees(min_lat), math.degrees(max_lat), spans

    def contains(self, latitude: float, longitude: float) -> bool:
        return haversine_m(self.latitude, self.longitude, latitude, longitude) <= self.radius_m


def within(photos: Iterable[dict[str, Any]], circle: Circle) -> Iterator[dict[str, Any]]:
    """The photos with coordinates inside the circle; photos without GPS are left out."""
    min_lat, max_lat, spans = circle.bounding_box()
    # A small margin keeps float rounding at the box's edge from dropping a photo.
    margin = 1e-9
    min_lat -= margin
    max_lat += margin
    spans = [(lo - margin, hi + margin) for lo, hi in spans]
    lat0 = math.radians(circle.latitude)
    lon0 = math.radians(circle.longitude)
    cos_lat0 = math.cos(lat0)
    limit = circle.radius_m
    two_r = 2 * EARTH_RADIUS_M
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    for photo in photos:
        lat = photo["latitude"]
        lon = photo["longitude"]
        if lat is None or lon is None or not (min_lat <= lat <= max_lat):
            continue
        if not any(lo <= lon <= hi for lo, hi in spans):
            continue
        p = radians(lat)
        h = sin((p - lat0) / 2) ** 2 + cos_lat0 * cos(p) * sin((radians(lon) - lon0) / 2) ** 2
        if two_r * asin(min(1.0, sqrt(h))) <= limit:
            yield photo
