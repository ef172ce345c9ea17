"""Thumbnails kept on disk, against the fake Immich: who may see an entry, when it is asked
for again, what drops it, the size bound, torn files, and a folder that refuses writes."""

from __future__ import annotations

import dataclasses
import logging
import os
import resource
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text

from fake_immich import ALICE_KEY, BOB_KEY
from service.components import components
from service.config import ConfigError
from service.extensions import db
from service.immich import settings as immich_settings
from service.immich.client import UpstreamLimits, Upstreams
from service.immich.url_policy import UrlPolicy, system_resolver
from service.photos.thumbnail_cache import TEMP_PREFIX, ThumbnailCache, ThumbnailKey
from tests.conftest import Auth, configure, dispose, error_of, make_app

pytestmark = pytest.mark.usefixtures("fresh_fake")

CACHE_LOGGER = "service.photos.thumbnail_cache"


@pytest.fixture
def alice(client, auth, fake):
    headers = auth.bearer("alice@example.com")
    configure(client, headers, fake)
    return headers


@pytest.fixture
def bob(client, auth, fake):
    headers = auth.bearer("bob@example.com")
    configure(client, headers, fake, key=BOB_KEY)
    return headers


def images_of(fake, key):
    return [a.id for a in fake.assets_of(key) if a.type == "IMAGE" and not a.is_trashed]


def thumbnail(client, headers, asset_id, size="thumbnail", **extra):
    return client.get(f"/api/users/me/immich/photos/{asset_id}/thumbnail?size={size}", headers={**headers, **extra})


def upstream_calls(fake, asset_id):
    return [r for r in fake.requests if r.path == f"/api/assets/{asset_id}/thumbnail"]


def cache_root(app) -> Path:
    return components(app).thumbnail_cache.root


def index_rows(app, sql="SELECT key FROM entries"):
    with sqlite3.connect(cache_root(app) / "index.sqlite3") as index:
        return index.execute(sql).fetchall()


def cached_files(root: Path) -> list[Path]:
    return [p for p in root.glob("*/*/*") if p.is_file()]


def user_id(client, headers):
    return client.get("/api/users/me", headers=headers).get_json()["data"]["id"]


@contextmanager
def gone_from_immich(fake, asset_id):
    asset = fake._assets.pop(asset_id)
    try:
        yield
    finally:
        fake._assets[asset_id] = asset


# ------------------------------------------------------------------ hits and misses


