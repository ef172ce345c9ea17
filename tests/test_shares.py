"""Shares against a fake Immich of their own and a real database: what a share shows (its
range, its circle, never a privacy zone), what it refuses to serve (every other photo, by
every endpoint), expiry and revocation across two app instances, password throttling, token
guessing, and nothing of the owner's in any answer or log line."""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fake_immich import ALICE_KEY, BOB_KEY, FakeImmich
from service.components import components
from service.photos import map_data
from tests.conftest import configure, dispose, error_of, make_app, settle

LISBON = (38.7223, -9.1393)
PORTO = (41.1579, -8.6291)
START, END = "2029-03-01T00:00:00Z", "2029-03-10T23:59:59Z"


@pytest.fixture
def own_fake() -> Iterator[FakeImmich]:
    server = FakeImmich().start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings):
    return {**settings, "INDEX_ENABLED": "true", "SEARCH_CACHE_SECONDS": "0", "INDEX_LEASE_SECONDS": "3",
            "SHARE_UNLOCK_RATE_LIMIT": "5 per 15 minutes"}


def soon(days: float = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


class Trip:
    """Alice's photos of a trip: who should be in which share."""

    def __init__(self, fake: FakeImmich) -> None:
        def add(taken: str, position: tuple[float, float] | None = None, **fields: Any) -> str:
            where = {"latitude": position[0], "longitude": position[1]} if position else {}
            return fake.add_assets(ALICE_KEY, {"taken": taken, **where, **fields})[0]

        self.in_circle = add("2029-03-02T10:00:00Z", (38.72231234, -9.13934567), city="Lisbon", country="Portugal")
        self.home = add("2029-03-03T10:00:00Z", (38.7400, -9.1500))  # inside the privacy zone
        self.zone_edge = add("2029-03-03T11:00:00Z", (38.7500, -9.1000))  # the zone's centre, radius 0.5 m
        self.elsewhere = add("2029-03-04T10:00:00Z", PORTO)  # outside the circle
        self.no_position = add("2029-03-05T10:00:00Z")
        self.too_late = add("2029-04-15T10:00:00Z", LISBON)  # outside the range
        self.older = [a.id for a in fake.assets_of(ALICE_KEY) if a.id not in self.all_trip()]

    def all_trip(self) -> set[str]:
        return {self.in_circle, self.home, self.zone_edge, self.elsewhere, self.no_position, self.too_late}


@pytest.fixture
def world(app, client, auth, own_fake):
    headers = auth.bearer("alice@example.com")
    trip = Trip(own_fake)
    response = client.put("/api/users/me/immich-config", headers=headers,
                          json={"serverUrl": own_fake.url, "apiKey": ALICE_KEY, "enabled": True})
    assert response.status_code == 200
    assert components(app).index_syncer.wait_idle(30)
    zones = [{"name": "Home", "latitude": 38.7400, "longitude": -9.1500, "radiusMeters": 300},
             {"name": "Office", "latitude": 38.7500, "longitude": -9.1000, "radiusMeters": 0.5}]
    response = client.put("/api/users/me/privacy-zones", json=zones, headers=headers)
    assert response.status_code == 200, response.get_json()
    return headers, trip


def create(client, headers, **fields: Any) -> dict[str, Any]:
    body = {"name": "Lisbon", "startDate": START, "endDate": END, "expiresAt": soon(), **fields}
    response = client.post("/api/users/me/shares", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json()["data"])


def token_of(share: dict[str, Any]) -> str:
    return str(share["url"]).removeprefix("/s/")


def shared_ids(client, token: str) -> list[str]:
    response = client.get(f"/api/shares/{token}/photos")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["totalCount"] == len(data["photos"])
    return [photo["id"] for photo in data["photos"]]


def media_statuses(client, token: str, photo_id: str) -> list[int]:
    base = f"/api/shares/{token}/photos/{photo_id}"
    statuses = []
    for path in (f"{base}/thumbnail", f"{base}/thumbnail?size=preview", f"{base}/download"):
        response = client.get(path)
        statuses.append(response.status_code)
        response.close()
    return statuses


# ------------------------------------------------------------------ the owner's API


def test_a_new_share_answers_its_fields_and_link_but_never_the_password(client, world):
    headers, _ = world
    share = create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000,
                   password="open sesame", allowDownload=True, locationPrecision="100m")
    assert share["url"].startswith("/s/") and len(token_of(share)) >= 32
    assert share["hasPassword"] is True and share["viewCount"] == 0 and share["expired"] is False
    assert share["radiusMeters"] == 10_000 and share["locationPrecision"] == "100m"
    assert "password" not in share and "open sesame" not in str(share)
    listed = client.get("/api/users/me/shares", headers=headers).get_json()["data"]
    assert [s["id"] for s in listed] == [share["id"]] and listed[0]["url"] is None


