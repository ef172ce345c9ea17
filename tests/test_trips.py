"""Trips found in a synthetic two-year library with known trips (a fake Immich of the
tests' own, indexed into a real database), and the user's renames, hides, merges and splits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fake_immich import ALICE_KEY, FakeImmich
from tests.conftest import configure, error_of, settle

HOME = ("Paris", "France", 48.8566, 2.3522)
LISBON = ("Lisbon", "Portugal", 38.7223, -9.1393)
PORTO = ("Porto", "Portugal", 41.1579, -8.6291)
TOKYO = ("Tokyo", "Japan", 35.6762, 139.6503)
KYOTO = ("Kyoto", "Japan", 35.0116, 135.7681)
OSAKA = ("Osaka", "Japan", 34.6937, 135.5023)
TAVEUNI_WEST = ("Taveuni", "Fiji", -16.85, 179.95)
TAVEUNI_EAST = ("Taveuni", "Fiji", -16.80, -179.95)
BERLIN = ("Berlin", "Germany", 52.52, 13.405)
VERSAILLES = ("Versailles", "France", 48.8049, 2.1204)  # 17 km: a day out, not a trip

# day -> the places of that day's photos, in order; days not listed are spent at home
TRIPS: dict[date, list[tuple[str, str, float, float]]] = {}


def _days(first: date, last: date, places: list[tuple[str, str, float, float]]) -> None:
    day = first
    while day <= last:
        TRIPS[day] = places
        day += timedelta(days=1)


_days(date(2023, 4, 10), date(2023, 4, 14), [LISBON, LISBON, LISBON])
TRIPS[date(2023, 4, 10)] = [HOME, LISBON, LISBON]  # a morning at home, then the flight
_days(date(2023, 9, 1), date(2023, 9, 3), [LISBON, LISBON])
_days(date(2023, 9, 4), date(2023, 9, 6), [PORTO, PORTO])
_days(date(2024, 3, 5), date(2024, 3, 7), [TOKYO, TOKYO])
TRIPS[date(2024, 3, 8)] = []  # a day without any photo: still the same trip
_days(date(2024, 3, 9), date(2024, 3, 10), [KYOTO, KYOTO])
_days(date(2024, 3, 11), date(2024, 3, 12), [OSAKA, OSAKA])
_days(date(2024, 7, 1), date(2024, 7, 4), [TAVEUNI_WEST, TAVEUNI_EAST])
TRIPS[date(2024, 5, 18)] = [VERSAILLES, VERSAILLES]
_days(date(2024, 10, 1), date(2024, 10, 3), [BERLIN, BERLIN])
_days(date(2024, 10, 5), date(2024, 10, 6), [BERLIN, BERLIN])  # home on the 4th between them


def library_specs(first: date, last: date) -> list[dict[str, Any]]:
    specs = []
    day = first
    while day <= last:
        places = TRIPS.get(day, [HOME, HOME])
        for index, (city, country, lat, lon) in enumerate(places):
            taken = datetime(day.year, day.month, day.day, 9 + 5 * index, tzinfo=UTC)
            jitter = (index - 1) * 0.01
            specs.append({"taken": taken, "latitude": lat + jitter, "longitude": lon, "city": city,
                          "country": country, "is_favorite": city == "Kyoto" and index == 0})
        if day.day % 9 == 0:  # now and then a photo without GPS
            specs.append({"taken": datetime(day.year, day.month, day.day, 20, tzinfo=UTC)})
        day += timedelta(days=1)
    return specs


@pytest.fixture
def travels(own_fake: FakeImmich) -> FakeImmich:
    """The fake's sample library travels a lot: only the two years above instead."""
    for asset in own_fake.assets_of(ALICE_KEY):
        own_fake.delete_permanently(asset.id)
    own_fake.add_assets(ALICE_KEY, *library_specs(date(2023, 1, 1), date(2024, 12, 31)))
    return own_fake


@pytest.fixture
def settings(settings):
    return {**settings, "INDEX_ENABLED": "true", "SEARCH_CACHE_SECONDS": "0"}


@pytest.fixture
def alice(app, client, auth, travels):
    headers = auth.bearer("alice@example.com")
    configure(client, headers, travels)
    settle(app, 60)
    return headers


