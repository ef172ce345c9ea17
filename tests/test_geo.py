"""The distance filter: Haversine on geopy's sphere, right across the antimeridian and poles."""

from __future__ import annotations

import random

import pytest
from geopy.distance import great_circle

from service.photos.geo import Circle, haversine_m, within
from service.photos.search import InvalidQuery, parse_query


def photo(lat, lon, name="p"):
    return {"id": name, "latitude": lat, "longitude": lon}


def test_haversine_agrees_with_geopy_great_circle():
    rng = random.Random(7)
    for _ in range(2000):
        a = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        b = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        assert haversine_m(*a, *b) == pytest.approx(great_circle(a, b).meters, rel=1e-6, abs=0.01)


def test_filter_matches_brute_force_everywhere():
    rng = random.Random(11)
    points = [photo(rng.uniform(-90, 90), rng.uniform(-180, 180), str(i)) for i in range(4000)]
    centres = [(0, 0), (48.85, 2.35), (-16.8, 179.9), (16.8, -179.99), (89.9, 10), (-89.5, -120), (0, 180)]
    for lat, lon in centres:
        for radius in (1_000, 250_000, 3_000_000, 15_000_000, 25_000_000):
            circle = Circle(lat, lon, radius)
            expected = {p["id"] for p in points if haversine_m(lat, lon, p["latitude"], p["longitude"]) <= radius}
            assert {p["id"] for p in within(points, circle)} == expected, (lat, lon, radius)


def test_antimeridian_centre_finds_photos_on_the_other_side():
    circle = Circle(-16.8, 179.9, 20_000)
    near_west = photo(-16.8, -179.95, "across")  # about 16 km away
    far = photo(-16.8, -179.5, "far")  # about 64 km away
    assert [p["id"] for p in within([near_west, far], circle)] == ["across"]


def test_near_the_pole_every_longitude_counts():
    circle = Circle(89.95, 0.0, 20_000)
    found = {p["id"] for p in within([photo(89.95, 180.0, "a"), photo(89.9, -90.0, "b"), photo(89.5, 0, "c")], circle)}
    assert found == {"a", "b"}


def test_photos_without_gps_are_left_out():
    circle = Circle(0, 0, 10_000_000)
    assert list(within([photo(None, None), {"id": "x", "latitude": 1.0, "longitude": None}], circle)) == []


def test_edge_of_the_circle_is_inclusive():
    circle = Circle(0, 0, haversine_m(0, 0, 0, 1))
    assert [p["id"] for p in within([photo(0, 1, "edge")], circle)] == ["edge"]


GOOD = {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-12-31T23:59:59+02:00"}


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"startDate": None}, "startDate"),
        ({"endDate": "2024-12-31"}, "endDate"),
        ({"startDate": "2024-01-01T00:00:00"}, "startDate"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"startDate": "2025-01-01T00:00:00Z"}, "startDate must not be after endDate"),
        ({"latitude": "10", "longitude": "10"}, "radiusMeters"),
        ({"latitude": "10"}, "longitude"),
        ({"latitude": "91", "longitude": "0", "radiusMeters": "5"}, "latitude"),
        ({"latitude": "0", "longitude": "-180.5", "radiusMeters": "5"}, "longitude"),
        ({"latitude": "0", "longitude": "0", "radiusMeters": "0"}, "radiusMeters"),
        ({"latitude": "0", "longitude": "0", "radiusMeters": "-3"}, "radiusMeters"),
        ({"latitude": "nan", "longitude": "0", "radiusMeters": "3"}, "latitude"),
        ({"latitude": "0", "longitude": "0", "radiusMeters": "inf"}, "radiusMeters"),
        ({"latitude": "north", "longitude": "0", "radiusMeters": "3"}, "latitude"),
    ],
)
def test_query_validation_names_the_parameter(changes, named):
    args = {**GOOD, **changes}
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(InvalidQuery, match=named):
        parse_query(args)


def test_query_converts_offsets_to_utc():
    query = parse_query({**GOOD, "latitude": "-16.8", "longitude": "179.9", "radiusMeters": "20000"})
    assert query.end.isoformat() == "2024-12-31T21:59:59+00:00"
    assert query.circle == Circle(-16.8, 179.9, 20000.0)