@pytest.mark.parametrize("change", [
    {"name": ""}, {"startDate": "2029-03-01"}, {"endDate": "2029-02-01T00:00:00Z"},
    {"expiresAt": "2020-01-01T00:00:00Z"}, {"expiresAt": "2099-01-01T00:00:00Z"}, {"latitude": 1.0},
    {"locationPrecision": "10m"}, {"allowDownload": "yes"}, {"password": "abc"}, {"owner": "x"},
])
def test_a_bad_share_is_refused_naming_the_field(client, world, change):
    headers, _ = world
    body = {"name": "Lisbon", "startDate": START, "endDate": END, "expiresAt": soon(), **change}
    response = client.post("/api/users/me/shares", json=body, headers=headers)
    assert response.status_code == 400
    assert error_of(response)


def test_shares_and_zones_are_the_owners_own(client, auth, world):
    headers, _ = world
    share = create(client, headers)
    bob = auth.bearer("bob@example.com")
    assert client.get("/api/users/me/shares", headers=bob).get_json()["data"] == []
    assert client.delete(f"/api/users/me/shares/{share['id']}", headers=bob).status_code == 404
    alice_id = client.get("/api/users/me", headers=headers).get_json()["data"]["id"]
    assert client.get(f"/api/users/{alice_id}/privacy-zones", headers=bob).status_code == 403
    assert client.get("/api/users/me/privacy-zones", headers=bob).get_json()["data"] == []


@pytest.mark.parametrize("zones", [
    {"name": "x"}, [{"name": "x", "latitude": 91, "longitude": 0, "radiusMeters": 10}],
    [{"name": "x", "latitude": 0, "longitude": 0, "radiusMeters": 0}],
    [{"name": "x", "latitude": 0, "longitude": 0, "radiusMeters": 200_000}],
    [{"name": "", "latitude": 0, "longitude": 0, "radiusMeters": 10}],
    [{"name": "x", "latitude": 0, "longitude": 0, "radiusMeters": 10}] * 51,
])
def test_bad_privacy_zones_are_refused(client, world, zones):
    headers, _ = world
    assert client.put("/api/users/me/privacy-zones", json=zones, headers=headers).status_code == 400


# ------------------------------------------------------------------ a trip's share

TOKYO = (35.6762, 139.6503)


@pytest.fixture
def tokyo_trip(client, world, own_fake) -> tuple[dict[str, Any], list[str]]:
    """Three days in Tokyo (UTC+9) in 2031, the first photo taken on the morning of its first
    local day, which is still the day before in UTC: the trip as the API lists it, its photos."""
    headers, _ = world
    taken = ["2031-05-01T23:00:00Z", "2031-05-02T12:00:00Z", "2031-05-03T05:00:00Z", "2031-05-04T10:00:00Z"]
    ids = own_fake.add_assets(ALICE_KEY, *({"taken": when, "latitude": TOKYO[0] + 0.01 * i, "longitude": TOKYO[1],
                                            "city": "Tokyo", "country": "Japan", "utc_offset_minutes": 540,
                                            "time_zone": "Asia/Tokyo"} for i, when in enumerate(taken)))
    assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    assert components(client.application).index_syncer.wait_idle(30)
    found = client.get("/api/users/me/trips", headers=headers).get_json()["data"]
    (trip,) = [t for t in found if t["startedAt"].startswith("2031")]
    assert trip["photoCount"] == 4 and trip["startedAt"] == "2031-05-01T23:00:00.000Z"
    return trip, ids


