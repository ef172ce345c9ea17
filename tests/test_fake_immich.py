"""The fake Immich server, exercised over real HTTP with ``requests``."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import requests

from fake_immich import (
    ALICE_ID,
    ALICE_KEY,
    ALICE_KEY_NO_DOWNLOAD,
    ALICE_KEY_NO_READ,
    ALICE_KEY_NO_UPDATE,
    ALICE_KEY_NO_VIEW,
    BOB_ID,
    BOB_KEY,
    FakeImmich,
    haversine_m,
)

WINDOW = (datetime(2023, 3, 1, tzinfo=UTC), datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC))
CACHE_CONTROL = "private, max-age=86400, no-transform"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@pytest.fixture(scope="module")
def fake():
    with FakeImmich() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake):
    def reset():
        fake.set_fault(None)
        fake.latency = 0.0
        fake.slow_seconds = 5.0
        fake.redirect_to = None
        fake.clear_requests()

    reset()
    yield
    reset()
    assert fake.errors == []


def settle(fake):
    """Connection counts start from zero: idle keep-alive connections left by earlier tests
    are closed by the fake after its keep-alive timeout."""
    assert fake.wait_open_connections(0, timeout=fake.keep_alive_timeout + 5) == 0


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def fresh():
    """A fake of its own, for tests that change the library."""
    with FakeImmich() as server:
        yield server


def search(http, fake, key=ALICE_KEY, **body):
    return http.post(f"{fake.url}/api/search/metadata", json=body, headers={"x-api-key": key})


def put(http, fake, path, body, key=ALICE_KEY):
    return http.put(f"{fake.url}{path}", json=body, headers={"x-api-key": key})


def get(http, fake, path, key=ALICE_KEY, **kwargs):
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["x-api-key"] = key
    return http.get(f"{fake.url}{path}", headers=headers, **kwargs)


def error_body(response) -> dict:
    body = response.json()
    cid = body.pop("correlationId")
    assert isinstance(cid, str) and len(cid) == 8
    return body


def collect(http, fake, key=ALICE_KEY, **body):
    """Follow nextPage; return (ids in order, pages)."""
    ids, pages, page = [], [], 1
    while page is not None:
        r = search(http, fake, key, page=page, **body)
        assert r.status_code == 200, r.text
        assets = r.json()["assets"]
        assert assets["total"] == assets["count"] == len(assets["items"])
        pages.append(assets)
        ids += [item["id"] for item in assets["items"]]
        nxt = assets["nextPage"]
        if nxt is not None:
            assert nxt == str(page + 1)
        page = None if nxt is None else int(nxt)
    return ids, pages


# ---- server, users, auth -------------------------------------------------------------------


def test_server_version_needs_no_authentication(http, fake):
    for key in (None, "not-a-key"):
        r = get(http, fake, "/api/server/version", key=key)
        assert r.status_code == 200
        assert r.json() == {"major": 2, "minor": 7, "patch": 4}
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers["ETag"].startswith('W/"')


def test_users_me(http, fake):
    alice = get(http, fake, "/api/users/me").json()
    assert alice["id"] == ALICE_ID and alice["email"] == "alice@example.com"
    assert alice["quotaUsageInBytes"] == sum(a.size for a in fake.assets_of("alice"))
    bob = get(http, fake, "/api/users/me", key=BOB_KEY).json()
    assert bob["id"] == BOB_ID and bob["isAdmin"] is False
    for limited in (ALICE_KEY_NO_READ, ALICE_KEY_NO_VIEW, ALICE_KEY_NO_DOWNLOAD):
        assert get(http, fake, "/api/users/me", key=limited).json()["id"] == ALICE_ID


def test_missing_invalid_and_wrong_kind_of_credentials(http, fake):
    r = get(http, fake, "/api/users/me", key=None)
    assert r.status_code == 401
    assert error_body(r) == {
        "message": "Authentication required",
        "error": "Unauthorized",
        "statusCode": 401,
    }
    r = get(http, fake, "/api/users/me", key="wrong")
    assert r.status_code == 401
    assert error_body(r) == {"message": "Invalid API key", "error": "Unauthorized", "statusCode": 401}
    # A bearer token is taken for a session token, and wins over x-api-key.
    r = get(http, fake, "/api/users/me", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert r.status_code == 401 and r.json()["message"] == "Invalid user token"
    # The key may also travel as ?apiKey=.
    r = http.get(f"{fake.url}/api/users/me", params={"apiKey": ALICE_KEY})
    assert r.status_code == 200
    # Unknown routes are 404 whatever the credentials.
    r = get(http, fake, "/api/nope")
    assert r.status_code == 404 and r.json()["message"] == "Cannot GET /api/nope"


@pytest.mark.parametrize(
    ("key", "path", "permission"),
    [
        (ALICE_KEY_NO_READ, "search", "asset.read"),
        (ALICE_KEY_NO_READ, "thumbnail", "asset.view"),
        (ALICE_KEY_NO_VIEW, "thumbnail", "asset.view"),
        (ALICE_KEY_NO_DOWNLOAD, "original", "asset.download"),
    ],
)
def test_limited_keys_are_forbidden(http, fake, key, path, permission):
    asset_id = fake.special["non_ascii"]
    if path == "search":
        r = search(http, fake, key)
    else:
        r = get(http, fake, f"/api/assets/{asset_id}/{path}", key=key)
    assert r.status_code == 403
    assert error_body(r) == {
        "message": f"Missing required permission: {permission}",
        "error": "Forbidden",
        "statusCode": 403,
    }


def test_limited_keys_keep_their_other_permissions(http, fake):
    asset_id = fake.special["non_ascii"]
    assert get(http, fake, f"/api/assets/{asset_id}/original", key=ALICE_KEY_NO_VIEW).ok
    assert get(http, fake, f"/api/assets/{asset_id}/thumbnail", key=ALICE_KEY_NO_DOWNLOAD).ok
    assert search(http, fake, ALICE_KEY_NO_VIEW, size=1).ok


# ---- search --------------------------------------------------------------------------------


def test_paging_follows_next_page_to_exactly_the_expected_set(http, fake):
    start, end = WINDOW
    expected = fake.expected_search(ALICE_KEY, start, end)
    assert 100 < len(expected) < len(fake.assets_of("alice"))
    body = {"takenAfter": iso(start), "takenBefore": iso(end), "type": "IMAGE", "size": 37}
    ids, pages = collect(http, fake, **body)
    assert len(pages) == -(-len(expected) // 37)
    assert pages[-1]["nextPage"] is None
    assert len(ids) == len(set(ids))
    assert ids == expected[::-1]  # default order: newest first, ties by id descending
    asc, _ = collect(http, fake, order="asc", **body)
    assert asc == expected


def test_taken_bounds_are_inclusive_and_ties_order_by_id(http, fake):
    boundary = fake.asset(fake.special["boundary"])
    stamp = iso(boundary.taken)
    r = search(http, fake, takenAfter=stamp, takenBefore=stamp)
    assert [i["id"] for i in r.json()["assets"]["items"]] == [boundary.id]
    tie = sorted(fake.special["same_time"])
    stamp = iso(fake.asset(tie[0]).taken)
    r = search(http, fake, takenAfter=stamp, takenBefore=stamp, order="asc")
    assert [i["id"] for i in r.json()["assets"]["items"]] == tie


def test_trashed_videos_and_archived(http, fake):
    trashed = set(fake.special["trashed"])
    everything, _ = collect(http, fake, size=1000)
    assert not trashed & set(everything)
    with_deleted, _ = collect(http, fake, size=1000, withDeleted=True)
    assert trashed <= set(with_deleted)
    videos, _ = collect(http, fake, size=1000, type="VIDEO")
    assert set(videos) == set(fake.special["videos"])
    images, _ = collect(http, fake, size=1000, type="IMAGE")
    assert set(images) | set(videos) == set(everything)
    assert set(fake.special["archived"]) <= set(images)
    assert set(images) == set(fake.expected_search(ALICE_KEY, None, None))


def test_exif_only_when_asked(http, fake):
    items = search(http, fake, size=1000).json()["assets"]["items"]
    assert all("exifInfo" not in i for i in items)
    items = {i["id"]: i for i in search(http, fake, size=1000, withExif=True).json()["assets"]["items"]}
    for asset_id in fake.special["no_gps"]:
        exif = items[asset_id]["exifInfo"]
        assert exif["latitude"] is None and exif["longitude"] is None and exif["city"] is None
    for asset_id in fake.special["no_exif_date"]:
        assert items[asset_id]["exifInfo"]["dateTimeOriginal"] is None
        assert items[asset_id]["fileCreatedAt"]
    lons = {items[i]["exifInfo"]["longitude"] for i in fake.special["antimeridian"] if i in items}
    assert {179.99, -179.99, 180.0} <= lons
    assert items[fake.special["non_ascii"]]["originalFileName"] == "Été à Paris.jpg"
    heic = items[fake.special["heic"]]
    assert heic["originalMimeType"] == "image/heic" and heic["type"] == "IMAGE"
    one = items[fake.special["boundary"]]
    assert one["fileCreatedAt"] == "2024-01-01T00:00:00.000Z"
    assert one["localDateTime"] == "2023-12-31T19:00:00.000Z"  # New York wall clock, as UTC
    assert one["exifInfo"]["fileSizeInByte"] == fake.asset(one["id"]).size


def test_users_only_see_their_own_assets(http, fake):
    bob, _ = collect(http, fake, BOB_KEY, size=1000, withDeleted=True)
    assert set(bob) == {a.id for a in fake.assets_of("bob")}
    assert not set(bob) & {a.id for a in fake.assets_of("alice")}


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"size": 1001}, ["size must not be greater than 1000"]),
        ({"size": 0}, ["size must not be less than 1"]),
        ({"size": 2.5}, ["size must be an integer number"]),
        ({"page": 0}, ["page must not be less than 1"]),
        ({"page": None}, ["page must not be less than 1", "page must be an integer number"]),
        ({"takenAfter": None}, ["takenAfter must be a Date instance"]),
        ({"takenBefore": "yesterday"}, ["takenBefore must be a Date instance"]),
        ({"withExif": None}, ["withExif must be a boolean value"]),
        ({"type": "PHOTO"}, ["type must be one of the following values: IMAGE, VIDEO, AUDIO, OTHER"]),
        ({"order": "up"}, ["order must be one of the following values: asc, desc"]),
    ],
)
def test_validation_errors(http, fake, body, messages):
    r = search(http, fake, **body)
    assert r.status_code == 400
    assert error_body(r) == {"message": messages, "error": "Bad Request", "statusCode": 400}


def test_lenient_conversions_like_immich(http, fake):
    # @Type(() => Number) and 'true'/'false' strings are accepted; unknown properties are dropped.
    r = search(http, fake, size="3", withExif="true", someUnknownField=1)
    assert r.status_code == 200
    items = r.json()["assets"]["items"]
    assert len(items) == 3 and "exifInfo" in items[0]


def test_broken_json_is_400_before_authentication(http, fake):
    r = http.post(
        f"{fake.url}/api/search/metadata",
        data=b'{"size": 10,',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    body = error_body(r)
    assert body["error"] == "Bad Request" and body["statusCode"] == 400


def test_body_without_json_content_type_is_ignored(http, fake):
    r = http.post(
        f"{fake.url}/api/search/metadata",
        data=b'{"size": 1}',
        headers={"x-api-key": ALICE_KEY, "Content-Type": "text/plain"},
    )
    assert r.status_code == 200
    assert r.json()["assets"]["count"] == 250  # the defaults, not size 1


def test_expected_search_radius_uses_haversine_across_the_antimeridian(fake):
    got = fake.expected_search(ALICE_KEY, None, None, lat=-16.8, lon=180.0, radius_m=30_000)
    assert set(fake.special["antimeridian"]) <= set(got)
    paris = fake.expected_search(ALICE_KEY, *WINDOW, lat=48.8566, lon=2.3522, radius_m=5_000)
    brute = sorted(
        (
            a
            for a in fake.assets_of("alice")
            if a.type == "IMAGE"
            and not a.is_trashed
            and a.has_gps
            and WINDOW[0] <= a.taken <= WINDOW[1]
            and haversine_m(48.8566, 2.3522, a.latitude, a.longitude) <= 5_000
        ),
        key=lambda a: (a.taken, a.id),
    )
    assert paris == [a.id for a in brute] and paris


# ---- asset access --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "permission"),
    [("/thumbnail", "asset.view"), ("/original", "asset.download"), ("", "asset.read")],
)
def test_other_users_and_missing_assets_are_400(http, fake, suffix, permission):
    for asset_id in (fake.special["non_ascii"], "1b4e28ba-2fa1-41d2-883f-0016d3cca427"):
        r = get(http, fake, f"/api/assets/{asset_id}{suffix}", key=BOB_KEY)
        assert r.status_code == 400
        assert error_body(r) == {
            "message": f"Not found or no {permission} access",
            "error": "Bad Request",
            "statusCode": 400,
        }
    for bad in ("not-a-uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427"):  # the second is a v1 UUID
        r = get(http, fake, f"/api/assets/{bad}{suffix}")
        assert r.status_code == 400
        assert error_body(r)["message"] == ["id must be a UUID"]


def test_asset_info(http, fake):
    asset_id = fake.special["heic"]
    info = get(http, fake, f"/api/assets/{asset_id}").json()
    assert info["id"] == asset_id and info["owner"]["id"] == ALICE_ID
    assert info["exifInfo"]["city"] == "Tokyo"


# ---- thumbnails ----------------------------------------------------------------------------


def test_thumbnail_is_webp_and_preview_is_jpeg(http, fake):
    asset = fake.asset(fake.special["non_ascii"])
    thumb = get(http, fake, f"/api/assets/{asset.id}/thumbnail")
    default = get(http, fake, f"/api/assets/{asset.id}/thumbnail", params={"size": "thumbnail"})
    preview = get(http, fake, f"/api/assets/{asset.id}/thumbnail", params={"size": "preview"})
    assert thumb.status_code == default.status_code == preview.status_code == 200
    assert thumb.content == default.content
    assert thumb.headers["Content-Type"] == "image/webp"
    assert thumb.content[:4] == b"RIFF" and thumb.content[8:16] == b"WEBPVP8L"
    assert preview.headers["Content-Type"] == "image/jpeg"
    assert preview.content[:3] == b"\xff\xd8\xff" and preview.content.endswith(b"\xff\xd9")
    for r in (thumb, preview):
        assert r.headers["Cache-Control"] == CACHE_CONTROL
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert r.headers["ETag"].startswith('W/"')
        assert r.headers["Accept-Ranges"] == "bytes"
    assert thumb.headers["ETag"] != preview.headers["ETag"]
    assert thumb.headers["Content-Disposition"] == (
        "inline; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris_thumbnail.webp"
    )
    other = get(http, fake, f"/api/assets/{fake.special['heic']}/thumbnail")
    assert other.headers["ETag"] != thumb.headers["ETag"]
    video = get(http, fake, f"/api/assets/{fake.special['videos'][0]}/thumbnail")
    assert video.headers["Content-Type"] == "image/webp"


def test_thumbnail_conditional_get(http, fake):
    path = f"/api/assets/{fake.special['heic']}/thumbnail"
    first = get(http, fake, path, params={"size": "preview"})
    etag = first.headers["ETag"]
    again = get(http, fake, path, params={"size": "preview"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag and "Content-Type" not in again.headers
    other = get(http, fake, path, params={"size": "preview"}, headers={"If-None-Match": 'W/"x"'})
    assert other.status_code == 200 and other.content == first.content


def test_fullsize_and_original_sizes_redirect(http, fake):
    jpeg = fake.special["non_ascii"]
    r = get(http, fake, f"/api/assets/{jpeg}/thumbnail", params={"size": "fullsize"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "original?"
    followed = get(http, fake, f"/api/assets/{jpeg}/thumbnail", params={"size": "fullsize"})
    assert followed.status_code == 200 and followed.url.endswith(f"/api/assets/{jpeg}/original")
    assert followed.content == fake.original_bytes(jpeg)
    heic = fake.special["heic"]
    r = get(http, fake, f"/api/assets/{heic}/thumbnail", params={"size": "fullsize"}, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == f"/api/assets/{heic}/thumbnail?size=preview"
    r = get(http, fake, f"/api/assets/{heic}/thumbnail", params={"size": "original"}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "original?"
    r = get(http, fake, f"/api/assets/{heic}/thumbnail", params={"size": "huge"})
    assert r.status_code == 400


# ---- originals -----------------------------------------------------------------------------


def test_original_download_headers_and_bytes(http, fake):
    asset = fake.asset(fake.special["non_ascii"])
    r = get(http, fake, f"/api/assets/{asset.id}/original")
    assert r.status_code == 200
    assert r.content == fake.original_bytes(asset.id)
    assert len(r.content) == asset.size == int(r.headers["Content-Length"])
    assert r.content[:3] == b"\xff\xd8\xff"  # a real JPEG at the start
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Cache-Control"] == CACHE_CONTROL
    assert r.headers["ETag"] == f'W/"{asset.size:x}-{asset.sort_ms:x}"'
    assert r.headers["Last-Modified"]
    assert r.headers["Content-Disposition"] == ("inline; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris.jpg")
    again = get(http, fake, f"/api/assets/{asset.id}/original", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_hostile_file_name_is_percent_encoded(http, fake):
    asset = fake.asset(fake.special["hostile"])
    r = get(http, fake, f"/api/assets/{asset.id}/original", stream=True)
    with r:
        disposition = r.headers["Content-Disposition"]
    assert "Set-Cookie" not in r.headers and "x" not in r.cookies
    prefix = "inline; filename*=UTF-8''"
    assert disposition.startswith(prefix)
    encoded = disposition[len(prefix) :]
    assert not set(encoded) & set('\r\n"; /')
    assert unquote(encoded) == asset.original_file_name == '../evil";\r\nSet-Cookie: x=1;.jpg'


def test_heic_and_video_content_types(http, fake):
    for asset_id, ctype in (
        (fake.special["heic"], "image/heic"),
        (fake.special["videos"][0], "video/mp4"),
        (fake.special["videos"][1], "video/quicktime"),
    ):
        r = http.head(f"{fake.url}/api/assets/{asset_id}/original", headers={"x-api-key": ALICE_KEY})
        assert r.status_code == 200 and r.headers["Content-Type"] == ctype
        assert int(r.headers["Content-Length"]) == fake.asset(asset_id).size and r.content == b""


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=1000-", (1000, None)),
        ("bytes=-500", (-500, None)),
        ("bytes=0-0", (0, 0)),
        ("bytes=5000-99999999999", (5000, None)),
    ],
)
def test_ranges(http, fake, header, span):
    asset = fake.asset(fake.special["hostile"])
    start, end = span
    if start < 0:
        start = asset.size + start
    last = asset.size - 1 if end is None else end
    r = get(http, fake, f"/api/assets/{asset.id}/original", headers={"Range": header})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes {start}-{last}/{asset.size}"
    assert int(r.headers["Content-Length"]) == last - start + 1
    assert r.content == fake.original_bytes(asset.id, start, last)


def test_unsatisfiable_and_ignored_ranges(http, fake):
    asset = fake.asset(fake.special["hostile"])
    path = f"/api/assets/{asset.id}/original"
    # Like Express: a start past the end, and even garbage after "bytes=", is unsatisfiable.
    for header in (f"bytes={asset.size}-", "bytes=abc"):
        r = get(http, fake, path, headers={"Range": header})
        assert r.status_code == 416
        assert r.headers["Content-Range"] == f"bytes */{asset.size}"
    # Several ranges, or another unit, are answered with the whole file.
    for header in ("bytes=0-9,20-29", "items=0-9"):
        r = get(http, fake, path, headers={"Range": header}, stream=True)
        with r:
            assert r.status_code == 200
            assert int(r.headers["Content-Length"]) == asset.size
    # If-Range with a stale validator -> the whole file.
    r = get(http, fake, path, headers={"Range": "bytes=0-9", "If-Range": 'W/"stale"'}, stream=True)
    with r:
        assert r.status_code == 200


def test_large_original_is_streamed(http, fake):
    asset = fake.asset(fake.special["large"])
    path = f"/api/assets/{asset.id}/original"
    head = http.head(f"{fake.url}{path}", headers={"x-api-key": ALICE_KEY})
    assert int(head.headers["Content-Length"]) == asset.size == 64 * 1024 * 1024
    tail = get(http, fake, path, headers={"Range": "bytes=-1048576"})
    assert tail.content == fake.original_bytes(asset.id, asset.size - 1048576)
    digest, total = hashlib.sha256(), 0
    with get(http, fake, path, stream=True) as r:
        for chunk in r.iter_content(1 << 20):
            digest.update(chunk)
            total += len(chunk)
    assert total == asset.size
    assert digest.hexdigest() == hashlib.sha256(fake.original_bytes(asset.id)).hexdigest()


# ---- what a library-index sync needs --------------------------------------------------------

ASSET_REQUIRED = {
    "checksum", "createdAt", "deviceAssetId", "deviceId", "duration", "fileCreatedAt", "fileModifiedAt",
    "hasMetadata", "height", "id", "isArchived", "isEdited", "isFavorite", "isOffline", "isTrashed",
    "localDateTime", "originalFileName", "originalPath", "ownerId", "thumbhash", "type", "updatedAt",
    "visibility", "width",
}  # AssetResponseDto's required properties in seed 001
BUCKET_REQUIRED = {
    "city", "country", "duration", "fileCreatedAt", "id", "isFavorite", "isImage", "isTrashed",
    "livePhotoVideoId", "localOffsetHours", "ownerId", "projectionType", "ratio", "thumbhash", "visibility",
}  # TimeBucketAssetResponseDto's


def now_iso() -> str:
    """The current time, and a moment later: whatever changes next is strictly after it."""
    mark = iso(datetime.now(UTC))
    time.sleep(0.002)
    return mark


def local_month(item: dict) -> str:
    return item["localDateTime"][:7] + "-01"


def live_assets(http, fake, key=ALICE_KEY, **body) -> dict[str, dict]:
    ids, pages = collect(http, fake, key, size=1000, withExif=True, **body)
    return {item["id"]: item for page in pages for item in page["items"]}


def test_assets_carry_what_an_index_needs(http, fake):
    items = live_assets(http, fake, withDeleted=True)
    assert len(items) == len(fake.assets_of("alice"))
    for item in items.values():
        assert ASSET_REQUIRED <= set(item)
        assert item["updatedAt"] >= item["createdAt"]
        exif = item["exifInfo"]
        assert {"city", "state", "country", "latitude", "longitude", "dateTimeOriginal"} <= set(exif)
    assert {i for i, item in items.items() if item["thumbhash"] is None} == set(fake.special["no_thumbhash"])
    assert all(items[i]["isTrashed"] for i in fake.special["trashed"])
    paris = items[fake.special["non_ascii"]]
    assert paris["exifInfo"]["state"] == "Île-de-France" and paris["localDateTime"] == "2024-07-14T13:00:00.000Z"


def test_updated_after_brings_changes_and_trashed_assets_only_with_deleted(http, fresh):
    changed, trashed = fresh.special["non_ascii"], fresh.special["heic"]
    mark = now_iso()
    fresh.change_asset(changed, is_favorite=True)
    fresh.trash(trashed)
    (added,) = fresh.add_assets(ALICE_KEY, {"taken": "2024-05-01T10:00:00Z", "latitude": 1.5, "longitude": 2.5})
    assert set(live_assets(http, fresh, updatedAfter=mark)) == {changed, added}
    with_deleted = live_assets(http, fresh, updatedAfter=mark, withDeleted=True)
    assert set(with_deleted) == {changed, added, trashed}
    assert with_deleted[trashed]["isTrashed"] is True and with_deleted[changed]["isFavorite"] is True
    assert all(item["updatedAt"] >= mark for item in with_deleted.values())
    assert changed not in live_assets(http, fresh, updatedBefore=mark, withDeleted=True)
    # A trash filter implies withDeleted, as in Immich.
    assert set(live_assets(http, fresh, trashedAfter=mark)) == {trashed}
    fresh.restore(trashed)
    assert not live_assets(http, fresh, trashedAfter=mark)
    assert live_assets(http, fresh, updatedAfter=mark)[trashed]["isTrashed"] is False


def expected_buckets(fake, user="alice", trashed=False) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in fake.assets_of(user):
        if a.is_trashed == trashed and a.visibility in ("archive", "timeline"):
            month = datetime.fromtimestamp(a.local_ms / 1000, UTC).strftime("%Y-%m-01")
            counts[month] = counts.get(month, 0) + 1
    return counts


def buckets(http, fake, key=ALICE_KEY, **params) -> list[dict]:
    r = get(http, fake, "/api/timeline/buckets", key=key, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_buckets_count_local_months_and_lose_what_is_deleted_for_good(http, fresh):
    got = buckets(http, fresh)
    assert [b["timeBucket"] for b in got] == sorted(expected_buckets(fresh), reverse=True)
    assert {b["timeBucket"]: b["count"] for b in got} == expected_buckets(fresh)
    ascending = buckets(http, fresh, order="asc")
    assert ascending == got[::-1]
    trash = {b["timeBucket"]: b["count"] for b in buckets(http, fresh, isTrashed="true")}
    assert trash == expected_buckets(fresh, trashed=True)
    # New York, midnight UTC on New Year's Day: still December where it was taken.
    boundary = fresh.special["boundary"]
    december = next(b["count"] for b in got if b["timeBucket"] == "2023-12-01")
    bucket = get(http, fresh, "/api/timeline/bucket", params={"timeBucket": "2023-12-01"}).json()
    assert boundary in bucket["id"] and len(bucket["id"]) == december

    fresh.delete_permanently(boundary)
    after = {b["timeBucket"]: b["count"] for b in buckets(http, fresh)}
    assert after["2023-12-01"] == december - 1
    assert boundary not in get(http, fresh, "/api/timeline/bucket", params={"timeBucket": "2023-12-01"}).json()["id"]
    assert boundary not in live_assets(http, fresh, withDeleted=True)
    for suffix, permission in (("", "asset.read"), ("/thumbnail", "asset.view"), ("/original", "asset.download")):
        r = get(http, fresh, f"/api/assets/{boundary}{suffix}")
        assert r.status_code == 400 and error_body(r)["message"] == f"Not found or no {permission} access"


def test_a_bucket_is_columnar(http, fake):
    month = "2024-07-01"
    r = get(http, fake, "/api/timeline/bucket", params={"timeBucket": month, "withCoordinates": "true"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json; charset=utf-8"
    bucket = r.json()
    assert set(bucket) == BUCKET_REQUIRED | {"latitude", "longitude"}
    assert len({len(column) for column in bucket.values()}) == 1
    expected = sorted(
        (
            a
            for a in fake.assets_of("alice")
            if not a.is_trashed and a.visibility in ("archive", "timeline")
            and datetime.fromtimestamp(a.local_ms / 1000, UTC).strftime("%Y-%m-01") == month
        ),
        key=lambda a: (a.sort_ms, a.id),
        reverse=True,
    )
    assert bucket["id"] == [a.id for a in expected] and expected
    row = bucket["id"].index(fake.special["non_ascii"])
    assert bucket["fileCreatedAt"][row] == "2024-07-14T12:00:00"  # PostgreSQL's timestamp, no zone
    assert bucket["localOffsetHours"][row] == 1 and bucket["city"][row] == "Paris"
    assert bucket["isImage"][row] is True and bucket["duration"][row] is None
    assert bucket["latitude"][row] == fake.asset(fake.special["non_ascii"]).latitude
    assert bucket["isTrashed"] == [False] * len(expected)
    plain = get(http, fake, "/api/timeline/bucket", params={"timeBucket": month, "order": "asc"}).json()
    assert set(plain) == BUCKET_REQUIRED and plain["id"] == bucket["id"][::-1]
    empty = get(http, fake, "/api/timeline/bucket", params={"timeBucket": "1999-01-01"}).json()
    assert set(empty) == BUCKET_REQUIRED and all(column == [] for column in empty.values())
    video = fake.asset(fake.special["videos"][0])
    month = datetime.fromtimestamp(video.local_ms / 1000, UTC).strftime("%Y-%m-01")
    bucket = get(http, fake, "/api/timeline/bucket", params={"timeBucket": month}).json()
    row = bucket["id"].index(video.id)
    assert bucket["isImage"][row] is False and bucket["duration"][row] == video.duration


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, ["timeBucket must be a string"]),
        ({"timeBucket": "2024-01-01", "isFavorite": "yes"}, 400, ["isFavorite must be a boolean value"]),
        ({"timeBucket": "2024-01-01", "userId": BOB_ID}, 400, "Not found or no timeline.read access"),
        ({"timeBucket": "2024-01-01", "withPartners": "true"}, 400,
         "withPartners is only supported for non-archived, non-trashed, non-favorited, non-locked assets"),
        ({"timeBucket": "2024-01-01", "visibility": "locked"}, 401, "Elevated permission is required"),
        ({"timeBucket": "January"}, 500, "Failed to get time bucket"),
    ],
)
def test_bucket_refusals(http, fake, params, status, message):
    r = get(http, fake, "/api/timeline/bucket", params=params)
    assert r.status_code == status and error_body(r)["message"] == message


def test_statistics(http, fake):
    def stats(key=ALICE_KEY, **params):
        return get(http, fake, "/api/assets/statistics", key=key, params=params)

    mine = [a for a in fake.assets_of("alice") if a.visibility in ("archive", "timeline")]

    def count(assets):
        images = sum(a.type == "IMAGE" for a in assets)
        return {"images": images, "videos": len(assets) - images, "total": len(assets)}

    assert stats().json() == count([a for a in mine if not a.is_trashed])
    assert stats(isTrashed="true").json() == count([a for a in mine if a.is_trashed]) == {
        "images": 7, "videos": 1, "total": 8,
    }
    assert stats(isFavorite="true").json() == count([a for a in mine if a.is_favorite and not a.is_trashed])
    assert stats(visibility="archive").json() == {"images": 2, "videos": 0, "total": 2}
    r = stats(key=ALICE_KEY_NO_READ)
    assert r.status_code == 403 and error_body(r)["message"] == "Missing required permission: asset.statistics"
    assert stats(isTrashed="maybe").json()["message"] == ["isTrashed must be a boolean value"]


def test_put_asset_needs_asset_update_and_bumps_updated_at(http, fresh):
    asset = fresh.asset(fresh.special["non_ascii"])
    path = f"/api/assets/{asset.id}"
    r = put(http, fresh, path, {"isFavorite": not asset.is_favorite}, key=ALICE_KEY_NO_UPDATE)
    assert r.status_code == 403
    assert error_body(r)["message"] == "Missing required permission: asset.update"
    before = get(http, fresh, path).json()
    r = put(http, fresh, path, {"isFavorite": not asset.is_favorite, "description": "Quatorze juillet"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert ASSET_REQUIRED <= set(body) and body["owner"]["id"] == ALICE_ID
    assert body["isFavorite"] is not asset.is_favorite and body["exifInfo"]["description"] == "Quatorze juillet"
    assert body["updatedAt"] > before["updatedAt"]
    r = put(http, fresh, path, {"isFavorite": True}, key=BOB_KEY)
    assert r.status_code == 400 and error_body(r)["message"] == "Not found or no asset.update access"
    r = put(http, fresh, path, {"longitude": 2.35})
    assert error_body(r)["message"] == ["latitude should not be empty", "latitude must be a latitude string or number"]
    r = put(http, fresh, path, {"latitude": 91, "longitude": 2.35, "rating": 9, "dateTimeOriginal": "soon"})
    assert error_body(r)["message"] == [
        "dateTimeOriginal must be a valid ISO 8601 date string",
        "latitude must be a latitude string or number",
        "rating must not be greater than 5",
    ]
    r = put(http, fresh, "/api/assets", {"ids": [asset.id, fresh.special["heic"]], "isFavorite": True})
    assert r.status_code == 204 and r.content == b""
    assert fresh.asset(asset.id).is_favorite and fresh.asset(fresh.special["heic"]).is_favorite
    r = put(http, fresh, "/api/assets", {"ids": [asset.id, fresh.bob_special["no_gps"][0]], "isFavorite": False})
    assert r.status_code == 400 and fresh.asset(asset.id).is_favorite


def test_an_exif_edit_moves_updated_at_only_when_metadata_extraction_follows(http, fresh):
    asset_id = fresh.special["non_ascii"]
    path = f"/api/assets/{asset_id}"
    tokyo = {"latitude": 35.68, "longitude": 139.69}

    # The job chain does not run (a paused queue, a read-only library): only the exif changes.
    fresh.extract_metadata_after_edit = False
    mark = now_iso()
    before = get(http, fresh, path).json()
    body = put(http, fresh, path, {**tokyo, "dateTimeOriginal": "2024-08-01T09:00:00+09:00"}).json()
    after = get(http, fresh, path).json()
    for seen in (body, after):
        assert seen["updatedAt"] == before["updatedAt"] and seen["fileCreatedAt"] == before["fileCreatedAt"]
        assert seen["exifInfo"]["latitude"] == 35.68 and seen["exifInfo"]["city"] == "Paris"
        assert seen["exifInfo"]["dateTimeOriginal"] == "2024-08-01T00:00:00.000Z"
        assert seen["exifInfo"]["timeZone"] == "UTC+9"
    assert asset_id not in live_assets(http, fresh, updatedAfter=mark)
    july = get(http, fresh, "/api/timeline/bucket", params={"timeBucket": "2024-07-01", "withCoordinates": "true"})
    row = july.json()["id"].index(asset_id)
    assert july.json()["latitude"][row] == 35.68  # a month re-read shows it: the reconcile pass

    # As Immich runs it: the answer is the same, then extraction moves dates, place and updatedAt.
    fresh.extract_metadata_after_edit = True
    body = put(http, fresh, path, tokyo).json()
    assert body["updatedAt"] == before["updatedAt"]
    after = get(http, fresh, path).json()
    assert after["updatedAt"] > before["updatedAt"] and after["exifInfo"]["city"] == "Tokyo"
    assert after["fileCreatedAt"] == "2024-08-01T00:00:00.000Z"
    assert after["localDateTime"] == "2024-08-01T09:00:00.000Z"
    assert asset_id in live_assets(http, fresh, updatedAfter=mark)


def test_the_exif_only_hook_leaves_updated_at(http, fresh):
    asset_id = fresh.special["hostile"]
    mark = now_iso()
    before = get(http, fresh, f"/api/assets/{asset_id}").json()
    fresh.change_asset(asset_id, latitude=10.0, longitude=20.0, city=None, bump_updated_at=False)
    after = get(http, fresh, f"/api/assets/{asset_id}").json()
    assert after["updatedAt"] == before["updatedAt"]
    assert (after["exifInfo"]["latitude"], after["exifInfo"]["longitude"]) == (10.0, 20.0)
    assert not live_assets(http, fresh, updatedAfter=mark, withDeleted=True)
    fresh.change_asset(asset_id, taken="2023-06-02T09:15:00Z")
    assert set(live_assets(http, fresh, updatedAfter=mark)) == {asset_id}


def test_gpx_track_from_hidden_positions(http, fresh):
    start = datetime(2024, 9, 1, 10, 0, tzinfo=UTC)
    ids = fresh.add_assets(
        ALICE_KEY,
        {"taken": start, "true_latitude": 48.85, "true_longitude": 2.35},
        {"taken": start + timedelta(minutes=5), "latitude": 48.86, "longitude": 2.36},
        {"taken": start + timedelta(minutes=10), "true_latitude": 48.87, "true_longitude": 2.37},
    )
    served = get(http, fresh, f"/api/assets/{ids[0]}")
    assert served.json()["exifInfo"]["latitude"] is None and "48.85" not in served.text

    def points(text):
        ns = {"g": "http://www.topografix.com/GPX/1/1"}
        return [
            (p.find("g:time", ns).text, float(p.get("lat")), float(p.get("lon")))
            for p in ET.fromstring(text).iterfind(".//g:trkpt", ns)
        ]

    window = (start - timedelta(hours=1), start + timedelta(hours=1))
    track = points(fresh.gpx_track(ALICE_KEY, *window, every_seconds=60))
    assert len(track) == 11
    assert track[0] == ("2024-09-01T10:00:00Z", 48.85, 2.35)
    assert track[5] == ("2024-09-01T10:05:00Z", 48.86, 2.36)
    assert track[-1] == ("2024-09-01T10:10:00Z", 48.87, 2.37)
    assert track[1][1] == pytest.approx(48.852) and track[1][2] == pytest.approx(2.352)
    shifted = points(fresh.gpx_track(ALICE_KEY, *window, every_seconds=60, camera_clock_offset_seconds=120))
    assert shifted[0] == ("2024-09-01T09:58:00Z", 48.85, 2.35)
    noisy = points(fresh.gpx_track(ALICE_KEY, *window, every_seconds=60, noise_m=20, seed=3))
    assert [t for t, _, _ in noisy] == [t for t, _, _ in track]
    offsets = [haversine_m(a[1], a[2], b[1], b[2]) for a, b in zip(track, noisy, strict=True)]
    assert 0 < max(offsets) < 150
    assert noisy == points(fresh.gpx_track(ALICE_KEY, *window, every_seconds=60, noise_m=20, seed=3))


# ---- faults --------------------------------------------------------------------------------


def test_fault_down_refuses_connections_and_recovers_on_the_same_port(http, fake):
    port = fake.port
    assert get(http, fake, "/api/server/version").ok  # a pooled keep-alive connection
    fake.set_fault("down")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
    with pytest.raises(requests.ConnectionError):
        get(http, fake, "/api/server/version")
    assert fake.open_connections == 0
    fake.set_fault(None)
    assert fake.port == port
    assert get(http, fake, "/api/server/version").json()["major"] == 2


def test_fault_slow(http, fake):
    fake.slow_seconds = 0.4
    fake.set_fault("slow")
    with pytest.raises(requests.Timeout):
        get(http, fake, "/api/server/version", timeout=0.1)
    started = time.monotonic()
    assert get(http, fake, "/api/server/version", timeout=5).ok
    assert time.monotonic() - started >= 0.4


def test_fault_500(http, fake):
    fake.set_fault("500")
    r = search(http, fake)
    assert r.status_code == 500
    assert error_body(r) == {
        "message": "Failed to search assets",
        "error": "Internal Server Error",
        "statusCode": 500,
    }
    assert get(http, fake, f"/api/assets/{fake.special['heic']}/thumbnail").status_code == 500


def test_fault_invalid_json(http, fake):
    fake.set_fault("invalid_json")
    for r in (search(http, fake, size=5), get(http, fake, "/api/server/version"), get(http, fake, "/api/users/me")):
        assert r.status_code == 200
        with pytest.raises(requests.JSONDecodeError):
            r.json()
    # Errors stay well-formed, and binary endpoints are unaffected.
    assert get(http, fake, "/api/users/me", key="nope").json()["statusCode"] == 401
    thumb = get(http, fake, f"/api/assets/{fake.special['heic']}/thumbnail")
    assert thumb.content.startswith(b"RIFF")


def test_fault_cut_truncates_originals(http, fake):
    asset = fake.asset(fake.special["hostile"])
    fake.set_fault("cut")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(http, fake, f"/api/assets/{asset.id}/original")
    fake.set_fault(None)
    assert len(get(http, fake, f"/api/assets/{asset.id}/original").content) == asset.size


def test_fault_redirect(http, fake):
    fake.set_fault("redirect")
    r = get(http, fake, "/api/server/version", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == f"{fake.url}/api/server/version"
    with pytest.raises(requests.TooManyRedirects) as caught:
        get(http, fake, "/api/server/version")
    caught.value.response.close()  # requests keeps the last hop's connection checked out
    fake.redirect_to = "http://elsewhere.invalid/api/server/version"
    r = http.post(f"{fake.url}/api/search/metadata", json={}, allow_redirects=False, headers={"x-api-key": ALICE_KEY})
    assert r.status_code == 302 and r.headers["Location"] == fake.redirect_to


def test_latency(http, fake):
    fake.latency = 0.2
    started = time.monotonic()
    assert get(http, fake, "/api/server/version").ok
    assert time.monotonic() - started >= 0.2


def test_set_fault_rejects_unknown_modes(fake):
    with pytest.raises(ValueError):
        fake.set_fault("explode")


# ---- recording, concurrency, connections ---------------------------------------------------


def test_requests_are_recorded(http, fake):
    search(http, fake, size=3, takenAfter="2024-01-01T00:00:00.000Z")
    get(http, fake, f"/api/assets/{fake.special['heic']}/thumbnail", params={"size": "preview"})
    first, second = fake.requests
    assert first.method == "POST" and first.path == "/api/search/metadata"
    assert first.json == {"size": 3, "takenAfter": "2024-01-01T00:00:00.000Z"}
    assert first.headers["x-api-key"] == ALICE_KEY and first.status == 200
    assert second.method == "GET" and second.query == {"size": "preview"} and second.json is None
    assert second.path == f"/api/assets/{fake.special['heic']}/thumbnail"
    fake.clear_requests()
    assert fake.requests == []


def test_requests_are_counted_per_endpoint(http, fake):
    for asset_id in fake.special["videos"][:3]:
        get(http, fake, f"/api/assets/{asset_id}/thumbnail")
    search(http, fake, size=1)
    search(http, fake, size=2)
    get(http, fake, "/api/nope")
    counts = fake.request_counts()
    assert counts["GET /api/assets/{id}/thumbnail"] == 3
    assert counts["POST /api/search/metadata"] == 2
    assert counts["GET /api/nope"] == 1 and sum(counts.values()) == 6


def test_many_concurrent_clients(fake):
    settle(fake)
    fake.latency = 0.2
    ids = [a.id for a in fake.assets_of("alice")[:40]]

    def fetch(asset_id):
        with requests.Session() as s:
            thumb = get(s, fake, f"/api/assets/{asset_id}/thumbnail")
            found = search(s, fake, size=2)
            return thumb.status_code, found.status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(fetch, ids))
    assert results == [(200, 200)] * 40
    assert time.monotonic() - started < 6.0  # 80 requests of 0.2 s each: 16 s if serialised
    assert fake.wait_open_connections(0) == 0


def test_keep_alive_reuses_one_connection(fake):
    settle(fake)
    with requests.Session() as s:
        for _ in range(5):
            assert get(s, fake, "/api/server/version").ok
        assert fake.wait_open_connections(1) == 1
    assert fake.wait_open_connections(0) == 0


def test_each_instance_gets_its_own_port():
    with FakeImmich() as one, FakeImmich() as two:
        assert one.port != two.port
        assert one.url == f"http://127.0.0.1:{one.port}"
        assert [a.id for a in one.assets] == [a.id for a in two.assets]  # deterministic data


# ---- bulk ----------------------------------------------------------------------------------


def test_bulk_100k_assets_page_in_1000s():
    with FakeImmich() as fake, requests.Session() as http:
        start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, tzinfo=UTC)
        began = time.monotonic()
        added = fake.add_bulk_assets(BOB_KEY, 100_000, start=start, end=end, center=(45.0, 7.0), spread_km=40, seed=7)
        assert time.monotonic() - began < 10.0  # ~1 s on an idle machine; catches O(n^2)
        assert len(added) == len(set(added)) == 100_000
        expected = fake.expected_search(BOB_KEY, start, end)
        assert set(expected) == set(added)
        ids, pages = collect(
            http, fake, BOB_KEY, takenAfter=iso(start), takenBefore=iso(end), type="IMAGE", size=1000, order="asc"
        )
        assert len(pages) == 100
        assert ids == expected
        sample = fake.asset(added[0])
        assert haversine_m(45.0, 7.0, sample.latitude, sample.longitude) <= 40_000 + 1


def test_a_bulk_library_syncs_quickly():
    with FakeImmich() as fake, requests.Session() as http:
        start, end = datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 12, 31, tzinfo=UTC)
        added = fake.add_bulk_assets(BOB_KEY, 100_000, start=start, end=end, seed=11)
        began = time.monotonic()
        counts = {b["timeBucket"]: b["count"] for b in buckets(http, fake, key=BOB_KEY)}
        assert sum(counts.values()) == sum(not a.is_trashed for a in fake.assets_of("bob"))
        month = "2022-03-01"
        bucket = get(http, fake, "/api/timeline/bucket", key=BOB_KEY, params={"timeBucket": month}).json()
        assert len(bucket["id"]) == counts[month]
        mark = now_iso()
        fake.change_asset(added[0], is_favorite=True)
        fake.delete_permanently(added[1])
        changed = live_assets(http, fake, BOB_KEY, updatedAfter=mark, withDeleted=True)
        assert set(changed) == {added[0]}
        after = {b["timeBucket"]: b["count"] for b in buckets(http, fake, key=BOB_KEY)}
        assert sum(after.values()) == sum(counts.values()) - 1
        assert time.monotonic() - began < 20.0  # a few seconds on an idle machine; catches O(n) per page


def test_threads_do_not_leak(fake):
    before = threading.active_count()
    with requests.Session() as s:
        for _ in range(3):
            get(s, fake, "/api/server/version")
    fake.wait_open_connections(0)
    time.sleep(0.05)
    assert threading.active_count() <= before
