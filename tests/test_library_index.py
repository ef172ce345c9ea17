"""The library index against a fake Immich of its own (a real HTTP server) and a real
database: first sync, every kind of change, deletions, exif-only edits, concurrent syncs,
a process that died holding the lease, a key of another Immich user, and Immich down."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from fake_immich import ALICE_KEY, BOB_KEY
from service.extensions import db
from service.library import snapshots, store
from service.library.asset_rows import ROW_COLUMNS, assets_of, split_assets
from tests.conftest import configure, dispose, error_of, make_app, settle

RANGE = "startDate=2000-01-01T00:00:00Z&endDate=2030-12-31T23:59:59Z"


@pytest.fixture
def settings(settings):
    # A short breaker: tests that take Immich down bring it back and carry on at once.
    return {**settings, "INDEX_ENABLED": "true", "SEARCH_CACHE_SECONDS": "0", "INDEX_LEASE_SECONDS": "3",
            "IMMICH_BREAKER_SECONDS": "0.5"}


@pytest.fixture
def live_app(settings):
    """A second app on the same database with the index off: the live path to compare with."""
    app = make_app({**settings, "INDEX_ENABLED": "false"})
    yield app
    dispose(app)


def index_of(client, headers) -> dict[str, Any]:
    response = client.get("/api/users/me/immich/index", headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json()["data"])


def sync(app, client, headers) -> dict[str, Any]:
    response = client.post("/api/users/me/immich/index/sync", headers=headers)
    assert response.status_code == 202, response.get_json()
    settle(app)
    return index_of(client, headers)


def search(client, headers, query=RANGE) -> dict[str, Any]:
    response = client.get(f"/api/users/me/immich/photos/search?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    data = dict(response.get_json()["data"])
    assert data["totalCount"] == len(data["photos"])
    return data


@pytest.fixture
def alice(alice_on_own_fake):
    return alice_on_own_fake


def visible(fake, key=ALICE_KEY) -> list[Any]:
    """The assets a key's searches see: not trashed, on the timeline or in the archive."""
    return [a for a in fake.assets_of(key) if not a.is_trashed and a.visibility in ("timeline", "archive")]


def live_search(live_app, headers, query=RANGE) -> dict[str, Any]:
    return search(live_app.test_client(), headers, query)


def assert_index_matches_live(client, live_app, headers, query=RANGE) -> list[dict[str, Any]]:
    indexed = search(client, headers, query)
    live = live_search(live_app, headers, query)
    assert indexed["source"] == "index" and live["source"] == "live"
    assert indexed["indexedAt"] and live["indexedAt"] is None
    assert indexed["photos"] == live["photos"]
    return list(indexed["photos"])


# ------------------------------------------------------------------ first sync


def test_saving_settings_indexes_the_library_and_search_answers_from_it(app, client, alice, live_app, own_fake):
    state = index_of(client, alice)
    assert state["status"] == "ready" and state["lastError"] is None and state["progress"] is None
    assert state["indexedCount"] == len(visible(own_fake)) > 0
    photos = assert_index_matches_live(client, live_app, alice)
    assert photos, "the fake's library has photos in the range"
    assert all(p["thumbnailUrl"].startswith("/api/users/me/immich/photos/") for p in photos)


def test_progress_is_visible_while_the_first_sync_runs(app, client, auth, own_fake):
    own_fake.add_bulk_assets(ALICE_KEY, 3_000, start="2021-01-01T00:00:00Z", end="2021-12-31T00:00:00Z")
    own_fake.latency = 0.3
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = index_of(client, headers)
        seen.append(state)
        if state["status"] == "ready":
            break
        time.sleep(0.1)
    syncing = [s for s in seen if s["status"] == "syncing" and s["progress"]]
    assert syncing, seen[:3]
    assert syncing[-1]["progress"]["total"] == len(visible(own_fake))
    assert 0 <= syncing[0]["progress"]["done"] <= syncing[-1]["progress"]["done"]
    before_ready = search(client, headers, "startDate=2021-01-01T00:00:00Z&endDate=2021-12-31T23:59:59Z")
    assert before_ready["source"] in ("live", "index")
    settle(app)
    assert index_of(client, headers)["status"] == "ready"