def test_a_trips_share_covers_its_first_to_last_local_day_and_nothing_else_changes(client, world, tokyo_trip):
    headers, _ = world
    trip, ids = tokyo_trip
    body = {"name": "Tokyo", "tripId": trip["id"], "expiresAt": soon(), "locationPrecision": "1km",
            "allowDownload": True}
    response = client.post("/api/users/me/shares", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    share = response.get_json()["data"]
    # Midnight of 2 May to the end of 4 May in Tokyo.
    assert (share["startDate"], share["endDate"]) == ("2031-05-01T15:00:00.000Z", "2031-05-04T14:59:59.999Z")
    assert share["locationPrecision"] == "1km" and share["allowDownload"] is True and share["latitude"] is None
    assert "tripId" not in share
    listed = client.get("/api/users/me/shares", headers=headers).get_json()["data"]
    assert [(s["name"], s["startDate"], s["endDate"]) for s in listed] == [
        ("Tokyo", share["startDate"], share["endDate"])]
    assert sorted(shared_ids(client, token_of(share))) == sorted(ids)
    dates = {"startDate": share["startDate"], "endDate": share["endDate"]}
    clusters = map_answer(client, token_of(share), "clusters", **WORLD_VIEW, **dates)
    assert clusters["totalCount"] == clusters["inViewCount"] == 4


@pytest.mark.parametrize("change", [
    {"tripId": "0123456789abcdef"}, {"tripId": 7}, {"tripId": None}, {"tripId": ""},
    {"tripId": "TRIP", "startDate": START}, {"tripId": "TRIP", "endDate": END},
    {"tripId": "TRIP", "startDate": START, "endDate": END},
])
def test_a_trips_share_with_an_unknown_trip_or_dates_beside_it_is_refused_and_nothing_made(
        client, world, tokyo_trip, change):
    headers, _ = world
    trip, _ = tokyo_trip
    body = {"name": "Tokyo", "expiresAt": soon(),
            **{key: trip["id"] if value == "TRIP" else value for key, value in change.items()}}
    response = client.post("/api/users/me/shares", json=body, headers=headers)
    assert response.status_code == 400 and "tripId" in error_of(response)
    assert client.get("/api/users/me/shares", headers=headers).get_json()["data"] == []


def test_another_users_trip_is_unknown_to_them(app, client, auth, world, tokyo_trip, own_fake):
    trip, _ = tokyo_trip
    bob = auth.bearer("bob@example.com")
    body = {"name": "Not mine", "tripId": trip["id"], "expiresAt": soon()}
    # Without Immich settings of his own, bob has no trips to name yet: he is told to set it up.
    assert client.post("/api/users/me/shares", json=body, headers=bob).status_code == 409
    configure(client, bob, own_fake, BOB_KEY)
    settle(app, 30)
    response = client.post("/api/users/me/shares", json=body, headers=bob)
    assert response.status_code == 400 and "tripId" in error_of(response)
    assert client.get("/api/users/me/shares", headers=bob).get_json()["data"] == []


# ------------------------------------------------------------------ what a share shows


def test_a_circle_share_shows_only_its_range_and_circle_outside_every_zone(client, world):
    headers, trip = world
    share = create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000)
    assert shared_ids(client, token_of(share)) == [trip.in_circle]


def test_a_share_without_a_circle_shows_photos_without_a_position_but_never_a_zone(client, world):
    headers, trip = world
    share = create(client, headers)
    assert shared_ids(client, token_of(share)) == [trip.in_circle, trip.elsewhere, trip.no_position]


def test_the_live_path_shows_the_same_photos_as_the_index(settings, client, world):
    headers, trip = world
    share = create(client, headers)
    live = make_app({**settings, "INDEX_ENABLED": "false"}, migrate=False)
    try:
        assert shared_ids(live.test_client(), token_of(share)) == [trip.in_circle, trip.elsewhere,
                                                                      trip.no_position]
    finally:
        dispose(live)


