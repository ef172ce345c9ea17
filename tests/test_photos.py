"""Photos through Photo Atlas against the fake Immich: search, thumbnails, downloads,
the connection test, and every upstream failure mapped to the contract's status."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from fake_immich import (
    ALICE_KEY,
    ALICE_KEY_NO_DOWNLOAD,
    ALICE_KEY_NO_READ,
    ALICE_KEY_NO_VIEW,
    BOB_KEY,
)
from tests.conftest import Auth, dispose, error_of, make_app

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
RANGE = "startDate=2023-01-01T00:00:00Z&endDate=2024-12-31T23:59:59Z"


pytestmark = pytest.mark.usefixtures("fresh_fake")


@pytest.fixture
def settings(settings):
    return {**settings, "IMMICH_READ_TIMEOUT": "1", "IMMICH_CONNECT_TIMEOUT": "1", "SEARCH_CACHE_SECONDS": "0"}


def configure(client, headers, fake, key=ALICE_KEY, enabled=True):
    body = {"serverUrl": fake.url, "apiKey": key, "enabled": enabled}
    response = client.put("/api/users/me/immich-config", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def alice(client, auth, fake):
    headers = auth.bearer("alice@example.com")
    configure(client, headers, fake)
    return headers


def search(client, headers, query=RANGE, ref="me"):
    return client.get(f"/api/users/{ref}/immich/photos/search?{query}", headers=headers)


def ids(response):
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["data"]["totalCount"] == len(body["data"]["photos"])
    return [p["id"] for p in body["data"]["photos"]]


# ------------------------------------------------------------------ search


def test_search_returns_exactly_the_fakes_truth(client, alice, fake):
    response = search(client, alice)
    assert ids(response) == fake.expected_search(ALICE_KEY, START, END)
    photos = response.get_json()["data"]["photos"]
    first = photos[0]
    assert {"id", "originalFileName", "takenAt", "latitude", "longitude", "thumbnailUrl", "downloadUrl"} <= set(first)
    assert first["thumbnailUrl"] == f"/api/users/me/immich/photos/{first['id']}/thumbnail"
    assert first["downloadUrl"] == f"/api/users/me/immich/photos/{first['id']}/download"
    assert all(p["takenAt"].endswith("Z") for p in photos if p["takenAt"])
    assert [p["takenAt"] for p in photos] == sorted(p["takenAt"] for p in photos)
    assert any(p["latitude"] is None for p in photos)  # no-GPS photos are included without a filter
    assert ALICE_KEY not in response.get_data(as_text=True)
    assert fake.url not in response.get_data(as_text=True)


def test_search_sends_what_immich_expects(client, alice, fake):
    ids(search(client, alice))
    bodies = [r.json for r in fake.requests if r.path == "/api/search/metadata"]
    assert bodies, "no search reached the fake"
    for body in bodies:
        assert body["type"] == "IMAGE" and body["withExif"] is True and body["size"] == 1000
        assert body["takenAfter"] == "2023-01-01T00:00:00.000Z"
        assert body["takenBefore"] == "2024-12-31T23:59:59.000Z"
        assert None not in body.values()
    assert all(r.headers.get("x-api-key") == ALICE_KEY for r in fake.requests)


def test_search_by_user_id_uses_that_form_in_urls(client, alice, fake):
    user_id = client.get("/api/users/me", headers=alice).get_json()["data"]["id"]
    photos = search(client, alice, ref=user_id).get_json()["data"]["photos"]
    assert photos[0]["thumbnailUrl"].startswith(f"/api/users/{user_id}/immich/photos/")


def test_more_than_a_thousand_photos_follow_every_page(client, auth, fake):
    headers = auth.bearer("bulk@example.com")
    configure(client, headers, fake, key=BOB_KEY)
    start, end = datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 3, 31, tzinfo=UTC)
    fake.add_bulk_assets(BOB_KEY, 2500, start=start, end=end, center=(52.52, 13.40), spread_km=30, seed=5)
    fake.clear_requests()
    found = ids(search(client, headers, "startDate=2021-03-01T00:00:00Z&endDate=2021-03-31T00:00:00Z"))
    assert len(found) >= 2500
    assert found == fake.expected_search(BOB_KEY, start, end)
    pages = sorted(r.json["page"] for r in fake.requests if r.path == "/api/search/metadata")
    assert pages[:3] == [1, 2, 3]


@pytest.mark.parametrize(
    "centre, radius",
    [((48.8566, 2.3522), 5_000), ((40.7128, -74.0060), 50_000), ((-16.8, 179.9), 30_000),
     ((89.9, 0.0), 50_000), ((35.68, 139.69), 1)],
)
def test_radius_filter_matches_the_fakes_truth(client, alice, fake, centre, radius):
    lat, lon = centre
    response = search(client, alice, f"{RANGE}&latitude={lat}&longitude={lon}&radiusMeters={radius}")
    expected = fake.expected_search(ALICE_KEY, START, END, lat=lat, lon=lon, radius_m=radius)
    assert ids(response) == expected
    assert all(p["latitude"] is not None for p in response.get_json()["data"]["photos"])


def test_antimeridian_search_finds_both_sides(client, alice, fake):
    response = search(client, alice, f"{RANGE}&latitude=-16.8&longitude=179.9&radiusMeters=40000")
    longitudes = [p["longitude"] for p in response.get_json()["data"]["photos"]]
    assert any(lon > 0 for lon in longitudes) and any(lon < 0 for lon in longitudes)


def test_empty_range_is_an_empty_list(client, alice):
    response = search(client, alice, "startDate=1990-01-01T00:00:00Z&endDate=1990-01-02T00:00:00Z")
    assert response.get_json() == {"success": True, "data": {"photos": [], "totalCount": 0, "source": "live",
                                                             "indexedAt": None}}


def test_videos_and_trashed_assets_never_appear(client, alice, fake):
    found = set(ids(search(client, alice)))
    hidden = {a.id for a in fake.assets if a.type != "IMAGE" or a.is_trashed}
    assert hidden and not (found & hidden)


def test_users_see_only_their_own_library(client, auth, alice, fake):
    auth.add_user("bob@example.com")
    bob = auth.bearer("bob@example.com")
    configure(client, bob, fake, key=BOB_KEY)
    alice_ids, bob_ids = set(ids(search(client, alice))), set(ids(search(client, bob)))
    assert alice_ids and bob_ids and not (alice_ids & bob_ids)
    alice_id = client.get("/api/users/me", headers=alice).get_json()["data"]["id"]
    assert search(client, bob, ref=alice_id).status_code == 403
    some = next(iter(alice_ids))
    assert client.get(f"/api/users/me/immich/photos/{some}/thumbnail", headers=bob).status_code == 404


def test_bad_parameters_are_400_and_nothing_goes_upstream(client, alice, fake):
    fake.clear_requests()
    for query in ["", "startDate=2024-01-01T00:00:00Z", "startDate=2024-01-01&endDate=2024-02-01",
                  "startDate=2024-02-01T00:00:00Z&endDate=2024-01-01T00:00:00Z",
                  f"{RANGE}&latitude=10&longitude=10", f"{RANGE}&latitude=100&longitude=0&radiusMeters=1",
                  f"{RANGE}&latitude=0&longitude=0&radiusMeters=0"]:
        response = search(client, alice, query)
        assert response.status_code == 400, query
        error_of(response)
    assert fake.requests == []


def test_not_configured_and_disabled_are_409_saying_what_to_do(client, auth, fake):
    headers = auth.bearer("new@example.com")
    response = search(client, headers)
    assert response.status_code == 409 and "Settings" in error_of(response)
    configure(client, headers, fake, enabled=False)
    response = search(client, headers)
    assert response.status_code == 409 and "disabled" in error_of(response)


# ------------------------------------------------------------------ upstream failures


@pytest.mark.parametrize(
    "fault, status, words",
    [("down", 502, "could not be reached"), ("500", 502, "error"), ("invalid_json", 502, "not JSON"),
     ("slow", 504, "in time"), ("redirect", 502, "redirect")],
)
def test_upstream_faults_map_to_the_contract(client, alice, fake, fault, status, words):
    fake.set_fault(fault)
    started = time.monotonic()
    response = search(client, alice)
    assert response.status_code == status
    message = error_of(response)
    assert words in message
    assert time.monotonic() - started < 4
    assert ALICE_KEY not in response.get_data(as_text=True)


def test_redirects_are_not_followed(client, alice, fake):
    fake.set_fault("redirect")
    fake.clear_requests()
    assert search(client, alice).status_code == 502
    assert len([r for r in fake.requests if r.path == "/api/search/metadata"]) == 1


def test_a_rejected_key_is_502_never_401(client, auth, fake):
    headers = auth.bearer()
    configure(client, headers, fake, key="wrong-key")
    response = search(client, headers)
    assert response.status_code == 502
    assert error_of(response) == "Immich rejected the API key"
    assert client.get("/api/users/me", headers=headers).status_code == 200  # still signed in


def test_dns_answer_flipping_to_loopback_after_the_check_is_refused(settings, fake):
    answers = iter(["192.168.77.10"])

    def flipping(host, port):
        return [next(answers, "127.0.0.1")]

    app = make_app({**settings, "RESOLVER": flipping, "ALLOWED_IMMICH_HOSTS": "private,external"})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    body = {"serverUrl": f"http://immich.lan.example:{fake.port}", "apiKey": ALICE_KEY, "enabled": True}
    assert client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
    fake.clear_requests()
    response = search(client, headers)
    assert response.status_code == 502
    assert "not allowed here; ask the operator" in error_of(response)
    assert fake.requests == []
    dispose(app)


def test_a_name_that_stops_resolving_is_reported_as_such(settings, fake):
    answers = iter([["192.168.77.10"]])
    app = make_app({**settings, "RESOLVER": lambda host, port: next(answers, []),
                    "ALLOWED_IMMICH_HOSTS": "private,external"})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    body = {"serverUrl": f"http://immich.lan.example:{fake.port}", "apiKey": ALICE_KEY, "enabled": True}
    assert client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
    response = search(client, headers)
    assert response.status_code == 502
    message = error_of(response)
    assert "did not resolve" in message and "ALLOWED_IMMICH_HOSTS" not in message and "allowed" not in message
    dispose(app)


def test_connection_goes_to_the_checked_address_with_the_original_host(settings, fake):
    app = make_app({**settings, "RESOLVER": lambda host, port: ["127.0.0.1"]})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    body = {"serverUrl": f"http://photos.home.example:{fake.port}", "apiKey": ALICE_KEY, "enabled": True}
    assert client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
    fake.clear_requests()
    assert search(client, headers).status_code == 200
    assert fake.requests[0].headers["host"] == f"photos.home.example:{fake.port}"
    dispose(app)


# ------------------------------------------------------------------ thumbnails


def alice_photo(client, alice, fake):
    photo_id = ids(search(client, alice))[0]
    return fake.asset(photo_id)


def test_thumbnail_and_preview_pass_the_type_through(client, alice, fake):
    asset = alice_photo(client, alice, fake)
    thumb = client.get(f"/api/users/me/immich/photos/{asset.id}/thumbnail", headers=alice)
    assert thumb.status_code == 200
    assert thumb.mimetype == "image/webp" and thumb.data[:4] == b"RIFF" and thumb.data[8:12] == b"WEBP"
    assert thumb.headers["Cache-Control"] == "private, max-age=3600"
    assert thumb.headers["ETag"]
    preview = client.get(f"/api/users/me/immich/photos/{asset.id}/thumbnail?size=preview", headers=alice)
    assert preview.mimetype == "image/jpeg" and preview.data[:3] == b"\xff\xd8\xff"
    bad = client.get(f"/api/users/me/immich/photos/{asset.id}/thumbnail?size=huge", headers=alice)
    assert bad.status_code == 400 and "size" in error_of(bad)


def test_thumbnail_etag_answers_304(client, alice, fake):
    asset = alice_photo(client, alice, fake)
    url = f"/api/users/me/immich/photos/{asset.id}/thumbnail"
    etag = client.get(url, headers=alice).headers["ETag"]
    again = client.get(url, headers={**alice, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get(url, headers={**alice, "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data


def test_photo_id_must_be_a_uuid_and_nothing_goes_upstream(client, alice, fake):
    fake.clear_requests()
    for bad in ["not-a-uuid", "..%2F..%2Fserver%2Fversion", "1234", "%00", "a" * 36]:
        for kind in ("thumbnail", "download"):
            response = client.get(f"/api/users/me/immich/photos/{bad}/{kind}", headers=alice)
            assert response.status_code in (400, 404), (bad, kind)
            error_of(response)
    assert fake.requests == []


def test_unknown_or_foreign_photo_is_404(client, alice, fake):
    for photo_id in (str(uuid.uuid4()), next(a.id for a in fake.assets if a.owner_key_user == "bob")):
        for kind in ("thumbnail", "download"):
            response = client.get(f"/api/users/me/immich/photos/{photo_id}/{kind}", headers=alice)
            assert response.status_code == 404
            assert error_of(response) == "Photo not found"


# ------------------------------------------------------------------ downloads


def test_download_streams_the_original_as_an_attachment(client, alice, fake):
    asset = alice_photo(client, alice, fake)
    response = client.get(f"/api/users/me/immich/photos/{asset.id}/download", headers=alice)
    assert response.status_code == 200
    assert response.data == fake.original_bytes(asset.id)
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert response.headers["Content-Type"].startswith(asset.mime_type)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert asset.original_file_name.split(".")[0] in disposition


def test_download_ranges(client, alice, fake):
    asset = alice_photo(client, alice, fake)
    url = f"/api/users/me/immich/photos/{asset.id}/download"
    part = client.get(url, headers={**alice, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.data == fake.original_bytes(asset.id, 10, 19)
    assert part.headers["Content-Range"] == f"bytes 10-19/{asset.size}"
    tail = client.get(url, headers={**alice, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == fake.original_bytes(asset.id)[-5:]
    beyond = client.get(url, headers={**alice, "Range": f"bytes={asset.size + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{asset.size}"
    error_of(beyond)


def test_non_ascii_name_uses_filename_star(client, alice, fake):
    asset = next(a for a in fake.assets if a.owner_key_user == "alice" and not a.original_file_name.isascii()
                 and a.type == "IMAGE" and not a.is_trashed)
    response = client.get(f"/api/users/me/immich/photos/{asset.id}/download", headers=alice)
    disposition = response.headers["Content-Disposition"]
    from urllib.parse import quote

    assert f"filename*=UTF-8''{quote(asset.original_file_name, safe='')}" in disposition
    assert disposition.encode("latin-1")  # the header itself stays ASCII-safe


def test_hostile_name_cannot_inject_headers(client, alice, fake):
    asset = next(a for a in fake.assets if a.owner_key_user == "alice" and ("\r" in a.original_file_name
                 or "\n" in a.original_file_name))
    response = client.get(f"/api/users/me/immich/photos/{asset.id}/download", headers=alice)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "Set-Cookie" not in response.headers
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and ";" not in fallback and "/" not in fallback


def test_download_cut_midway_is_an_error_not_a_short_file(client, alice, fake):
    asset = alice_photo(client, alice, fake)
    fake.set_fault("cut")
    response = client.get(f"/api/users/me/immich/photos/{asset.id}/download", headers=alice, buffered=False)
    with pytest.raises(ConnectionResetError):  # the server drops the connection mid-body
        response.get_data()
    response.close()


# ------------------------------------------------------------------ connection test


def connection_test(client, headers, body=None):
    kwargs = {"json": body} if body is not None else {}
    response = client.post("/api/users/me/immich-config/test", headers=headers, **kwargs)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_connection_test_reports_version_user_and_permissions(client, alice, fake):
    report = connection_test(client, alice)
    assert report["reachable"] is True
    assert report["serverVersion"] == "2.7.4"
    assert report["immichUser"] == "alice@example.com"
    assert report["missingPermissions"] == []
    assert all(report["permissions"].values())


@pytest.mark.parametrize(
    "key, missing",
    [(ALICE_KEY_NO_VIEW, ["asset.view"]), (ALICE_KEY_NO_DOWNLOAD, ["asset.download"]),
     (ALICE_KEY_NO_READ, ["asset.read"])],
)
def test_connection_test_names_the_missing_permission(client, auth, fake, key, missing):
    headers = auth.bearer()
    report = connection_test(client, headers, {"serverUrl": fake.url, "apiKey": key})
    assert report["reachable"] is True
    assert report["missingPermissions"] == missing
    assert missing[0] in report["reason"]


def test_connection_test_failures_are_reported_not_raised(client, auth, fake):
    headers = auth.bearer()
    wrong = connection_test(client, headers, {"serverUrl": fake.url, "apiKey": "nope"})
    assert wrong == {"reachable": False, "serverVersion": "2.7.4", "reason": "Immich rejected the API key"}
    fake.set_fault("down")
    down = connection_test(client, headers, {"serverUrl": fake.url, "apiKey": ALICE_KEY})
    assert down["reachable"] is False and down["reason"]
    refused = client.post("/api/users/me/immich-config/test", headers=headers,
                          json={"serverUrl": "http://169.254.169.254", "apiKey": "k"})
    assert refused.status_code == 400 and "can never be used" in error_of(refused)
    nothing = client.post("/api/users/me/immich-config/test", headers=headers)
    assert nothing.status_code == 409


def test_aborted_download_releases_the_upstream_connection(client, alice, fake):
    large = fake.asset(fake.special["large"])
    assert large.size >= 32 * 1024 * 1024
    assert fake.wait_open_connections(0) == 0
    response = client.get(f"/api/users/me/immich/photos/{large.id}/download", headers=alice, buffered=False)
    assert response.status_code == 200 and int(response.headers["Content-Length"]) == large.size
    chunks = response.iter_encoded()
    first = next(chunks)
    assert first == fake.original_bytes(large.id, 0, len(first) - 1)
    assert fake.open_connections == 1
    response.close()  # the browser went away
    assert fake.wait_open_connections(0) == 0
