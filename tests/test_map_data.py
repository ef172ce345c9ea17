"""The map's data: clusters with exact counts, the antimeridian, the time histogram and the
photos of a view or a cluster, as pure functions and through the API (index and live alike)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from fake_immich import ALICE_KEY, FakeImmich
from service.photos import map_data
from service.photos.geo import Circle
from service.photos.search import InvalidQuery, SearchQuery
from tests.conftest import Auth, dispose, error_of, make_app


def columns(points: list[tuple[float | None, float | None, str]]) -> map_data.MapColumns:
    photos = [{"id": f"00000000-0000-4000-8000-{i:012d}", "latitude": lat, "longitude": lon, "takenAt": taken}
              for i, (lat, lon, taken) in enumerate(points)]
    return map_data.MapColumns.from_photos(photos)


WORLD = map_data.Viewport(-180, -85, 180, 85, 2)


def test_clusters_count_every_located_photo_exactly_once():
    rng = random.Random(7)
    points = [(rng.uniform(-80, 80), rng.uniform(-180, 180), "2024-01-01T00:00:00.000Z") for _ in range(5000)]
    points += [(None, None, "2024-01-01T00:00:00.000Z")] * 10
    found = map_data.clusters(columns(points), WORLD)
    assert sum(c["count"] for c in found) == 5000
    assert len({c["cell"] for c in found}) == len(found)
    for cluster in found:
        west, south, east, north = cluster["bbox"]
        assert west <= cluster["longitude"] <= east and south <= cluster["latitude"] <= north


def test_a_cluster_of_one_names_its_photo_and_a_bigger_one_its_newest():
    data = columns([(10.0, 10.0, "2024-01-01T00:00:00.000Z"), (10.0001, 10.0001, "2024-02-01T00:00:00.000Z"),
                    (-40.0, 100.0, "2024-03-01T00:00:00.000Z")])
    found = sorted(map_data.clusters(data, map_data.Viewport(-180, -85, 180, 85, 3)), key=lambda c: c["count"])
    assert [c["count"] for c in found] == [1, 2]
    assert found[0]["photoId"].endswith("000000000002")
    assert found[1]["photoId"].endswith("000000000001")


def test_photos_either_side_of_the_antimeridian_cluster_together_in_a_view_across_it():
    data = columns([(-17.7, 179.9, "2024-01-01T00:00:00.000Z"), (-17.7, -179.9, "2024-01-01T00:00:00.000Z")])
    fiji = map_data.Viewport(170, -25, 190, -10, 4)
    found = map_data.clusters(data, fiji)
    assert [c["count"] for c in found] == [2]
    assert 179 < found[0]["longitude"] < 181  # drawn where the view is, not at its opposite edge


def test_a_cells_photos_are_exactly_its_clusters_members():
    rng = random.Random(3)
    points = [(48 + rng.random(), 2 + rng.random(), "2024-01-01T00:00:00.000Z") for _ in range(2000)]
    data = columns(points)
    view = map_data.Viewport(0, 45, 5, 50, 9)
    for cluster in map_data.clusters(data, view):
        x, y = (int(part) for part in cluster["cell"].split(":"))
        assert map_data.in_view(data, view, (x, y)).size == cluster["count"]


JUNE = SearchQuery(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC), None)


def test_the_whole_library_scope_hands_the_columns_back_untouched():
    data = columns([(10.0, 10.0, "2024-06-01T00:00:00.000Z"), (None, None, "2024-06-02T00:00:00.000Z")])
    assert map_data.WHOLE_LIBRARY.apply(data, JUNE) is data
    assert map_data.WHOLE_LIBRARY.loaded_range(JUNE) == JUNE


def test_a_scope_keeps_its_circle_leaves_out_its_zones_and_rounds_what_is_left():
    data = columns([(48.85661234, 2.35221234, "2024-06-01T00:00:00.000Z"),  # Paris
                    (48.86, 2.34, "2024-06-01T01:00:00.000Z"),  # inside the zone
                    (51.5, -0.12, "2024-06-01T02:00:00.000Z"),  # London: outside the circle
                    (None, None, "2024-06-01T03:00:00.000Z")])
    scope = map_data.Scope(circle=Circle(48.8566, 2.3522, 50_000), excluded=(Circle(48.86, 2.34, 100),), decimals=2)
    kept = scope.apply(data, JUNE)
    assert kept.ids.tolist() == [data.ids[0]]
    assert (kept.latitudes[0], kept.longitudes[0]) == (48.86, 2.35)
    # Without a circle, a photo without a position stays: it is in no zone.
    assert len(map_data.Scope(excluded=scope.excluded).apply(data, JUNE)) == 3


def test_a_scope_loads_only_the_dates_it_shares_and_nothing_beside_them():
    scope = map_data.Scope(start=datetime(2024, 6, 10, tzinfo=UTC), end=datetime(2024, 7, 10, tzinfo=UTC))
    assert scope.loaded_range(JUNE) == SearchQuery(scope.start, JUNE.end, None)
    data = columns([(10.0, 10.0, "2024-06-15T00:00:00.000Z")])
    assert len(scope.apply(data, JUNE)) == 1
    may = SearchQuery(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 31, tzinfo=UTC), None)
    assert scope.loaded_range(may) == SearchQuery(scope.start, scope.end, None)
    assert len(scope.apply(data, may)) == 0


def test_rounded_clusters_say_no_more_than_their_photos_rounded_places():
    data = columns([(48.8561, 2.3521, "2024-06-01T00:00:00.000Z"), (48.8572, 2.3536, "2024-06-01T01:00:00.000Z"),
                    (48.8589, 2.3559, "2024-06-01T02:00:00.000Z")])
    placed = map_data.Scope(decimals=3).apply(data, JUNE)
    (cluster,) = map_data.clusters(placed, map_data.Viewport(2, 48, 3, 49, 10), decimals=3)
    assert cluster["count"] == 3
    assert [cluster["latitude"], cluster["longitude"]] == [48.857, 2.354]  # the mean (48.8573...), rounded again
    assert cluster["bbox"] == [2.352, 48.856, 2.356, 48.859]


def test_the_histogram_bins_by_day_week_or_month_by_the_ranges_span():
    data = columns([(1.0, 1.0, "2024-01-01T10:00:00.000Z"), (1.0, 1.0, "2024-01-03T10:00:00.000Z"),
                    (1.0, 1.0, "2024-01-03T11:00:00.000Z"), (1.0, 1.0, "2024-03-15T00:00:00.000Z")])
    everything = np.arange(4)
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    days = map_data.histogram(data, everything, start_ms=start,
                              end_ms=int(datetime(2024, 1, 31, tzinfo=UTC).timestamp() * 1000))
    assert days["unit"] == "day" and len(days["bins"]) == 31
    assert [b["count"] for b in days["bins"][:3]] == [1, 0, 2]
    assert days["bins"][0]["start"] == "2024-01-01T00:00:00.000Z"
    months = map_data.histogram(data, everything, start_ms=start,
                                end_ms=int(datetime(2028, 12, 31, tzinfo=UTC).timestamp() * 1000))
    assert months["unit"] == "month" and months["bins"][2] == {"start": "2024-03-01T00:00:00.000Z", "count": 1}
    weeks = map_data.histogram(data, everything, start_ms=start,
                               end_ms=int(datetime(2024, 12, 31, tzinfo=UTC).timestamp() * 1000))
    assert weeks["unit"] == "week" and weeks["bins"][0]["count"] == 3  # Monday 1 January's week
    assert sum(b["count"] for b in weeks["bins"]) == 4


@pytest.mark.parametrize("args, wording", [
    ({"west": "1", "south": "2", "east": "3"}, "go together"),
    ({"west": "10", "south": "2", "east": "3", "north": "4"}, "west"),
    ({"west": "1", "south": "5", "east": "3", "north": "4"}, "south"),
    ({"west": "1", "south": "2", "east": "3", "north": "95"}, "north"),
    ({"west": "x", "south": "2", "east": "3", "north": "4"}, "west"),
    ({"west": "1", "south": "2", "east": "3", "north": "4", "zoom": "99"}, "zoom"),
])
def test_bad_bounds_are_refused_naming_the_field(args, wording):
    with pytest.raises(InvalidQuery, match=wording):
        map_data.parse_viewport(args, required=True)


# ------------------------------------------------------------------ through the API

RANGE = "startDate=2000-01-01T00:00:00Z&endDate=2030-12-31T23:59:59Z"
VIEW = "west=-180&south=-90&east=180&north=90&zoom=2"


@pytest.fixture
def own_fake():
    server = FakeImmich().start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings):
    return {**settings, "INDEX_ENABLED": "true", "SEARCH_CACHE_SECONDS": "60"}


def signed_in_with_index(app, own_fake):
    from service.components import components
    from tests.conftest import Auth

    client = app.test_client()
    headers = Auth(app, client).bearer("alice@example.com")
    body = {"serverUrl": own_fake.url, "apiKey": ALICE_KEY, "enabled": True}
    assert client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
    assert components(app).index_syncer.wait_idle(30)
    return client, headers


def get(client, headers, path, query):
    response = client.get(f"/api/users/me/immich/map/{path}?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_the_map_answers_alike_from_the_index_and_from_immich(app, settings, own_fake):
    own_fake.add_bulk_assets(ALICE_KEY, 3000, start="2022-01-01T00:00:00Z", end="2022-12-31T00:00:00Z")
    client, headers = signed_in_with_index(app, own_fake)
    live = make_app({**settings, "INDEX_ENABLED": "false"})
    try:
        live_client = live.test_client()
        for path, query in (("clusters", f"{RANGE}&{VIEW}"), ("histogram", f"{RANGE}&{VIEW}"),
                            ("photos", f"{RANGE}&{VIEW}&limit=50&offset=10")):
            indexed, direct = get(client, headers, path, query), get(live_client, headers, path, query)
            assert indexed.pop("source") == "index" and direct.pop("source") == "live"
            assert indexed.pop("indexedAt") and direct.pop("indexedAt") is None
            assert indexed == direct, path
        clusters = get(client, headers, "clusters", f"{RANGE}&{VIEW}")
        search = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers).get_json()["data"]
        located = [p for p in search["photos"] if p["latitude"] is not None]
        assert clusters["inViewCount"] == len(located)
        assert clusters["totalCount"] == search["totalCount"]
        assert clusters["withoutLocationCount"] == search["totalCount"] - len(located)
    finally:
        dispose(live)


def test_a_clusters_grid_pages_through_exactly_its_photos(app, own_fake):
    own_fake.add_bulk_assets(ALICE_KEY, 1500, start="2023-03-01T00:00:00Z", end="2023-03-31T00:00:00Z",
                             center=(48.85, 2.35), spread_km=5)
    client, headers = signed_in_with_index(app, own_fake)
    view = "west=2.2&south=48.7&east=2.5&north=49.0&zoom=8"
    biggest = max(get(client, headers, "clusters", f"{RANGE}&{view}")["clusters"], key=lambda c: c["count"])
    seen, offset = [], 0
    while True:
        page = get(client, headers, "photos", f"{RANGE}&{view}&cell={biggest['cell']}&offset={offset}&limit=500")
        assert page["totalCount"] == biggest["count"]
        seen += page["photos"]
        offset += 500
        if offset >= page["totalCount"]:
            break
    assert len(seen) == len({p["id"] for p in seen}) == biggest["count"]
    times = [p["takenAt"] for p in seen]
    assert times == sorted(times, reverse=True)  # newest first
    assert seen[0]["id"] == biggest["photoId"]
    assert all(p["thumbnailUrl"].endswith("/thumbnail") for p in seen)


def test_the_map_refuses_bad_bounds_and_other_users(app, client, auth, own_fake):
    client, headers = signed_in_with_index(app, own_fake)
    bad = client.get(f"/api/users/me/immich/map/clusters?{RANGE}&west=5&south=1&east=2&north=3",
                     headers=headers)
    assert bad.status_code == 400 and "west" in error_of(bad)
    missing = client.get(f"/api/users/me/immich/map/clusters?{RANGE}", headers=headers)
    assert missing.status_code == 400
    bob = auth.bearer("bob@example.com")
    me = client.get("/api/users/me", headers=headers).get_json()["data"]["id"]
    assert client.get(f"/api/users/{me}/immich/map/clusters?{RANGE}&{VIEW}", headers=bob).status_code == 403
    assert client.get(f"/api/users/me/immich/map/clusters?{RANGE}&{VIEW}", headers=bob).status_code == 409


def test_requests_needing_the_same_columns_at_once_read_them_once():
    cache = map_data.ColumnsCache()
    reads = []
    started = threading.Event()

    def load():
        reads.append(1)
        started.set()
        time.sleep(0.2)  # a slow read of a big index, under way while the others ask
        return columns([(1.0, 2.0, "2024-01-01T00:00:00.000Z")])

    found = []
    threads = [threading.Thread(target=lambda: found.append(cache.get_or_load("alice", load))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(reads) == 1 and len(found) == 4 and all(f is found[0] for f in found)
    assert cache.get_or_load("bob", load) is not found[0] and len(reads) == 2


def test_the_index_rows_are_read_by_the_sync_that_changed_them_and_by_no_map(app, settings, own_fake, monkeypatch):
    from sqlalchemy import text

    from service.components import components
    from service.extensions import db
    from service.library import snapshots, store

    monkeypatch.setattr(snapshots, "PART_PHOTOS", 128)  # a snapshot of several parts
    own_fake.add_bulk_assets(ALICE_KEY, 500, start="2022-01-01T00:00:00Z", end="2022-12-31T00:00:00Z")
    client, headers = signed_in_with_index(app, own_fake)
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM library_snapshots")).scalar_one() > 3
    reads = []
    map_rows = store.map_rows
    monkeypatch.setattr(store, "map_rows", lambda *args, **kw: reads.append(args) or map_rows(*args, **kw))

    first = get(client, headers, "clusters", f"{RANGE}&{VIEW}")
    assert reads == [], "the sync that built the index kept its columns"
    assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    assert components(app).index_syncer.wait_idle(30)
    again = get(client, headers, "clusters", f"{RANGE}&{VIEW}")
    assert reads == [] and again["indexedAt"] > first["indexedAt"], "a refresh that found nothing new reads nothing"
    assert again["clusters"] == first["clusters"]

    own_fake.change_asset(again["clusters"][0]["photoId"], latitude=-33.9, longitude=151.2)
    assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    assert components(app).index_syncer.wait_idle(30)
    moved = get(client, headers, "clusters", f"{RANGE}&{VIEW}")
    assert len(reads) == 1 and moved["clusters"] != first["clusters"], "the sync that changed the rows read them"

    # Another process (a second worker, or instance) answers from the snapshot the sync saved.
    other = make_app(settings)
    try:
        other_client = other.test_client()
        other_headers = Auth(other, other_client).bearer("alice@example.com")
        assert get(other_client, other_headers, "clusters", f"{RANGE}&{VIEW}")["clusters"] == moved["clusters"]
        assert len(reads) == 1
    finally:
        dispose(other)


def test_a_process_that_finds_no_snapshot_reads_the_rows_and_saves_one(app, settings, own_fake):
    from sqlalchemy import text

    from service.extensions import db

    own_fake.add_bulk_assets(ALICE_KEY, 300, start="2022-01-01T00:00:00Z", end="2022-12-31T00:00:00Z")
    client, headers = signed_in_with_index(app, own_fake)
    expected = get(client, headers, "clusters", f"{RANGE}&{VIEW}")["clusters"]
    with app.app_context():
        db.session.execute(text("DELETE FROM library_snapshots"))  # as an index synced before snapshots were kept
        db.session.commit()
    other = make_app(settings)
    try:
        other_client = other.test_client()
        other_headers = Auth(other, other_client).bearer("alice@example.com")
        assert get(other_client, other_headers, "clusters", f"{RANGE}&{VIEW}")["clusters"] == expected
        with other.app_context():
            assert db.session.execute(text("SELECT count(*) FROM library_snapshots")).scalar_one() == 1
    finally:
        dispose(other)


def test_clusters_number_their_cells_alike_by_counting_and_by_sorting(monkeypatch):
    rng = np.random.default_rng(7)
    columns = map_data.MapColumns.from_rows([
        (f"{i:036d}", float(rng.uniform(-80, 80)), float(rng.uniform(-180, 180)), i, i) for i in range(3000)])
    view = map_data.Viewport(west=-180, south=-85, east=180, north=85, zoom=4)
    counted = map_data.clusters(columns, view)
    monkeypatch.setattr(map_data, "MAX_DENSE_CELLS", 0)  # every view sorted instead
    assert map_data.clusters(columns, view) == counted
    assert sum(c["count"] for c in counted) == 3000 and len(counted) > 100


def test_packed_columns_read_back_as_written_and_a_damaged_value_is_refused():
    rows = [("a" * 36, 1.5, -2.5, 10, 11), ("b" * 36, None, None, 20, 21)]
    columns = map_data.MapColumns.from_rows(rows)
    back = map_data.MapColumns.unpack(columns.pack())
    assert back.ids.tolist() == [b"a" * 36, b"b" * 36] and back.taken_ms.tolist() == [10, 20]
    assert back.latitudes[0] == 1.5 and np.isnan(back.longitudes[1]) and back.created_ms.tolist() == [11, 21]
    whole = map_data.MapColumns.allocate(4)
    assert whole.fill(whole.fill(0, back), back) == 4 and whole.ids.tolist()[2] == b"a" * 36
    with pytest.raises(ValueError):
        whole.fill(3, back)  # does not fit
    for damaged in (b"", b"XXXX0001" + bytes(8), columns.pack()[:-1]):
        with pytest.raises(ValueError):
            map_data.MapColumns.unpack(damaged)