def test_the_index_answers_only_for_its_owner(app, client, auth, alice):
    bob = auth.bearer("bob@example.com")
    assert client.get("/api/users/me/immich/index", headers=bob).status_code == 409
    with app.app_context():
        alice_id = db.session.execute(text("SELECT id FROM users WHERE email = 'alice@example.com'")).scalar_one()
    other = client.get(f"/api/users/{alice_id}/immich/index", headers=bob)
    assert other.status_code == 403 and error_of(other)
    assert client.post(f"/api/users/{alice_id}/immich/index/sync", headers=bob).status_code == 403


# ------------------------------------------------------------------ changes


def test_every_kind_of_change_is_reflected_after_a_sync(app, client, alice, live_app, own_fake):
    mine = own_fake.assets_of(ALICE_KEY)
    images = [a for a in mine if a.type == "IMAGE" and a in visible(own_fake)]
    added = own_fake.add_assets(ALICE_KEY, {"taken": "2024-05-05T10:00:00Z", "latitude": 1.5, "longitude": 2.5})[0]
    changed, trashed, deleted, restored = images[0].id, images[1].id, images[2].id, images[3].id
    own_fake.change_asset(changed, city="Elsewhere", latitude=10.0, longitude=20.0)
    own_fake.trash(trashed)
    own_fake.delete_permanently(deleted)
    own_fake.trash(restored)
    assert sync(app, client, alice)["status"] == "ready"
    own_fake.restore(restored)
    state = sync(app, client, alice)
    assert state["status"] == "ready" and state["lastError"] is None
    photos = {p["id"]: p for p in assert_index_matches_live(client, live_app, alice)}
    assert added in photos and restored in photos
    assert trashed not in photos and deleted not in photos
    assert photos[changed]["city"] == "Elsewhere" and photos[changed]["latitude"] == 10.0


def test_a_permanent_deletion_without_any_update_is_found_by_the_month_counts(app, client, alice, live_app,
                                                                           own_fake):
    victim = next(a for a in own_fake.assets_of(ALICE_KEY) if a.type == "IMAGE" and not a.is_trashed)
    own_fake.delete_permanently(victim.id)
    own_fake.clear_requests()
    sync(app, client, alice)
    assert victim.id not in {p["id"] for p in assert_index_matches_live(client, live_app, alice)}
    counts = own_fake.request_counts()
    assert counts["GET /api/timeline/bucket"] == 1  # only the month that differs is re-read


def test_an_exif_edit_that_leaves_updated_at_alone_is_caught_by_the_reconcile(settings, own_fake, live_app):
    app = make_app({**settings, "INDEX_RECONCILE_SECONDS": "0"})
    try:
        client = app.test_client()
        from tests.conftest import Auth

        headers = Auth(app, client).bearer("alice@example.com")
        configure(client, headers, own_fake)
        settle(app)
        target = next(a for a in own_fake.assets_of(ALICE_KEY)
                      if a.type == "IMAGE" and not a.is_trashed and a.latitude is not None)
        own_fake.change_asset(target.id, latitude=-33.86, longitude=151.21, bump_updated_at=False)
        sync(app, client, headers)
        photos = {p["id"]: p for p in assert_index_matches_live(client, live_app, headers)}
        assert (photos[target.id]["latitude"], photos[target.id]["longitude"]) == (-33.86, 151.21)
    finally:
        dispose(app)


def test_an_incremental_sync_with_nothing_changed_asks_immich_at_most_three_times(app, client, alice, own_fake):
    own_fake.clear_requests()
    state = sync(app, client, alice)
    assert state["status"] == "ready"
    assert sum(own_fake.request_counts().values()) <= 3, own_fake.request_counts()