def test_every_photo_outside_the_share_is_unreachable_by_every_endpoint(client, world):
    headers, trip = world
    share = create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000,
                   allowDownload=True)
    token = token_of(share)
    assert media_statuses(client, token, trip.in_circle) == [200, 200, 200]
    outside = [trip.home, trip.zone_edge, trip.elsewhere, trip.no_position, trip.too_late, *trip.older[:15],
               str(uuid.uuid4())]
    for photo_id in outside:
        assert media_statuses(client, token, photo_id) == [404, 404, 404], photo_id


@pytest.mark.parametrize(("precision", "expected"), [("exact", (38.72231234, -9.13934567)),
                                                     ("100m", (38.722, -9.139)), ("1km", (38.72, -9.14))])
def test_coordinates_are_rounded_to_the_shares_precision(client, world, precision, expected):
    headers, _ = world
    share = create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000,
                   locationPrecision=precision)
    photo = client.get(f"/api/shares/{token_of(share)}/photos").get_json()["data"]["photos"][0]
    assert (photo["latitude"], photo["longitude"]) == expected and photo["city"] == "Lisbon"
    assert photo["thumbnailUrl"] == f"/api/shares/{token_of(share)}/photos/{photo['id']}/thumbnail"
    assert photo["downloadUrl"] is None


def test_download_is_403_unless_the_share_allows_it(client, world):
    headers, trip = world
    share = create(client, headers)
    response = client.get(f"/api/shares/{token_of(share)}/photos/{trip.in_circle}/download")
    assert response.status_code == 403 and error_of(response)


def test_the_page_counts_views_and_the_api_does_not(client, world):
    headers, _ = world
    share = create(client, headers)
    token = token_of(share)
    for _ in range(2):
        page = client.get(f"/s/{token}")
        assert page.status_code == 200
    shared_ids(client, token)
    listed = client.get("/api/users/me/shares", headers=headers).get_json()["data"][0]
    assert listed["viewCount"] == 2
    assert page.headers["X-Robots-Tag"].startswith("noindex") and page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert '<meta name="robots" content="noindex">' in page.get_data(as_text=True)


def test_a_share_whose_owner_deleted_the_immich_settings_serves_nothing(client, world):
    headers, trip = world
    share = create(client, headers)
    assert client.delete("/api/users/me/immich-config", headers=headers).status_code == 200
    response = client.get(f"/api/shares/{token_of(share)}/photos")
    assert response.status_code == 410 and error_of(response)
    assert media_statuses(client, token_of(share), trip.in_circle)[:2] == [410, 410]


# ------------------------------------------------------------------ the share's map

WORLD_VIEW = {"west": -180, "south": -85, "east": 180, "north": 85, "zoom": 0}
ZOOMS = (0, 5, 9, 12, 15, 18)


def map_answer(client, token: str, kind: str, **query: Any) -> dict[str, Any]:
    params = {"startDate": START, "endDate": END, **query}
    response = client.get(f"/api/shares/{token}/map/{kind}", query_string=params)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json()["data"])


def view_around(latitude: float, longitude: float, zoom: int) -> dict[str, Any]:
    """A phone-sized view centred there (about 400 by 800 pixels at the zoom)."""
    half = 400 * 360 / (256 * 2 ** zoom)
    return {"west": longitude - half / 2, "east": longitude + half / 2, "south": max(-85.0, latitude - half),
            "north": min(85.0, latitude + half), "zoom": zoom}


