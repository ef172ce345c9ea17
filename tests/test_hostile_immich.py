"""A hostile or broken Immich (tests/hostile_immich.py, over real HTTP) cannot make a search
run forever, slow other users down, serve active content from our origin, or fail a download."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from fake_immich import ALICE_KEY, BOB_KEY, FakeImmich
from tests.conftest import TEST_KEY, Auth, dispose, error_of, make_app
from tests.hostile_immich import KEY, HostileImmich, asset_id
from tests.live_server import serving

RANGE = "startDate=2023-01-01T00:00:00Z&endDate=2024-12-31T23:59:59Z"
PHOTO = asset_id(1)


@pytest.fixture
def hostile() -> Iterator[tuple[HostileImmich, str]]:
    immich = HostileImmich()
    with serving(immich) as url:
        yield immich, url


def signed_in_app(tmp_path, immich_url, key=KEY, **settings):
    """An app on SQLite whose user alice has Immich at `immich_url`; (app, client, headers)."""
    app = make_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "ENCRYPTION_KEYS": TEST_KEY,
                    "SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "ALLOWED_IMMICH_HOSTS": "loopback",
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "SEARCH_CACHE_SECONDS": "0",
                    # Every call reaches the hostile server: no thumbnail cache, no index syncs.
                    "THUMBNAIL_CACHE_MB": "0", "INDEX_ENABLED": "false", **settings})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    client.delete_cookie("access_token_cookie")
    saved = client.put("/api/users/me/immich-config", headers=headers,
                       json={"serverUrl": immich_url, "apiKey": key, "enabled": True})
    assert saved.status_code == 200, saved.get_json()
    return app, client, headers


# ------------------------------------------------------------------ endless and slow searches


def test_a_server_that_never_stops_paging_is_cut_off_at_the_page_cap(tmp_path, hostile):
    immich, url = hostile
    app, client, headers = signed_in_app(tmp_path, url, IMMICH_MAX_PAGES="5")
    response = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers)
    assert response.status_code == 502
    assert "more pages than one search reads (5)" in error_of(response)
    assert immich.pages_served == 5
    dispose(app)


def test_a_search_that_outlasts_its_deadline_is_a_504_in_time(tmp_path, hostile):
    immich, url = hostile
    immich.page_seconds = 0.2
    app, client, headers = signed_in_app(tmp_path, url, IMMICH_SEARCH_DEADLINE="1")
    started = time.monotonic()
    response = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers)
    assert response.status_code == 504
    assert "within 1 s" in error_of(response)
    assert time.monotonic() - started < 4
    served = immich.pages_served
    time.sleep(0.5)
    assert immich.pages_served <= served + 8  # what was in flight finishes; nothing new starts
    dispose(app)


def test_search_limits_have_defaults_and_bad_values_name_the_setting(tmp_path):
    from service import create_app
    from service.config import ConfigError

    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    assert app.config["IMMICH_MAX_PAGES"] == 1000 and app.config["IMMICH_SEARCH_DEADLINE"] == 180
    dispose(app)
    for name in ("IMMICH_MAX_PAGES", "IMMICH_SEARCH_DEADLINE"):
        with pytest.raises(ConfigError, match=name):
            create_app({"INSTANCE_PATH": str(tmp_path), name: "0"})


def test_a_slow_server_does_not_delay_other_users_searches(tmp_path):
    slow, fast = FakeImmich(latency=2.0).start(), FakeImmich().start()
    try:
        slow.add_bulk_assets(ALICE_KEY, 12_000, start="2019-01-01T00:00:00Z", end="2019-12-31T00:00:00Z", seed=3)
        fast.add_bulk_assets(BOB_KEY, 6_000, start="2019-01-01T00:00:00Z", end="2019-12-31T00:00:00Z", seed=4)
        app, client, alice = signed_in_app(tmp_path, slow.url, key=ALICE_KEY, IMMICH_SEARCH_DEADLINE="6")
        bob = Auth(app, client).bearer("bob@example.com")
        client.delete_cookie("access_token_cookie")
        assert client.put("/api/users/me/immich-config", headers=bob,
                          json={"serverUrl": fast.url, "apiKey": BOB_KEY, "enabled": True}).status_code == 200
        year = "startDate=2019-01-01T00:00:00Z&endDate=2019-12-31T23:59:59Z"

        with ThreadPoolExecutor(8) as pool:
            slow_searches = [pool.submit(app.test_client().get, f"/api/users/me/immich/photos/search?{year}",
                                         headers=alice) for _ in range(8)]
            time.sleep(3)  # every slow search is past its first page and waiting on the others
            started = time.monotonic()
            found = app.test_client().get(f"/api/users/me/immich/photos/search?{year}", headers=bob)
            took = time.monotonic() - started
            assert {search.result().status_code for search in slow_searches} <= {200, 504}
        assert found.status_code == 200 and found.get_json()["data"]["totalCount"] == 6_000
        # One page of the slow server takes 2 s; the fast user's six pages wait for none of them.
        assert took < 1.5, took
        dispose(app)
    finally:
        slow.stop()
        fast.stop()


# ------------------------------------------------------------------ thumbnails and file names


def thumbnail(client, headers):
    return client.get(f"/api/users/me/immich/photos/{PHOTO}/thumbnail", headers=headers)


RASTER = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic", "image/heif",
          "IMAGE/WEBP; q=1"]
ACTIVE_OR_UNKNOWN = ["text/html", "image/svg+xml", "text/javascript", "application/xml", "application/octet-stream",
                     "text/html; charset=utf-8", None]


def test_only_raster_thumbnails_are_inline_the_rest_are_sandboxed_attachments(tmp_path, hostile):
    immich, url = hostile
    app, client, headers = signed_in_app(tmp_path, url)
    for content_type in RASTER:
        immich.thumbnail_type = content_type
        response = thumbnail(client, headers)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == content_type
        assert "Content-Disposition" not in response.headers, content_type
    for content_type in ACTIVE_OR_UNKNOWN:
        immich.thumbnail_type = content_type
        response = thumbnail(client, headers)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == "attachment", content_type
        assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    dispose(app)


@pytest.mark.parametrize("disposition, name", [
    ("inline; filename*=x-no-such-charset''%E9t%E9.jpg", f"photo_{PHOTO}.jpg"),
    ("inline; filename=\"summer.jpg\"; filename*=x-no-such-charset''%E9t%E9.jpg", "summer.jpg"),
    ("inline; filename*=ISO-8859-1''%E9t%E9.jpg", "été.jpg"),
])
def test_an_unknown_charset_in_the_file_name_falls_back_to_a_safe_name(tmp_path, hostile, disposition, name):
    immich, url = hostile
    immich.disposition = disposition
    app, client, headers = signed_in_app(tmp_path, url)
    response = client.get(f"/api/users/me/immich/photos/{PHOTO}/download", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Content-Disposition"].endswith("''" + __import__("urllib.parse").parse.quote(name))
    dispose(app)