@pytest.mark.parametrize("circle", [
    (0.0, 179.99, 50_000),     # the antimeridian
    (0.0, -179.99, 50_000),
    (89.99, 0.0, 20_000),      # the north pole
    (-89.99, 45.0, 20_000),    # the south pole
    (0.0, 0.0, 1_000),         # 0/0
    (10.0, 10.0, 111_195.1),   # the radius boundary: one degree of latitude in, 11 m more out
])
def test_the_index_and_the_live_path_agree_at_the_edges_of_the_map(app, client, alice, live_app, own_fake, circle):
    spots = [(0.0, 179.995), (0.0, -179.995), (0.3, 179.7), (89.995, 120.0), (89.9, -60.0),
             (-89.995, -170.0), (0.0, 0.0), (0.005, -0.005), (11.0, 10.0), (9.0, 10.0), (11.0001, 10.0)]
    own_fake.add_assets(ALICE_KEY, *({"taken": f"2022-02-0{1 + i % 9}T12:00:00Z", "latitude": lat, "longitude": lon}
                                     for i, (lat, lon) in enumerate(spots)))
    sync(app, client, alice)
    lat, lon, radius = circle
    query = f"{RANGE}&latitude={lat}&longitude={lon}&radiusMeters={radius}"
    photos = assert_index_matches_live(client, live_app, alice, query)
    assert photos, "each circle holds at least one of the spots"


def test_an_asset_dated_at_the_ends_of_the_calendar_is_indexed_without_a_month():
    # A capture time in year 1 whose local time claims year 9999: no month exists between them,
    # and the asset must not stop the whole sync.
    edges = [{"id": "a" * 36, "type": "IMAGE", "fileCreatedAt": "0001-01-01T00:00:00.000Z",
              "localDateTime": "9999-12-31T23:59:59.999Z", "updatedAt": "2024-01-01T00:00:00.000Z"},
             {"id": "b" * 36, "fileCreatedAt": "0001-01-01T00:00:00.000Z"},
             {"id": "c" * 36, "fileCreatedAt": "9999-12-31T23:59:59.999Z"},
             # 2024-06-01T00:00Z, an hour west: still May.
             {"id": "d" * 36, "fileCreatedAt": "2024-06-01T00:00:00.000Z", "localDateTime": "2024-05-31T23:00:00.000Z"}]
    rows, _gone, _high, _seen = split_assets(assets_of(edges))
    found = [dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows]
    assert found[0]["bucket"] is None and found[0]["file_created_ms"] == -62135596800000
    assert [row["bucket"] for row in found[1:]] == ["0001-01", "9999-12", "2024-05"]
    assert found[3]["local_offset_minutes"] == -60


# ------------------------------------------------------------------ one sync at a time


def test_two_sync_requests_at_once_run_one_sync_across_processes(settings, client, auth, own_fake, app):
    headers = auth.bearer("alice@example.com")
    own_fake.add_bulk_assets(ALICE_KEY, 2_000, start="2020-01-01T00:00:00Z", end="2020-12-31T00:00:00Z")
    second = make_app(settings, migrate=False)  # another process, in every way that matters here
    try:
        own_fake.latency = 0.2
        configure(client, headers, own_fake)
        own_fake.clear_requests()
        responses = []
        threads = [threading.Thread(target=lambda a=a: responses.append(
            a.test_client().post("/api/users/me/immich/index/sync", headers=headers))) for a in (app, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status_code for r in responses) == [202, 202]
        assert all(r.get_json()["data"]["status"] in ("syncing", "ready") for r in responses)
        settle(app)
        settle(second)
        own_fake.latency = 0.0
        assert own_fake.request_counts()["GET /api/assets/statistics"] <= 1  # one full sync at most
        assert index_of(client, headers)["status"] == "ready"
    finally:
        dispose(second)


def test_a_process_that_died_holding_the_lease_blocks_only_until_it_expires(app, client, auth, own_fake):
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake)
    settle(app)
    user_id = uuid.UUID(client.get("/api/users/me", headers=headers).get_json()["data"]["id"])
    with app.app_context():
        assert store.take_lease(user_id, owner="a-process-that-was-killed", seconds=6)
    own_fake.add_assets(ALICE_KEY, {"taken": "2024-07-07T07:07:07Z"})
    own_fake.clear_requests()
    blocked = sync(app, client, auth.bearer("alice@example.com"))
    assert blocked["refreshing"] is True  # the dead process's lease is still live
    assert own_fake.request_counts()["POST /api/search/metadata"] == 0
    time.sleep(6.2)
    state = sync(app, client, headers)
    assert state["refreshing"] is False and state["status"] == "ready"
    assert state["indexedCount"] == len(visible(own_fake))