def everything_reachable(client, token: str, **dates: str) -> tuple[set[str], int]:
    """Every photo id the map lets a visitor reach (clusters, their cells, pages of the view)
    at every zoom around Lisbon and over the world, and the most photos any answer counted."""
    seen: set[str] = set()
    counted = 0
    views = [WORLD_VIEW] + [view_around(*LISBON, zoom) for zoom in ZOOMS] + [view_around(38.74, -9.15, z)
                                                                               for z in ZOOMS]
    for view in views:
        clusters = map_answer(client, token, "clusters", **view, **dates)
        counted = max(counted, clusters["totalCount"], clusters["inViewCount"])
        for cluster in clusters["clusters"]:
            seen.add(cluster["photoId"])
            cell = map_answer(client, token, "photos", **view, **dates, cell=cluster["cell"], limit=500)
            assert cell["totalCount"] == cluster["count"]
            seen.update(photo["id"] for photo in cell["photos"])
        page = map_answer(client, token, "photos", **view, **dates, limit=500)
        seen.update(photo["id"] for photo in page["photos"])
        bars = map_answer(client, token, "histogram", **view, **dates)
        assert sum(bin_["count"] for bin_ in bars["bins"]) == bars["count"] == clusters["inViewCount"]
    return seen, counted


def test_the_map_of_a_circle_share_counts_and_reaches_its_photos_alone(client, world):
    headers, trip = world
    token = token_of(create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000))
    world_map = map_answer(client, token, "clusters", **WORLD_VIEW)
    assert [c["count"] for c in world_map["clusters"]] == [1]
    assert (world_map["totalCount"], world_map["inViewCount"], world_map["withoutLocationCount"]) == (1, 1, 0)
    bars = map_answer(client, token, "histogram")
    assert bars["count"] == 1 and sum(bin_["count"] for bin_ in bars["bins"]) == 1
    assert [p["id"] for p in map_answer(client, token, "photos")["photos"]] == [trip.in_circle]
    seen, counted = everything_reachable(client, token)
    assert seen == {trip.in_circle} and counted == 1


def test_the_map_of_a_share_never_counts_or_reaches_a_zone_or_anything_outside_its_range(client, world):
    headers, trip = world
    token = token_of(create(client, headers))
    world_map = map_answer(client, token, "clusters", **WORLD_VIEW)
    # The photo without a position counts (a share without a circle shows it); the zones' do not.
    assert (world_map["totalCount"], world_map["inViewCount"], world_map["withoutLocationCount"]) == (3, 2, 1)
    seen, counted = everything_reachable(client, token)
    assert seen == {trip.in_circle, trip.elsewhere} and counted == 3
    # Asking for more dates than the share's gives no more; dates beside them give nothing.
    wider = {"startDate": "1900-01-01T00:00:00Z", "endDate": "2099-12-31T23:59:59Z"}
    seen, counted = everything_reachable(client, token, **wider)
    assert seen == {trip.in_circle, trip.elsewhere} and counted == 3
    later = {"startDate": "2029-04-01T00:00:00Z", "endDate": "2029-04-30T23:59:59Z"}
    seen, counted = everything_reachable(client, token, **later)
    assert seen == set() and counted == 0
    assert sum(b["count"] for b in map_answer(client, token, "histogram", **later)["bins"]) == 0


def test_a_guessed_cell_of_a_photo_in_a_zone_holds_nothing(client, world, own_fake):
    headers, trip = world
    token = token_of(create(client, headers, locationPrecision="exact"))
    home = own_fake.asset(trip.home)
    for zoom in ZOOMS:
        view = view_around(home.latitude, home.longitude, zoom)
        alone = map_data.MapColumns.from_photos([{"id": trip.home, "latitude": home.latitude,
                                                  "longitude": home.longitude, "takenAt": None}])
        viewport = map_data.Viewport(view["west"], view["south"], view["east"], view["north"], zoom)
        cell = map_data.clusters(alone, viewport)[0]["cell"]
        found = map_answer(client, token, "photos", **view, cell=cell)
        assert trip.home not in {p["id"] for p in found["photos"]}
        bars = map_answer(client, token, "histogram", **view, cell=cell)
        assert bars["count"] == found["totalCount"] == len(found["photos"])
        if zoom >= 9:  # the zone's cell is the zone's alone
            assert found["totalCount"] == 0 and found["photos"] == []