def trips(client, headers, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/users/me/trips", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["data"])


def by_start(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {trip["startedAt"][:10]: trip for trip in found}


def test_the_known_trips_are_found_with_names_ranges_and_extents(client, alice):
    found = by_start(trips(client, alice))
    assert sorted(found) == ["2023-04-10", "2023-09-01", "2024-03-05", "2024-07-01", "2024-10-01", "2024-10-05"]
    for trip in found.values():
        assert set(trip) >= {"id", "name", "startedAt", "endedAt", "photoCount", "bbox", "coverPhotoIds"}
        assert 1 <= len(trip["coverPhotoIds"]) <= 4
    lisbon = found["2023-04-10"]
    assert lisbon["name"] == "Lisbon, Portugal"
    # The morning at home before the flight is not part of it.
    assert lisbon["startedAt"] == "2023-04-10T14:00:00.000Z" and lisbon["endedAt"] == "2023-04-14T19:00:00.000Z"
    assert lisbon["photoCount"] == 2 + 3 * 4
    west, south, east, north = lisbon["bbox"]
    assert west == east == pytest.approx(-9.1393) and south < 38.7223 < north
    assert found["2023-09-01"]["name"] == "Lisbon & Porto"
    japan = found["2024-03-05"]
    assert japan["name"] == "Japan" and japan["endedAt"].startswith("2024-03-12")  # across the empty day
    assert japan["photoCount"] == 6 + 4 + 4 + 1  # and the photo without GPS of 9 March
    fiji = found["2024-07-01"]
    assert fiji["name"] == "Taveuni, Fiji"
    west, _, east, _ = fiji["bbox"]
    assert west == pytest.approx(179.95) and east == pytest.approx(-179.95)  # across the antimeridian
    assert found["2024-10-01"]["name"] == found["2024-10-05"]["name"] == "Berlin, Germany"


def test_trips_come_newest_first_with_stable_ids(app, client, alice, travels):
    first = trips(client, alice)
    assert [t["startedAt"] for t in first] == sorted((t["startedAt"] for t in first), reverse=True)
    travels.add_assets(ALICE_KEY, *library_specs(date(2025, 1, 1), date(2025, 1, 20)))
    assert client.post("/api/users/me/immich/index/sync", headers=alice).status_code == 202
    settle(app, 60)
    assert [t["id"] for t in trips(client, alice)] == [t["id"] for t in first]


def test_a_trip_is_renamed_hidden_and_shown_again(client, alice):
    lisbon = by_start(trips(client, alice))["2023-04-10"]
    path = f"/api/users/me/trips/{lisbon['id']}"
    renamed = client.patch(path, headers=alice, json={"name": "  Pastéis week "})
    assert renamed.status_code == 200 and renamed.get_json()["data"]["name"] == "Pastéis week"
    assert by_start(trips(client, alice))["2023-04-10"]["name"] == "Pastéis week"
    assert client.patch(path, headers=alice, json={"hidden": True}).get_json()["data"]["hidden"] is True
    assert "2023-04-10" not in by_start(trips(client, alice))
    assert by_start(trips(client, alice, includeHidden="true"))["2023-04-10"]["hidden"] is True
    restored = client.patch(path, headers=alice, json={"name": None, "hidden": False}).get_json()["data"]
    assert restored["name"] == "Lisbon, Portugal" and restored["hidden"] is False


def test_two_trips_are_merged_and_one_is_split(client, alice):
    found = by_start(trips(client, alice))
    first, second = found["2024-10-01"], found["2024-10-05"]
    merged = client.post("/api/users/me/trips/merge", headers=alice, json={"ids": [second["id"], first["id"]]})
    assert merged.status_code == 200, merged.get_json()
    trip = merged.get_json()["data"]
    assert trip["id"] == first["id"] and trip["endedAt"] == second["endedAt"]
    assert trip["photoCount"] == first["photoCount"] + second["photoCount"] + 2  # the home day between
    after = by_start(trips(client, alice))
    assert "2024-10-05" not in after and after["2024-10-01"]["endedAt"] == second["endedAt"]

    japan = found["2024-03-05"]
    split = client.post(f"/api/users/me/trips/{japan['id']}/split", headers=alice,
                        json={"at": "2024-03-11T00:00:00+00:00"})
    assert split.status_code == 200, split.get_json()
    parts = split.get_json()["data"]
    assert [p["startedAt"][:10] for p in parts] == ["2024-03-05", "2024-03-11"]
    assert parts[0]["id"] == japan["id"] and parts[1]["name"] == "Osaka, Japan"
    assert sum(p["photoCount"] for p in parts) == japan["photoCount"]
    assert [t["id"] for t in trips(client, alice)].count(japan["id"]) == 1


@pytest.mark.parametrize("method, path, body, status, message", [
    ("patch", "/api/users/me/trips/0123456789abcdef", {"name": "x"}, 404, "Trip not found"),
    ("patch", "/api/users/me/trips/unknown", {"name": "x"}, 404, "Not found"),
    ("patch", "/api/users/me/trips/{id}", {}, 400, "name"),
    ("patch", "/api/users/me/trips/{id}", {"name": ""}, 400, "name must be"),
    ("patch", "/api/users/me/trips/{id}", {"hidden": "yes"}, 400, "hidden must be"),
    ("post", "/api/users/me/trips/merge", {"ids": ["{id}"]}, 400, "at least two"),
    ("post", "/api/users/me/trips/merge", {"ids": ["{id}", "{id}"]}, 400, "different trips"),
    ("post", "/api/users/me/trips/merge", {"ids": ["{id}", "unknown"]}, 404, "Trip not found"),
    ("post", "/api/users/me/trips/{id}/split", {}, 400, "at is required"),
    ("post", "/api/users/me/trips/{id}/split", {"at": "2024-03-10"}, 400, "at must include a time"),
    ("post", "/api/users/me/trips/{id}/split", {"at": "2020-01-01T00:00:00Z"}, 400, "inside the trip"),
])
def test_bad_trip_edits_name_what_is_wrong(client, alice, method, path, body, status, message):
    trip_id = by_start(trips(client, alice))["2024-03-05"]["id"]
    filled = {key: [v.replace("{id}", trip_id) for v in value] if isinstance(value, list) else value
              for key, value in body.items()}
    response = getattr(client, method)(path.replace("{id}", trip_id), headers=alice, json=filled)
    assert response.status_code == status and message in error_of(response)


def test_trips_are_the_owners_alone_and_need_immich(client, auth, alice):
    alice_id = client.get("/api/users/me", headers=alice).get_json()["data"]["id"]
    bob = auth.bearer("bob@example.com")
    assert client.get(f"/api/users/{alice_id}/trips", headers=bob).status_code == 403
    assert client.post(f"/api/users/{alice_id}/trips/merge", headers=bob, json={"ids": []}).status_code == 403
    response = client.get("/api/users/me/trips", headers=bob)
    assert response.status_code == 409 and "Immich" in error_of(response)