def test_a_sync_killed_mid_way_leaves_an_index_the_next_one_completes(settings, own_fake, live_app):
    # One page at a time, each slow: Immich goes away after the first, mid-sync.
    app = make_app({**settings, "IMMICH_MAX_CONCURRENCY": "1"})
    try:
        client = app.test_client()
        from tests.conftest import Auth

        sync_killed_mid_way(app, client, Auth(app, client), own_fake, live_app)
    finally:
        dispose(app)


def sync_killed_mid_way(app, client, auth, own_fake, live_app):
    own_fake.add_bulk_assets(ALICE_KEY, 5_000, start="2019-01-01T00:00:00Z", end="2019-12-31T00:00:00Z")
    headers = auth.bearer("alice@example.com")
    own_fake.latency = 0.4
    configure(client, headers, own_fake)
    deadline = time.monotonic() + 20
    while (index_of(client, headers)["progress"] or {}).get("done", 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    own_fake.set_fault("down")  # the syncing process loses Immich, as if it had died mid-way
    settle(app)
    own_fake.set_fault(None)
    own_fake.latency = 0.0
    broken = index_of(client, headers)
    assert broken["status"] == "error" and broken["lastError"]
    time.sleep(0.6)  # the breaker's pause after the failures
    assert search(client, headers)["source"] == "live"  # a half-built index never answers
    done = sync(app, client, headers)
    assert done["status"] == "ready" and done["lastError"] is None
    assert_index_matches_live(client, live_app, headers)


# ------------------------------------------------------------------ whose library


def test_a_key_of_another_immich_user_never_shows_the_first_users_photos(app, client, alice, own_fake):
    alice_ids = {a.id for a in own_fake.assets_of(ALICE_KEY)}
    configure(client, alice, own_fake, key=BOB_KEY)
    right_away = search(client, alice)
    assert not alice_ids & {p["id"] for p in right_away["photos"]}
    settle(app)
    after = search(client, alice)
    assert after["source"] == "index"
    assert not alice_ids & {p["id"] for p in after["photos"]}
    assert {p["id"] for p in after["photos"]} <= {a.id for a in own_fake.assets_of(BOB_KEY)}
    # The map's packed columns were made again for the new library, not kept from the old one.
    clusters = client.get(f"/api/users/me/immich/map/clusters?{RANGE}&north=90&south=-90&west=-180&east=180&zoom=1",
                          headers=alice)
    assert clusters.status_code == 200, clusters.get_json()
    placed = [p for p in after["photos"] if p["latitude"] is not None]
    assert sum(c["count"] for c in clusters.get_json()["data"]["clusters"]) == len(placed) > 0


def test_a_key_of_another_immich_user_after_an_unfinished_sync_starts_from_nothing(app, client, alice, own_fake):
    # Rows of a first sync that did not finish, then a key that reads Bob's library: the key's
    # owner is asked while Bob's first page is, and Alice's rows go before any of Bob's is written.
    with app.app_context():
        db.session.execute(text("UPDATE library_index_states SET ready = :no"), {"no": False})
        db.session.commit()
    configure(client, alice, own_fake, key=BOB_KEY)
    settle(app)
    with app.app_context():
        indexed = set(db.session.execute(text("SELECT asset_id FROM library_assets")).scalars())
    assert indexed == {a.id for a in visible(own_fake, BOB_KEY)}
    assert index_of(client, alice)["indexedCount"] == len(indexed)


def test_a_first_sync_page_holding_an_asset_already_indexed_replaces_it(app, client, alice, backend):
    # A first sync copies its pages in without looking for rows to replace; when Immich's pages
    # moved while they were read, a page may hold an asset already written: it is replaced.
    user_id = uuid.UUID(client.get("/api/users/me", headers=alice).get_json()["data"]["id"])
    with app.app_context():
        (known,) = db.session.execute(text("SELECT asset_id FROM library_assets LIMIT 1")).one()
        count = store.count(user_id)
        fresh = ("f" * 36, "IMAGE", 1_700_000_000_000, 1_700_000_000_000, 0, "2023-11", 1.0, 2.0, "new.jpg",
                 None, None, None, False, None, 1_700_000_000_000)
        assert store.insert_new(user_id, [fresh]) is True
        again = (known, *fresh[1:8], "moved.jpg", "Lyon", None, "France", True, None, 1_700_000_000_001)
        # PostgreSQL's copy fails on it, and the page is upserted; SQLite upserts every page.
        assert store.insert_new(user_id, [again, ("e" * 36, *fresh[1:])]) is (backend != "postgres")
        store.commit()
        assert store.count(user_id) == count + 2
        row = db.session.execute(text("SELECT original_file_name, city, is_favorite FROM library_assets "
                                      "WHERE asset_id = :id"), {"id": known}).one()
        assert tuple(row) == ("moved.jpg", "Lyon", True)


def test_a_sync_writes_on_one_connection_set_up_for_it_and_leaves_it_as_it_was(app, backend):
    setting = ("SHOW synchronous_commit", "off", "on") if backend == "postgres" else (
        "PRAGMA cache_size", -store.SYNC_CACHE_KIB, -2000)
    with app.app_context():
        with store.bulk_writes():
            first = db.session.connection().connection.dbapi_connection
            assert db.session.execute(text(setting[0])).scalar() == setting[1]
            store.commit()
            assert db.session.connection().connection.dbapi_connection is first
        cursor = first.cursor()
        cursor.execute(setting[0])
        assert cursor.fetchone()[0] == setting[2]


def snapshot_parts(user_id: uuid.UUID) -> list[tuple[str, int, bytes]]:
    rows = db.session.execute(text("SELECT version, photos, packed FROM library_snapshots WHERE user_id = :u "
                                   "ORDER BY part"), {"u": user_id.hex if db.session.get_bind().dialect.name
                                                       == "sqlite" else user_id})
    return [(version, photos, bytes(packed)) for version, photos, packed in rows]


def test_a_first_sync_packs_the_maps_columns_as_its_pages_come(app, client, auth, own_fake, monkeypatch):
    own_fake.add_bulk_assets(ALICE_KEY, 3 * snapshots.PART_PHOTOS, start="2020-01-01T00:00:00Z",
                             end="2020-12-31T00:00:00Z")
    read_back = []
    write = snapshots.write
    monkeypatch.setattr(snapshots, "write", lambda *args: (read_back.append(args), write(*args))[1])
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake)
    settle(app)
    assert read_back == [], "the first sync read its rows back to pack them"
    user_id = uuid.UUID(client.get("/api/users/me", headers=headers).get_json()["data"]["id"])
    with app.app_context():
        streamed = snapshot_parts(user_id)
        version = store.snapshot_version(user_id)
        assert len(streamed) == 4 and {v for v, _, _ in streamed} == {version}
        write(user_id, version)  # packed from the rows, as any other sync does
        store.commit()
        assert snapshot_parts(user_id) == streamed