def on_grid(value: float, decimals: int) -> bool:
    scaled = value * 10 ** decimals
    return abs(scaled - round(scaled)) < 1e-6


@pytest.mark.parametrize(("precision", "decimals"), [("100m", 3), ("1km", 2)])
def test_map_places_and_bounds_are_rounded_to_the_shares_precision(client, world, own_fake, precision, decimals):
    headers, trip = world
    # Three photos a few dozen metres apart: one cluster at every zoom, its centre a mean.
    extra = own_fake.add_assets(ALICE_KEY, *({"taken": f"2029-03-06T1{i}:00:00Z", "latitude": 38.7223 + 0.0003 * i,
                                              "longitude": -9.1393 - 0.0004 * i} for i in range(3)))
    assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    assert components(client.application).index_syncer.wait_idle(30)
    token = token_of(create(client, headers, locationPrecision=precision))
    for view in [WORLD_VIEW] + [view_around(*LISBON, zoom) for zoom in ZOOMS]:
        for cluster in map_answer(client, token, "clusters", **view)["clusters"]:
            values = [cluster["latitude"], cluster["longitude"], *cluster["bbox"]]
            assert all(on_grid(v, decimals) for v in values), (view["zoom"], cluster)
    page = map_answer(client, token, "photos", limit=500)["photos"]
    assert {p["id"] for p in page} == {trip.in_circle, trip.elsewhere, *extra}
    for photo in page:
        assert on_grid(photo["latitude"], decimals) and on_grid(photo["longitude"], decimals)
        assert photo["thumbnailUrl"] == f"/api/shares/{token}/photos/{photo['id']}/thumbnail"
        assert photo["downloadUrl"] is None
    # At street level a photo alone is drawn where its rounded place is, and nowhere more exact.
    lone = map_answer(client, token, "clusters", **view_around(*PORTO, 18))["clusters"]
    assert [(c["latitude"], c["longitude"]) for c in lone] == [(round(PORTO[0], decimals), round(PORTO[1], decimals))]


def test_an_exact_share_places_its_photos_exactly(client, world):
    headers, trip = world
    token = token_of(create(client, headers, latitude=LISBON[0], longitude=LISBON[1], radiusMeters=10_000,
                            allowDownload=True))
    (cluster,) = map_answer(client, token, "clusters", **view_around(*LISBON, 18))["clusters"]
    assert (cluster["latitude"], cluster["longitude"]) == (38.72231234, -9.13934567)
    (photo,) = map_answer(client, token, "photos")["photos"]
    assert photo["downloadUrl"] == f"/api/shares/{token}/photos/{trip.in_circle}/download"


def test_the_live_map_shows_the_same_photos_as_the_index(settings, client, world):
    headers, trip = world
    token = token_of(create(client, headers))
    live = make_app({**settings, "INDEX_ENABLED": "false"}, migrate=False)
    try:
        visitor = live.test_client()
        world_map = map_answer(visitor, token, "clusters", **WORLD_VIEW)
        assert world_map["source"] == "live"
        assert (world_map["totalCount"], world_map["inViewCount"], world_map["withoutLocationCount"]) == (3, 2, 1)
        seen, _ = everything_reachable(visitor, token)
        assert seen == {trip.in_circle, trip.elsewhere}
    finally:
        dispose(live)


MAP_PATHS = (f"/map/clusters?startDate={START}&endDate={END}&west=-180&south=-85&east=180&north=85&zoom=0",
             f"/map/histogram?startDate={START}&endDate={END}", f"/map/photos?startDate={START}&endDate={END}")