def test_a_thumbnail_is_asked_of_immich_once_then_served_from_disk(client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[0]
    first = thumbnail(client, alice, asset_id)
    again = thumbnail(client, alice, asset_id)
    preview = thumbnail(client, alice, asset_id, size="preview")
    assert first.status_code == again.status_code == preview.status_code == 200
    assert again.data == first.data and again.mimetype == first.mimetype == "image/webp"
    assert preview.mimetype == "image/jpeg" and preview.data != first.data
    for response in (first, again):
        assert response.headers["Cache-Control"] == "private, max-age=3600"
        assert response.headers["ETag"] == first.headers["ETag"]
        assert int(response.headers["Content-Length"]) == len(first.data)
    assert len(upstream_calls(fake, asset_id)) == 2  # one thumbnail, one preview


def test_a_cache_hit_answers_if_none_match_with_304(client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[1]
    etag = thumbnail(client, alice, asset_id).headers["ETag"]
    fake.clear_requests()
    again = thumbnail(client, alice, asset_id, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, max-age=3600"
    other = thumbnail(client, alice, asset_id, **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data
    assert upstream_calls(fake, asset_id) == []


def test_a_browser_etag_on_a_miss_fills_the_cache_and_still_gets_304(client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[2]
    etag = thumbnail(client, alice, asset_id).headers["ETag"]
    for path in cached_files(cache_root(client.application)):
        path.unlink()  # the cache lost it; the browser still has it
    response = thumbnail(client, alice, asset_id, **{"If-None-Match": etag})
    assert response.status_code == 304
    assert "if-none-match" not in upstream_calls(fake, asset_id)[-1].headers
    assert thumbnail(client, alice, asset_id).status_code == 200
    assert len(upstream_calls(fake, asset_id)) == 2


def test_a_signed_in_thumbnail_costs_one_database_read(app, client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[3]
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.bound(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):  # the first a miss, then hits
            assert thumbnail(client, alice, asset_id).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) <= 3, statements


def test_thumbnail_cache_mb_zero_turns_the_cache_off(settings, fake):
    app = make_app({**settings, "THUMBNAIL_CACHE_MB": "0"})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    configure(client, headers, fake)
    asset_id = images_of(fake, ALICE_KEY)[0]
    assert thumbnail(client, headers, asset_id).status_code == 200
    assert thumbnail(client, headers, asset_id).status_code == 200
    assert len(upstream_calls(fake, asset_id)) == 2
    assert components(app).thumbnail_cache is None
    dispose(app)


def test_behind_nginx_a_hit_is_handed_over_with_x_accel_redirect(settings, fake):
    app = make_app({**settings, "THUMBNAIL_ACCEL_REDIRECT": "/_thumbnail_cache/"})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    configure(client, headers, fake)
    asset_id = images_of(fake, ALICE_KEY)[0]
    first = thumbnail(client, headers, asset_id)  # a miss: the app has the bytes in hand and sends them
    assert first.status_code == 200 and first.data[8:12] == b"WEBP" and "X-Accel-Redirect" not in first.headers
    second = thumbnail(client, headers, asset_id)
    assert second.status_code == 200 and second.data == b""
    location = second.headers["X-Accel-Redirect"]
    assert location.startswith(f"/_thumbnail_cache/{user_id(client, headers)}/")
    assert (cache_root(app) / location.removeprefix("/_thumbnail_cache/")).read_bytes() == first.data
    assert second.mimetype == "image/webp" and second.headers["ETag"] == first.headers["ETag"]
    assert len(upstream_calls(fake, asset_id)) == 1
    with pytest.raises(ConfigError, match="THUMBNAIL_ACCEL_REDIRECT"):
        make_app({**settings, "THUMBNAIL_ACCEL_REDIRECT": "_thumbnail_cache"})
    dispose(app)


# ------------------------------------------------------------------ whose entry it is


def test_two_users_on_one_server_never_see_each_others_thumbnails(client, alice, bob, fake):
    alices, bobs = images_of(fake, ALICE_KEY)[0], images_of(fake, BOB_KEY)[0]
    assert thumbnail(client, alice, alices).status_code == 200
    assert thumbnail(client, bob, bobs).status_code == 200
    fake.clear_requests()
    # Each entry is on disk now, yet the other user's request goes to Immich with their own key.
    for headers, foreign in ((alice, bobs), (bob, alices)):
        response = thumbnail(client, headers, foreign)
        assert response.status_code == 404 and error_of(response) == "Photo not found"
        assert len(upstream_calls(fake, foreign)) == 1
    assert thumbnail(client, alice, alices).status_code == 200  # her own entry, from disk
    assert len(upstream_calls(fake, alices)) == 1  # Bob's call only


def test_after_a_key_change_nothing_cached_under_the_old_key_is_served(client, alice, fake):
    alices, bobs = images_of(fake, ALICE_KEY)[0], images_of(fake, BOB_KEY)[0]
    assert thumbnail(client, alice, alices).status_code == 200
    configure(client, alice, fake, key=BOB_KEY)
    assert thumbnail(client, alice, alices).status_code == 404
    assert thumbnail(client, alice, bobs).status_code == 200  # what the new key may see
    configure(client, alice, fake, key=ALICE_KEY)
    fake.clear_requests()
    assert thumbnail(client, alice, alices).status_code == 200
    assert thumbnail(client, alice, bobs).status_code == 404
    assert len(upstream_calls(fake, alices)) == 1 and len(upstream_calls(fake, bobs)) == 1


def test_saving_or_deleting_settings_drops_that_users_entries(app, client, alice, bob, fake):
    alice_id, bob_id = user_id(client, alice), user_id(client, bob)
    for asset_id in images_of(fake, ALICE_KEY)[:3]:
        assert thumbnail(client, alice, asset_id).status_code == 200
    assert thumbnail(client, bob, images_of(fake, BOB_KEY)[0]).status_code == 200
    root = cache_root(app)
    assert (root / alice_id).is_dir() and (root / bob_id).is_dir()

    configure(client, alice, fake)  # the same values, saved again
    assert not (root / alice_id).exists() and (root / bob_id).is_dir()
    assert [key for (key,) in index_rows(app) if key.startswith(alice_id)] == []
    assert len(index_rows(app)) == 1

    assert thumbnail(client, alice, images_of(fake, ALICE_KEY)[0]).status_code == 200
    assert (root / alice_id).is_dir()
    assert client.delete("/api/users/me/immich-config", headers=alice).status_code == 200
    assert not (root / alice_id).exists() and len(index_rows(app)) == 1
    assert thumbnail(client, alice, images_of(fake, ALICE_KEY)[0]).status_code == 409


def test_entries_of_settings_saved_on_another_host_are_swept(app, client, alice, fake):
    assert thumbnail(client, alice, images_of(fake, ALICE_KEY)[0]).status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE immich_configs SET version = 'saved-elsewhere'"))
        db.session.commit()
        live = immich_settings.live_versions()
    components(app).thumbnail_cache.sweep(live)
    assert index_rows(app) == [] and cached_files(cache_root(app)) == []


# ------------------------------------------------------------------ asking Immich again


def make_stale(app):
    with sqlite3.connect(cache_root(app) / "index.sqlite3") as index:
        index.execute("UPDATE entries SET checked_at = checked_at - 7200")


def test_an_hour_old_entry_is_revalidated_with_its_etag(app, client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[4]
    first = thumbnail(client, alice, asset_id)
    make_stale(app)
    fake.clear_requests()
    again = thumbnail(client, alice, asset_id)
    assert again.status_code == 200 and again.data == first.data
    (call,) = upstream_calls(fake, asset_id)
    assert call.headers["if-none-match"] == first.headers["ETag"] and call.status == 304
    assert thumbnail(client, alice, asset_id).status_code == 200
    assert len(upstream_calls(fake, asset_id)) == 1  # confirmed for another hour


def test_an_entry_whose_asset_is_gone_is_not_served_after_revalidation(app, client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[5]
    assert thumbnail(client, alice, asset_id).status_code == 200
    make_stale(app)
    with gone_from_immich(fake, asset_id):
        response = thumbnail(client, alice, asset_id)
        assert response.status_code == 404 and error_of(response) == "Photo not found"
        assert index_rows(app) == [] and cached_files(cache_root(app)) == []
        assert thumbnail(client, alice, asset_id).status_code == 404


def test_an_entry_the_key_may_no_longer_view_is_not_served_after_revalidation(app, client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[6]
    assert thumbnail(client, alice, asset_id).status_code == 200
    make_stale(app)
    asset = fake._assets[asset_id]
    fake._assets[asset_id] = dataclasses.replace(asset, owner_key_user="bob")
    try:
        assert thumbnail(client, alice, asset_id).status_code == 404
    finally:
        fake._assets[asset_id] = asset
    assert index_rows(app) == []


# ------------------------------------------------------------------ concurrency


def test_concurrent_requests_for_one_uncached_thumbnail_make_one_upstream_call(app, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[7]
    fake.latency = 0.3  # every request overlaps the first one's upstream call
    barrier = threading.Barrier(8)
    results = []

    def fetch():
        client = app.test_client()
        barrier.wait(10)
        response = thumbnail(client, alice, asset_id)
        results.append((response.status_code, response.data))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    fake.latency = 0.0
    assert len(results) == 8 and {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    assert len(upstream_calls(fake, asset_id)) == 1


BOUND = 1 << 20  # as THUMBNAIL_CACHE_MB=1, the smallest


@pytest.fixture
def upstream(fake):
    upstreams = Upstreams(policy=UrlPolicy.parse("loopback"), resolver=system_resolver,
                          limits=UpstreamLimits(), max_concurrency=4)
    yield upstreams.client(fake.url, ALICE_KEY)
    upstreams.close()


def fill(cache, upstream, key):
    entry = cache.get_or_fetch(key, lambda etag: upstream.open_thumbnail(key.asset_id, size=key.size,
                                                                          if_none_match=etag))
    entry.close()


def disk_usage(root: Path) -> int:
    """What the folder takes on disk: every file and folder in it, the index included."""
    return sum(p.stat().st_blocks * 512 for p in root.rglob("*"))


def keys_for(fake, count):
    """Distinct entries: each of Alice's images under several settings versions."""
    assets = images_of(fake, ALICE_KEY)
    return [ThumbnailKey("u", f"v{n // len(assets)}", assets[n % len(assets)], "thumbnail") for n in range(count)]


def test_the_size_bound_holds_and_the_least_recently_used_go_first(tmp_path, fake, upstream):
    cache = ThumbnailCache(tmp_path / "cache", BOUND, touch_after=0)
    keys = keys_for(fake, 480)  # about three times what fits
    for key in keys[:10]:
        fill(cache, upstream, key)
    for key in keys[10:]:
        entry = cache.lookup(keys[0])  # the first stays in use all along
        assert entry is not None
        entry.close()
        fill(cache, upstream, key)
    assert cache.lookup(keys[1]) is None
    newest = cache.lookup(keys[-1])
    assert newest is not None
    newest.close()
    used, count = cache.usage()
    assert count == len(cached_files(cache.root)) < 480 / 2
    assert used <= BOUND and disk_usage(cache.root) <= BOUND * 1.05, disk_usage(cache.root)
    cache.close()


def test_several_processes_writing_one_folder_keep_the_bound(tmp_path, fake, upstream):
    root = tmp_path / "cache"
    writers = [ThumbnailCache(root, BOUND) for _ in range(3)]  # as three processes would
    keys = keys_for(fake, 480)

    def write(index, cache):
        for key in keys[index::3]:
            fill(cache, upstream, key)

    threads = [threading.Thread(target=write, args=(i, cache)) for i, cache in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    used, count = writers[0].usage()
    assert count == len(cached_files(root))
    assert used <= BOUND and disk_usage(root) <= BOUND * 1.05, disk_usage(root)
    for cache in writers:
        cache.close()


# ------------------------------------------------------------------ torn files and failures


def test_a_torn_file_is_never_served(app, client, alice, fake):
    asset_id = images_of(fake, ALICE_KEY)[8]
    whole = thumbnail(client, alice, asset_id).data
    (path,) = cached_files(cache_root(app))
    path.write_bytes(whole[: len(whole) // 2])  # as a crash could leave it
    leftover = path.with_name(TEMP_PREFIX + "crashed")
    leftover.write_bytes(b"half a thumbnail")
    again = thumbnail(client, alice, asset_id)
    assert again.status_code == 200 and again.data == whole
    assert len(upstream_calls(fake, asset_id)) == 2
    hour_ago = time.time() - 7200
    os.utime(leftover, (hour_ago, hour_ago))
    components(app).thumbnail_cache.sweep()
    assert not leftover.exists()
    assert thumbnail(client, alice, asset_id).data == whole


def test_an_unwritable_cache_folder_degrades_to_proxying_with_one_log_line(settings, fake, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = make_app({**settings, "THUMBNAIL_CACHE_DIR": str(blocker / "thumbnails")})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    configure(client, headers, fake)
    asset_id = images_of(fake, ALICE_KEY)[0]
    for _ in range(3):
        response = thumbnail(client, headers, asset_id)
        assert response.status_code == 200 and response.mimetype == "image/webp"
    assert len(upstream_calls(fake, asset_id)) == 3
    assert len([r for r in caplog.records if r.name == CACHE_LOGGER]) == 1
    dispose(app)


def test_a_folder_that_stops_taking_writes_degrades_with_one_log_line(app, client, alice, fake, caplog):
    (cache_root(app) / user_id(client, alice)).write_text("")  # where the user's folder should go
    for asset_id in images_of(fake, ALICE_KEY)[:3]:
        response = thumbnail(client, alice, asset_id)
        assert response.status_code == 200 and response.data[8:12] == b"WEBP"
    assert len([r for r in caplog.records if r.name == CACHE_LOGGER]) == 1


def test_a_full_disk_degrades_to_proxying_with_one_log_line(client, alice, fake, caplog):
    assets = images_of(fake, ALICE_KEY)[:3]
    expected = [fake.asset(a) for a in assets]
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # The kernel refuses every write past the first byte of a file, as a full disk would.
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))
    try:
        responses = [thumbnail(client, alice, asset_id) for asset_id in assets]
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    for response, asset in zip(responses, expected, strict=True):
        assert response.status_code == 200 and response.data[8:12] == b"WEBP", asset.id
    assert len([r for r in caplog.records if r.name == CACHE_LOGGER and r.levelno == logging.WARNING]) == 1