def index_rows(count: int, *, start: int = 0) -> list[tuple[Any, ...]]:
    """Rows in capture order: every seventh a video, every eleventh without a time or a position."""
    rows = []
    for i in range(start, start + count):
        ms = 1_600_000_000_000 + i * 60_000
        created = None if i % 11 == 0 else ms
        rows.append((str(uuid.UUID(int=i)), "VIDEO" if i % 7 == 0 else "IMAGE", created, created, 0, "2020-09",
                     None if i % 11 == 0 else 40 + i / 1e5, 2.5, f"{i}.jpg", None, None, None, False, None, ms))
    return rows


def stream(app, user_id: uuid.UUID, pages: list[list[tuple[Any, ...]]], *, meddle=None) -> bool:
    """A first sync's pages written and streamed into a snapshot, then named: whether it was."""
    with app.app_context():
        store.wipe(user_id)
        streamed = snapshots.Streamed(user_id)
        for page in pages:
            store.insert_new(user_id, page)
            streamed.add(page)
            store.commit()
        if meddle:
            meddle()
        named = streamed.name("named", store.count(user_id))
        store.commit()
        return named


@pytest.mark.parametrize("order", ["as sent", "two pages swapped"])
def test_a_streamed_snapshot_is_the_one_packed_from_the_rows(app, client, alice, order):
    user_id = uuid.UUID(client.get("/api/users/me", headers=alice).get_json()["data"]["id"])
    pages = [index_rows(1000, start=1000 * n) for n in range(10)]
    if order == "two pages swapped":  # a little out of order: the photos still find their place
        pages[3], pages[4] = pages[4], pages[3]
    assert stream(app, user_id, pages)
    with app.app_context():
        streamed = snapshot_parts(user_id)
        snapshots.write(user_id, "named")
        store.commit()
        assert snapshot_parts(user_id) == streamed
        assert sum(photos for _, photos, _ in streamed) == sum(
            1 for page in pages for row in page if row[1] == "IMAGE" and row[2] is not None)