def test_the_map_answers_a_revoked_expired_locked_or_emptied_share_as_its_photos_do(client, world):
    headers, _ = world
    revoked, expiring = create(client, headers), create(client, headers, name="Soon over")
    locked, emptied = create(client, headers, password="open sesame"), create(client, headers, name="Emptied")
    client.delete(f"/api/users/me/shares/{revoked['id']}", headers=headers)
    client.patch(f"/api/users/me/shares/{expiring['id']}", headers=headers, json={"expiresAt": soon(days=1 / 86400)})
    time.sleep(1.2)
    unknown = "A" * len(token_of(revoked))
    for path in MAP_PATHS:
        gone = [client.get(f"/api/shares/{token_of(revoked)}{path}"), client.get(f"/api/shares/{unknown}{path}")]
        assert [r.status_code for r in gone] == [404, 404] and error_of(gone[0]) == error_of(gone[1])
        expired = client.get(f"/api/shares/{token_of(expiring)}{path}")
        assert expired.status_code == 410 and expired.get_json()["code"] == "share_expired"
        refused = client.get(f"/api/shares/{token_of(locked)}{path}")
        assert refused.status_code == 403 and refused.get_json()["code"] == "share_locked"
        assert client.get(f"/api/shares/{token_of(emptied)}{path}").status_code == 200
    # A bad query to a share that is gone says only that it is gone.
    assert client.get(f"/api/shares/{token_of(revoked)}/map/clusters").status_code == 404
    assert client.delete("/api/users/me/immich-config", headers=headers).status_code == 200
    for path in MAP_PATHS:
        response = client.get(f"/api/shares/{token_of(emptied)}{path}")
        assert response.status_code == 410 and response.get_json()["code"] == "share_unavailable"


def test_a_bad_map_query_is_a_400_naming_the_parameter(client, world):
    headers, _ = world
    token = token_of(create(client, headers))
    response = client.get(f"/api/shares/{token}/map/clusters", query_string={"startDate": START, "endDate": END})
    assert response.status_code == 400 and "west" in error_of(response)
    response = client.get(f"/api/shares/{token}/map/photos", query_string={"startDate": START, "endDate": END,
                                                                           "cell": "1:2"})
    assert response.status_code == 400 and "cell" in error_of(response)


# ------------------------------------------------------------------ expiry, revocation, guessing


def test_revocation_and_expiry_hold_at_once_on_another_instance(settings, client, world):
    headers, _ = world
    second = make_app(settings, migrate=False)
    try:
        other = second.test_client()
        revoked, expiring = create(client, headers), create(client, headers, name="Soon over")
        assert other.get(f"/s/{token_of(revoked)}").status_code == 200
        assert other.get(f"/api/shares/{token_of(expiring)}/photos").status_code == 200
        assert client.delete(f"/api/users/me/shares/{revoked['id']}", headers=headers).status_code == 200
        assert other.get(f"/s/{token_of(revoked)}").status_code == 404
        assert other.get(f"/api/shares/{token_of(revoked)}/photos").status_code == 404
        response = client.patch(f"/api/users/me/shares/{expiring['id']}", headers=headers,
                                json={"expiresAt": soon(days=2 / 86400)})
        assert response.status_code == 200
        time.sleep(2.2)
        assert other.get(f"/s/{token_of(expiring)}").status_code == 410
        response = other.get(f"/api/shares/{token_of(expiring)}/photos")
        assert response.status_code == 410 and error_of(response)
        listed = client.get("/api/users/me/shares", headers=headers).get_json()["data"]
        assert [(s["name"], s["expired"]) for s in listed] == [("Soon over", True)]
    finally:
        dispose(second)


def test_unknown_and_revoked_tokens_answer_alike_in_about_the_same_time(client, world):
    headers, _ = world
    revoked = token_of(create(client, headers))
    share_id = client.get("/api/users/me/shares", headers=headers).get_json()["data"][0]["id"]
    client.delete(f"/api/users/me/shares/{share_id}", headers=headers)
    unknown = "A" * len(revoked)

    def answer(token: str, path: str) -> tuple[int, bytes, float]:
        started = time.perf_counter()
        response = client.get(path.format(token))
        return response.status_code, response.get_data(), time.perf_counter() - started

    for path in ("/s/{}", "/api/shares/{}/photos", f"/api/shares/{{}}/photos/{uuid.uuid4()}/thumbnail"):
        a, b = answer(revoked, path), answer(unknown, path)
        assert a[:2] == b[:2] and a[0] == 404, path
    # Interleaved, so a busy machine slows both alike; medians, so one stall does not count.
    times: dict[str, list[float]] = {revoked: [], unknown: []}
    for _ in range(21):
        for token in (revoked, unknown):
            times[token].append(answer(token, "/api/shares/{}/photos")[2])
    assert abs(statistics.median(times[revoked]) - statistics.median(times[unknown])) < 0.03