def test_a_streamed_snapshot_that_is_not_the_rows_is_not_named(app, client, alice):
    user_id = uuid.UUID(client.get("/api/users/me", headers=alice).get_json()["data"]["id"])
    pages = [index_rows(1000, start=1000 * n) for n in range(25)]
    # A photo that comes after its place was packed.
    assert not stream(app, user_id, [pages[0][:1] + pages[0][2:], *pages[1:], pages[0][1:2]])
    # A row sent twice: the index holds fewer rows than were written.
    assert not stream(app, user_id, [*pages, pages[9][-1:]])
    # Parts replaced meanwhile (by a process that packed the rows for itself).
    with app.app_context():
        assert not stream(app, user_id, pages, meddle=lambda: snapshots.write(user_id, "other"))
        assert snapshots.read(user_id, "named") is None


def indexed_rows(app) -> int:
    with app.app_context():
        return int(db.session.execute(text("SELECT count(*) FROM library_assets")).scalar_one())


@pytest.mark.parametrize("sync", ["first", "refresh"])
def test_settings_deleted_while_a_sync_writes_leave_no_row_of_it_behind(app, client, auth, own_fake, sync):
    headers = auth.bearer("alice@example.com")
    if sync == "refresh":  # its months are re-read one after the other, each committed
        configure(client, headers, own_fake)
        settle(app)
        own_fake.add_bulk_assets(ALICE_KEY, 6_000, start="2021-01-01T00:00:00Z", end="2021-06-30T00:00:00Z")
        own_fake.latency = 0.3
    else:  # pages come for two seconds; the first commit is after one
        own_fake.add_bulk_assets(ALICE_KEY, 20_000, start="2021-01-01T00:00:00Z", end="2021-12-31T00:00:00Z")
        own_fake.latency = 0.5
    before = indexed_rows(app)
    if sync == "refresh":
        assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    else:
        configure(client, headers, own_fake)
    deadline = time.monotonic() + 30
    while indexed_rows(app) == before:
        assert time.monotonic() < deadline, "the sync committed nothing"
        time.sleep(0.05)
    assert client.delete("/api/users/me/immich-config", headers=headers).status_code == 200
    settle(app)
    with app.app_context():
        for table in ("library_assets", "library_index_states", "library_snapshots"):
            assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table