# ------------------------------------------------------------------ passwords


def test_a_locked_share_needs_the_password_and_wrong_ones_are_throttled(client, world):
    headers, trip = world
    share = create(client, headers, password="open sesame")
    token = token_of(share)
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert 'id="unlock-form"' in page and "timeline-strip" not in page
    response = client.get(f"/api/shares/{token}/photos")
    assert response.status_code == 403 and response.get_json()["code"] == "share_locked"
    for _ in range(5):
        assert client.post(f"/api/shares/{token}/unlock", json={"password": "guess"}).status_code == 401
    refused = client.post(f"/api/shares/{token}/unlock", json={"password": "open sesame"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert client.get(f"/api/shares/{token}/photos").status_code == 403


def test_the_right_password_opens_that_share_alone(client, world):
    headers, trip = world
    first, second = create(client, headers, password="open sesame"), create(client, headers, password="other one")
    response = client.post(f"/api/shares/{token_of(first)}/unlock", json={"password": "open sesame"})
    assert response.status_code == 200
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2 and all("HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    assert {c.split("Path=")[1].split(";")[0] for c in cookies} == {f"/s/{token_of(first)}",
                                                                   f"/api/shares/{token_of(first)}"}
    assert shared_ids(client, token_of(first)) == [trip.in_circle, trip.elsewhere, trip.no_position]
    assert client.get(f"/api/shares/{token_of(second)}/photos").status_code == 403
    value = cookies[0].split(";")[0].split("=", 1)[1]
    client.set_cookie("share_access", value, path=f"/api/shares/{token_of(second)}")
    assert client.get(f"/api/shares/{token_of(second)}/photos").status_code == 403


# ------------------------------------------------------------------ nothing of the owner's


def test_nothing_of_the_owners_reaches_a_visitor_or_the_log(app, client, auth, world, own_fake, caplog):
    headers, trip = world
    token = token_of(create(client, headers, allowDownload=True))
    visitor = app.test_client()
    secrets_ = ["alice@example.com", "Alice", own_fake.url, ALICE_KEY, "127.0.0.1:" + str(own_fake.port)]
    with caplog.at_level(logging.DEBUG):
        answers = [visitor.get(f"/s/{token}"), visitor.get(f"/api/shares/{token}/photos"),
                   visitor.get(f"/api/shares/{token}/photos/{trip.elsewhere}/download"),
                   visitor.get(f"/api/shares/{token}/photos/{trip.home}/thumbnail"),
                   visitor.get(f"/s/{'B' * 32}")]
    seen = "".join(r.get_data(as_text=True) if r.mimetype != "image/jpeg" else "" for r in answers)
    seen += "".join(str(r.headers) for r in answers)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in secrets_:
        assert secret not in seen and secret not in logged, secret
    assert token not in logged
    assert any(getattr(record, "path", "") == "/s/<token>" for record in caplog.records), "the request log was seen"


def test_each_share_has_its_own_request_limit(settings, client, world):
    headers, _ = world
    busy, quiet = token_of(create(client, headers)), token_of(create(client, headers, name="Quiet"))
    limited = make_app({**settings, "SHARE_RATE_LIMIT": "3 per minute", "RATELIMIT_KEY_PREFIX": "share-limit-test"},
                       migrate=False)
    try:
        visitor = limited.test_client()
        assert [visitor.get(f"/api/shares/{busy}/photos").status_code for _ in range(4)] == [200, 200, 200, 429]
        refused = visitor.get(f"/api/shares/{busy}/photos")
        assert int(refused.headers["Retry-After"]) > 0 and error_of(refused)
        assert visitor.get(f"/api/shares/{quiet}/photos").status_code == 200
    finally:
        dispose(limited)