def test_the_cycle_collector_waits_until_the_last_bulk_work_is_done():
    import gc

    assert gc.isenabled()
    first, second = store.collector_paused(), store.collector_paused()
    first.__enter__()
    second.__enter__()  # another thread's, overlapping
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the collector ran again while a sync still wrote"
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()  # paused by something else: it stays so
    try:
        with store.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_maps_packed_parts_are_stored_as_written(app, alice, backend):
    # Packed numbers and ids do not compress: PostgreSQL is told not to try, on every part.
    query = ("SELECT attstorage FROM pg_attribute WHERE attrelid = 'library_snapshots'::regclass "
             "AND attname = 'packed'") if backend == "postgres" else "SELECT typeof(packed) FROM library_snapshots"
    with app.app_context():
        assert db.session.execute(text(query)).scalar_one() == ("e" if backend == "postgres" else "blob")


def test_deleting_the_settings_removes_the_index(app, client, alice):
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM library_snapshots")).scalar_one() == 1
    assert client.delete("/api/users/me/immich-config", headers=alice).status_code == 200
    with app.app_context():
        for table in ("library_assets", "library_index_states", "library_snapshots"):
            assert db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
    assert client.get("/api/users/me/immich/index", headers=alice).status_code == 409


# ------------------------------------------------------------------ failure and freshness


def test_a_page_immich_fails_to_give_is_asked_for_again_and_the_sync_completes(app, client, auth, own_fake, live_app):
    own_fake.add_bulk_assets(ALICE_KEY, 2_500, start="2020-01-01T00:00:00Z", end="2020-12-31T00:00:00Z")
    own_fake.clear_requests()
    own_fake.fail_next("POST /api/search/metadata", 2)  # the first page, then the first page again
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake)
    settle(app)
    state = index_of(client, headers)
    assert state["status"] == "ready" and state["lastError"] is None
    assert state["indexedCount"] == len(visible(own_fake))
    assert not own_fake.take_failure("POST /api/search/metadata"), "both failures were answered"
    assert_index_matches_live(client, live_app, headers)


def test_immich_down_after_the_index_is_ready_keeps_it_serving(app, client, alice, live_app, own_fake):
    before = search(client, alice)
    own_fake.set_fault("down")
    try:
        state = sync(app, client, alice)
        assert state["status"] == "ready"
        assert state["lastError"] and "127.0.0.1" not in state["lastError"] and str(own_fake.port) not in \
            state["lastError"]
        during = search(client, alice)
        assert during["source"] == "index" and during["photos"] == before["photos"]
    finally:
        own_fake.set_fault(None)
    time.sleep(0.6)  # the breaker's pause after the failures
    assert sync(app, client, alice)["lastError"] is None


def test_a_stale_index_answers_at_once_and_refreshes_behind_the_answer(settings, own_fake, live_app):
    app = make_app({**settings, "INDEX_REFRESH_SECONDS": "0"})
    try:
        client = app.test_client()
        from tests.conftest import Auth

        headers = Auth(app, client).bearer("alice@example.com")
        configure(client, headers, own_fake)
        settle(app)
        synced = index_of(client, headers)["lastSyncedAt"]
        added = own_fake.add_assets(ALICE_KEY, {"taken": "2024-08-08T08:00:00Z"})[0]
        first = search(client, headers)
        assert first["source"] == "index" and added not in {p["id"] for p in first["photos"]}
        settle(app)
        assert index_of(client, headers)["lastSyncedAt"] >= synced
        assert added in {p["id"] for p in search(client, headers)["photos"]}
    finally:
        dispose(app)


def test_with_the_index_off_search_is_live_and_sync_is_409(live_app, own_fake):
    client = live_app.test_client()
    from tests.conftest import Auth

    headers = Auth(live_app, client).bearer("carol@example.com")
    configure(client, headers, own_fake)
    assert search(client, headers)["source"] == "live"
    response = client.post("/api/users/me/immich/index/sync", headers=headers)
    assert response.status_code == 409 and response.get_json()["code"] == "index_disabled"
    assert index_of(client, headers)["status"] == "empty"
