"""Location history: track files read into points (real files, made here), positions
estimated for photos without GPS against a fake Immich's hidden true positions, the camera
clock offset fitted, the map's path, and estimates written to Immich and undone."""

from __future__ import annotations

import io
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fake_immich import ALICE_KEY, ALICE_KEY_NO_UPDATE, FakeImmich, haversine_m
from service.tracks.positions import TrackPoints, estimate, fit_clock_offset
from service.tracks.track_files import TooManyPoints, TrackFileInvalid, parse_track_file
from tests.conftest import Auth, configure, dispose, error_of, make_app, settle

START = datetime(2024, 5, 4, 8, 0, tzinfo=UTC)
LISBON = (38.7223, -9.1393)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def gpx_text(points: list[tuple[str, float, float]], name: str = "Morning walk") -> str:
    rows = "".join(f'<trkpt lat="{lat}" lon="{lon}"><ele>12</ele><time>{when}</time></trkpt>'
                   for when, lat, lon in points)
    return (f'<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
            f"<trk><name>{name}</name><trkseg>{rows}</trkseg></trk></gpx>")


# ------------------------------------------------------------------ reading files


def test_a_gpx_file_becomes_sorted_points_with_its_name(tmp_path):
    path = write(tmp_path, "walk.gpx", gpx_text([
        ("2024-05-04T08:00:10Z", 38.7, -9.1),
        ("2024-05-04T08:00:00Z", 38.6, -9.2),  # out of order: sorted on import
        ("2024-5-4T8:00:20Z", 38.8, -9.0),  # a sloppy writer's time, read by gpxpy's parser
    ]))
    track = parse_track_file(path, limit=100)
    assert track.name == "Morning walk"
    assert track.times.tolist() == [1714809600000, 1714809610000, 1714809620000]
    assert track.latitudes.tolist() == [38.6, 38.7, 38.8]


def test_times_with_offsets_across_a_daylight_saving_change_become_utc(tmp_path):
    # Lisbon moved from UTC+0 to UTC+1 at 01:00 UTC on 2024-03-31; local times say so.
    path = write(tmp_path, "dst.gpx", gpx_text([
        ("2024-03-31T00:50:00+00:00", 38.70, -9.10),
        ("2024-03-31T02:10:00+01:00", 38.71, -9.11),
        ("2024-03-31T02:30:00.500+01:00", 38.72, -9.12),
    ]))
    track = parse_track_file(path, limit=100)
    assert [datetime.fromtimestamp(ms / 1000, UTC).isoformat() for ms in track.times.tolist()] == [
        "2024-03-31T00:50:00+00:00", "2024-03-31T01:10:00+00:00", "2024-03-31T01:30:00.500000+00:00"]


def test_geojson_lines_multilines_and_points_with_times(tmp_path):
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "properties": {"name": "Ride", "coordTimes": ["2024-05-04T08:00:00Z", "2024-05-04T08:01:00Z"]},
         "geometry": {"type": "LineString", "coordinates": [[-9.1, 38.7, 10], [-9.2, 38.8, 11]]}},
        {"type": "Feature", "properties": {"times": [["2024-05-04T09:00:00Z"], [1714813260000]]},
         "geometry": {"type": "MultiLineString", "coordinates": [[[-9.3, 38.9]], [[-9.4, 39.0]]]}},
        {"type": "Feature", "properties": {"time": "2024-05-04T09:59:00+02:00"},
         "geometry": {"type": "Point", "coordinates": [-9.5, 39.1]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": []}},
    ]}
    track = parse_track_file(write(tmp_path, "ride.geojson", json.dumps(document)), limit=100)
    assert track.name == "Ride"
    assert track.longitudes.tolist() == [-9.5, -9.1, -9.2, -9.3, -9.4]
    assert datetime.fromtimestamp(track.times[0] / 1000, UTC) == datetime(2024, 5, 4, 7, 59, tzinfo=UTC)


def test_takeout_records_read_both_time_forms_and_skip_vague_fixes(tmp_path):
    document = {"locations": [
        {"latitudeE7": 387223000, "longitudeE7": -91393000, "timestamp": "2024-05-04T08:00:00.123Z"},
        {"latitudeE7": 387224000, "longitudeE7": -91394000, "timestampMs": "1714809660000", "accuracy": 12},
        {"latitudeE7": 390000000, "longitudeE7": -90000000, "timestampMs": "1714809720000", "accuracy": 5000},
        {"activity": [{"type": "STILL"}], "timestampMs": "1714809780000"},
    ]}
    track = parse_track_file(write(tmp_path, "Records.json", json.dumps(document)), limit=100)
    assert track.times.tolist() == [1714809600123, 1714809660000]
    assert track.latitudes.tolist() == pytest.approx([38.7223, 38.7224])


def test_the_on_device_timeline_export_reads_paths_visits_and_both_point_forms(tmp_path):
    document = {"semanticSegments": [
        {"startTime": "2024-05-04T09:00:00.000+01:00", "endTime": "2024-05-04T10:00:00.000+01:00",
         "timelinePath": [{"point": "38.7223°, -9.1393°", "time": "2024-05-04T09:00:00.000+01:00"},
                          {"point": "geo:38.7300,-9.1400", "time": "2024-05-04T09:30:00.000+01:00"}]},
        {"startTime": "2024-05-04T10:00:00.000+01:00", "endTime": "2024-05-04T10:30:00.000+01:00",
         "visit": {"topCandidate": {"placeLocation": {"latLng": "38.7400°, -9.1500°"}}}},
    ], "rawSignals": [{"position": {"LatLng": "38.75°, -9.16°", "timestamp": "2024-05-04T10:40:00+01:00"}}]}
    track = parse_track_file(write(tmp_path, "Timeline.json", json.dumps(document)), limit=100)
    assert track.latitudes.tolist()[:2] == [38.7223, 38.73]
    # The visit: a point every ten minutes of the stay, and its end.
    assert track.latitudes.tolist()[2:6] == [38.74] * 4
    assert track.latitudes.tolist()[-1] == 38.75
    assert track.times[0] == int(datetime(2024, 5, 4, 8, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("name, text, problem", [
    ("empty.gpx", "", "empty"),
    ("blank.gpx", "  \n ", "empty"),
    ("cut.gpx", gpx_text([("2024-05-04T08:00:00Z", 38.7, -9.1)])[:-40], "not well-formed"),
    ("cut.json", '{"locations": [{"latitudeE7": 1, "longitudeE7": 2, "timestamp": "2024-05', "not valid JSON"),
    ("notimes.gpx", gpx_text([]).replace("<trkseg></trkseg>",
                                         '<trkseg><trkpt lat="1" lon="2"></trkpt></trkseg>'), "none has a time"),
    ("nopoints.gpx", gpx_text([]), "no points"),
    ("other.xml", "<kml><Placemark/></kml>", "not GPX"),
    ("bad.gpx", gpx_text([("2024-05-04T08:00:00Z", 95.0, -9.1)]), "lat 95.0 is outside"),
    ("badtime.gpx", gpx_text([("yesterday", 38.7, -9.1)]), "not an ISO 8601 time"),
    ("doctype.gpx", '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x "y">]><gpx></gpx>', "DOCTYPE"),
    ("mismatch.geojson", json.dumps({"type": "Feature", "properties": {"coordTimes": ["2024-05-04T08:00:00Z"]},
                                     "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}),
     "1 times for 2 positions"),
    ("notimes.geojson", json.dumps({"type": "LineString", "coordinates": [[1, 2], [3, 4]]}), "none has a time"),
    ("other.json", json.dumps({"hello": "world"}), "neither GeoJSON"),
    ("notes.txt", "just some words", "not GPX, GeoJSON"),
])
def test_unusable_files_are_refused_naming_what_is_wrong(tmp_path, name, text, problem):
    with pytest.raises(TrackFileInvalid) as refused:
        parse_track_file(write(tmp_path, name, text), limit=100)
    assert problem in refused.value.message


def test_a_file_past_the_point_limit_is_refused(tmp_path):
    points = [(iso(START + timedelta(seconds=i)), 38.7, -9.1) for i in range(12)]
    with pytest.raises(TooManyPoints):
        parse_track_file(write(tmp_path, "long.gpx", gpx_text(points)), limit=10)


# ------------------------------------------------------------------ estimating (pure)


def track_of(points: list[tuple[int, float, float]]) -> TrackPoints:
    return TrackPoints(np.array([p[0] for p in points], dtype=np.int64), np.array([p[1] for p in points]),
                       np.array([p[2] for p in points]))


def test_a_one_point_track_places_only_photos_at_its_very_time():
    track = track_of([(1_000_000, 38.7, -9.1)])
    found = estimate([track], np.array([1_000_000, 1_000_001, 999_999], dtype=np.int64), max_gap_ms=60_000)
    assert found.latitudes[0] == pytest.approx(38.7) and np.isnan(found.latitudes[1:]).all()


def test_interpolation_takes_the_short_way_across_the_antimeridian():
    track = track_of([(0, -16.8, 179.99), (60_000, -16.8, -179.99)])
    found = estimate([track], np.array([30_000], dtype=np.int64), max_gap_ms=60_000)
    assert abs(found.longitudes[0]) == pytest.approx(180.0, abs=1e-6)
    assert found.accuracies[0] < 1_000  # 2 km apart along the short way, not 38,000 km round


def test_a_gap_longer_than_allowed_gives_no_estimate_and_accuracy_grows_with_the_gap():
    track = track_of([(0, 38.70, -9.10), (10_000, 38.70, -9.10), (20 * 60_000, 38.71, -9.10),
                      (61 * 60_000, 38.72, -9.10)])
    found = estimate([track], np.array([5_000, 10 * 60_000, 40 * 60_000], dtype=np.int64), max_gap_ms=30 * 60_000)
    assert found.accuracies[0] < found.accuracies[1]
    assert np.isnan(found.accuracies[2])


def test_overlapping_tracks_give_the_more_accurate_estimate():
    sparse = track_of([(0, 38.70, -9.10), (20 * 60_000, 38.80, -9.10)])
    dense = track_of([(i * 10_000, 38.75, -9.20) for i in range(121)])
    found = estimate([sparse, dense], np.array([10 * 60_000 + 5_000], dtype=np.int64), max_gap_ms=30 * 60_000)
    assert found.longitudes[0] == pytest.approx(-9.20)


def test_a_track_across_midnight_is_one_track():
    midnight = int(datetime(2024, 5, 5, tzinfo=UTC).timestamp() * 1000)
    track = track_of([(midnight - 60_000, 38.70, -9.10), (midnight + 60_000, 38.72, -9.10)])
    found = estimate([track], np.array([midnight], dtype=np.int64), max_gap_ms=30 * 60_000)
    assert found.latitudes[0] == pytest.approx(38.71, abs=1e-6)


def test_the_clock_offset_is_fitted_from_photos_with_gps():
    rng = np.random.default_rng(1)
    times = np.arange(0, 6 * 3_600_000, 10_000, dtype=np.int64)
    lat = 38.7 + np.cumsum(rng.normal(0, 2e-5, times.size))
    lon = -9.1 + np.cumsum(rng.normal(0, 2e-5, times.size))
    pick = np.sort(rng.choice(times.size, 40, replace=False))
    fit = fit_clock_offset([TrackPoints(times, lat, lon)], times[pick] + 5_400_000 - 3_000_000, lat[pick], lon[pick],
                           max_gap_ms=30 * 60_000)
    assert fit.offset_seconds == 2_400 and fit.photos >= 30


# ------------------------------------------------------------------ through the API


@pytest.fixture
def settings(settings):
    return {**settings, "INDEX_ENABLED": "true", "SEARCH_CACHE_SECONDS": "0"}


def resync(app, client, headers) -> None:
    assert client.post("/api/users/me/immich/index/sync", headers=headers).status_code == 202
    settle(app)


def day_out(fake: FakeImmich, *, seed: int = 7, minutes: int = 360, every: int = 4, with_gps: float = 0.4,
            start: datetime = START) -> list[str]:
    """A day in and around Lisbon: a photo every few minutes along a wandering route, walking
    and riding; some with GPS, the rest with only their hidden true position."""
    rng = random.Random(seed)
    lat, lon = LISBON
    heading = rng.uniform(0, 2 * math.pi)
    specs = []
    for step in range(0, minutes, every):
        speed = rng.choice((1.3, 1.3, 4.0, 9.0))  # m/s
        heading += rng.gauss(0, 0.6)
        metres = speed * every * 60
        lat += metres * math.cos(heading) / 111_320
        lon += metres * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
        taken = start + timedelta(minutes=step, seconds=rng.randint(0, 50))
        if rng.random() < with_gps:
            specs.append({"taken": taken, "latitude": lat, "longitude": lon})
        else:
            specs.append({"taken": taken, "true_latitude": lat, "true_longitude": lon})
    return fake.add_assets(ALICE_KEY, *specs)


@pytest.fixture
def alice(alice_on_own_fake):
    return alice_on_own_fake


def upload(client, headers, text: str | bytes, name: str = "track.gpx", user: str = "me"):
    """A multipart body built here: werkzeug's test client leaves its own temporary file
    for a large one open."""
    data = text.encode() if isinstance(text, str) else text
    boundary = "track-upload-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"/api/users/{user}/tracks", headers=headers, input_stream=io.BytesIO(body),
                       content_length=len(body), content_type=f"multipart/form-data; boundary={boundary}")


def search(client, headers, **query: Any) -> dict[str, Any]:
    params = {"startDate": "2024-05-04T00:00:00Z", "endDate": "2024-05-05T00:00:00Z", **query}
    response = client.get("/api/users/me/immich/photos/search", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json()["data"])


def misses(fake: FakeImmich, photos: list[dict[str, Any]]) -> list[float]:
    """How far each estimate is from where the photo really was."""
    result = []
    for photo in photos:
        if photo["latitude"] is not None:
            continue
        truth = fake.asset(photo["id"])
        place = photo.get("estimatedLocation")
        result.append(math.inf if place is None else
                      haversine_m(place["latitude"], place["longitude"], truth.true_latitude, truth.true_longitude))
    return result


def test_a_track_is_imported_listed_and_deleted(app, client, alice, own_fake):
    day_out(own_fake)
    response = upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=7),
                                                        every_seconds=10), name="day.gpx")
    assert response.status_code == 201, response.get_json()
    track = response.get_json()["data"]
    assert set(track) == {"id", "name", "pointCount", "startedAt", "endedAt"}
    assert track["pointCount"] > 2000 and track["startedAt"].startswith("2024-05-04T08:0")
    listed = client.get("/api/users/me/tracks", headers=alice).get_json()["data"]
    assert listed == [track]
    assert client.delete(f"/api/users/me/tracks/{track['id']}", headers=alice).status_code == 200
    assert client.get("/api/users/me/tracks", headers=alice).get_json()["data"] == []
    again = client.delete(f"/api/users/me/tracks/{track['id']}", headers=alice)
    assert again.status_code == 404 and error_of(again) == "Track not found"
    assert client.delete("/api/users/me/tracks/not-a-uuid", headers=alice).status_code == 404


def test_an_unusable_upload_is_a_400_naming_it_and_stores_nothing(client, alice):
    response = upload(client, alice, gpx_text([("2024-05-04T08:00:00Z", 38.7, -9.1)])[:-30])
    assert response.status_code == 400 and "not well-formed" in error_of(response)
    missing = client.post("/api/users/me/tracks", headers=alice, data={"other": "x"},
                          content_type="multipart/form-data")
    assert missing.status_code == 400 and "file is required" in error_of(missing)
    assert client.get("/api/users/me/tracks", headers=alice).get_json()["data"] == []


def test_tracks_are_the_owners_alone_and_need_immich(client, auth, alice):
    other = auth.bearer("bob@example.com")
    alice_id = client.get("/api/users/me", headers=alice).get_json()["data"]["id"]
    assert upload(client, other, gpx_text([]), user=alice_id).status_code == 403
    assert client.get(f"/api/users/{alice_id}/tracks", headers=other).status_code == 403
    assert client.get(f"/api/users/{alice_id}/tracks/settings", headers=other).status_code == 403
    assert client.get("/api/users/me/tracks", headers=other).status_code == 409
    assert upload(client, other, gpx_text([("2024-05-04T08:00:00Z", 1, 2)])).status_code == 409


def test_an_upload_over_track_upload_mb_is_a_413(settings, own_fake):
    app = make_app({**settings, "TRACK_UPLOAD_MB": "1"})
    try:
        client = app.test_client()
        headers = Auth(app, client).bearer("alice@example.com")
        configure(client, headers, own_fake)
        points = [(iso(START + timedelta(seconds=i)), 38.7, -9.1) for i in range(20_000)]
        response = upload(client, headers, gpx_text(points))
        assert response.status_code == 413 and "TRACK_UPLOAD_MB" in error_of(response)
        assert upload(client, headers, gpx_text(points[:100])).status_code == 201
    finally:
        settle(app)
        dispose(app)


def test_photos_without_gps_get_estimates_only_when_asked(app, client, alice, own_fake):
    day_out(own_fake)
    resync(app, client, alice)
    assert upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=7),
                                                    every_seconds=10)).status_code == 201
    plain = search(client, alice)
    assert plain["photos"] and all("estimatedLocation" not in p for p in plain["photos"])
    asked = search(client, alice, includeEstimated="true")
    assert [p["id"] for p in asked["photos"]] == [p["id"] for p in plain["photos"]]
    estimated = [p for p in asked["photos"] if "estimatedLocation" in p]
    assert estimated and all(p["latitude"] is None and p["longitude"] is None for p in estimated)
    assert all(set(p["estimatedLocation"]) == {"latitude", "longitude", "accuracyMeters"} for p in estimated)
    assert all("estimatedLocation" not in p for p in asked["photos"] if p["latitude"] is not None)
    bad = client.get("/api/users/me/immich/photos/search", headers=alice,
                     query_string={"startDate": "2024-05-04T00:00:00Z", "endDate": "2024-05-05T00:00:00Z",
                                   "includeEstimated": "yes"})
    assert bad.status_code == 400 and "includeEstimated" in error_of(bad)


def test_within_a_radius_estimates_count_only_when_asked(app, client, alice, own_fake):
    day_out(own_fake)
    resync(app, client, alice)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=7), every_seconds=10))
    circle = {"latitude": LISBON[0], "longitude": LISBON[1], "radiusMeters": 100_000}
    plain = search(client, alice, **circle)
    assert all(p["latitude"] is not None for p in plain["photos"])
    asked = search(client, alice, includeEstimated="true", **circle)
    assert len(asked["photos"]) > len(plain["photos"])
    tiny = search(client, alice, includeEstimated="true", latitude=0, longitude=0, radiusMeters=1000)
    assert tiny["photos"] == []


def test_estimates_from_a_track_every_ten_seconds_are_within_50_m(app, client, alice, own_fake):
    day_out(own_fake, seed=11, minutes=480)
    resync(app, client, alice)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=9), every_seconds=10,
                                             noise_m=3, seed=2))
    found = misses(own_fake, search(client, alice, includeEstimated="true")["photos"])
    assert len(found) > 50
    assert sum(miss <= 50 for miss in found) >= 0.95 * len(found)


def test_a_two_hour_camera_clock_error_is_fitted_automatically(app, client, alice, own_fake):
    day_out(own_fake, seed=5, minutes=480)
    resync(app, client, alice)
    # The track keeps true time; the camera ran two hours ahead.
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START - timedelta(hours=3), START + timedelta(hours=10),
                                             every_seconds=10, camera_clock_offset_seconds=7200))
    fitted = client.get("/api/users/me/tracks/settings", headers=alice).get_json()["data"]
    assert fitted["cameraClockOffsetSeconds"] is None
    assert abs(fitted["fittedOffsetSeconds"] - 7200) <= 5 and fitted["fittedFromPhotos"] >= 20
    found = misses(own_fake, search(client, alice, includeEstimated="true")["photos"])
    assert sum(miss <= 100 for miss in found) >= 0.9 * len(found)
    # Set by hand, the user's offset wins over the fit.
    response = client.put("/api/users/me/tracks/settings", headers=alice, json={"cameraClockOffsetSeconds": 0})
    assert response.get_json()["data"]["cameraClockOffsetSeconds"] == 0
    wrong = misses(own_fake, search(client, alice, includeEstimated="true")["photos"])
    assert sum(miss <= 100 for miss in wrong) < 0.5 * len(wrong)


@pytest.mark.parametrize("body, field", [
    ({}, "cameraClockOffsetSeconds is required"),
    ({"cameraClockOffsetSeconds": "60"}, "whole seconds"),
    ({"cameraClockOffsetSeconds": 1.5}, "whole seconds"),
    ({"cameraClockOffsetSeconds": True}, "whole seconds"),
    ({"cameraClockOffsetSeconds": 10**9}, "whole seconds"),
])
def test_a_bad_clock_setting_is_a_400_naming_it(client, alice, body, field):
    response = client.put("/api/users/me/tracks/settings", headers=alice, json=body)
    assert response.status_code == 400 and field in error_of(response)


def test_the_track_path_is_simplified_for_the_zoom(app, client, alice, own_fake):
    day_out(own_fake, minutes=480)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=9), every_seconds=2))
    query = {"startDate": "2024-05-04T00:00:00Z", "endDate": "2024-05-05T00:00:00Z"}
    coarse = client.get("/api/users/me/tracks/path", headers=alice, query_string={**query, "zoom": 5})
    fine = client.get("/api/users/me/tracks/path", headers=alice, query_string={**query, "zoom": 17})
    coarse_data, fine_data = coarse.get_json()["data"], fine.get_json()["data"]
    assert 2 <= coarse_data["pointCount"] < fine_data["pointCount"] <= 5_000
    assert all(len(point) == 2 for line in fine_data["lines"] for point in line)
    outside = client.get("/api/users/me/tracks/path", headers=alice,
                         query_string={"startDate": "2020-01-01T00:00:00Z", "endDate": "2020-01-02T00:00:00Z"})
    assert outside.get_json()["data"] == {"lines": [], "pointCount": 0}
    bad = client.get("/api/users/me/tracks/path", headers=alice, query_string={**query, "zoom": "far"})
    assert bad.status_code == 400 and "zoom" in error_of(bad)


def test_chosen_estimates_are_written_to_immich_and_undone(app, client, alice, own_fake):
    ids = day_out(own_fake, minutes=120)
    resync(app, client, alice)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=3), every_seconds=10))
    review = client.get("/api/users/me/tracks/estimates", headers=alice,
                        query_string={"startDate": "2024-05-04T00:00:00Z", "endDate": "2024-05-05T00:00:00Z"})
    listed = review.get_json()["data"]
    assert listed["applied"] == [] and listed["photos"]
    assert all("estimatedLocation" in p for p in listed["photos"])
    chosen = [p["id"] for p in listed["photos"][:3]]
    with_gps = next(i for i in ids if own_fake.asset(i).latitude is not None)

    own_fake.clear_requests()
    applied = client.post("/api/users/me/tracks/estimates/apply", headers=alice,
                          json={"photoIds": [*chosen, with_gps]}).get_json()["data"]
    assert [a["photoId"] for a in applied["applied"]] == chosen
    assert applied["skipped"] == [{"photoId": with_gps, "reason": "It already has a position"}]
    assert own_fake.request_counts()["PUT /api/assets/{id}"] == 3
    for entry in applied["applied"]:
        asset = own_fake.asset(entry["photoId"])
        assert (asset.latitude, asset.longitude) == (entry["latitude"], entry["longitude"])
    # The map shows the written positions at once, as the photos' own.
    after = {p["id"]: p for p in search(client, alice, includeEstimated="true")["photos"]}
    assert all(after[i]["latitude"] is not None and "estimatedLocation" not in after[i] for i in chosen)
    listed = client.get("/api/users/me/tracks/estimates", headers=alice,
                        query_string={"startDate": "2024-05-04T00:00:00Z", "endDate": "2024-05-05T00:00:00Z"})
    assert sorted(a["photoId"] for a in listed.get_json()["data"]["applied"]) == sorted(chosen)

    undone = client.post("/api/users/me/tracks/estimates/undo", headers=alice,
                         json={"photoIds": [*chosen, with_gps]}).get_json()["data"]
    assert [r["photoId"] for r in undone["restored"]] == chosen
    assert undone["skipped"][0]["photoId"] == with_gps
    for photo_id in chosen:
        assert own_fake.asset(photo_id).latitude is None  # Immich read the 0,0 as no position
    resync(app, client, alice)
    again = {p["id"]: p for p in search(client, alice, includeEstimated="true")["photos"]}
    assert all(again[i]["latitude"] is None and "estimatedLocation" in again[i] for i in chosen)


def test_undo_leaves_a_position_changed_in_immich_since(app, client, alice, own_fake):
    day_out(own_fake, minutes=60)
    resync(app, client, alice)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=2), every_seconds=10))
    photo = next(p for p in search(client, alice, includeEstimated="true")["photos"] if "estimatedLocation" in p)
    client.post("/api/users/me/tracks/estimates/apply", headers=alice, json={"photoIds": [photo["id"]]})
    own_fake.change_asset(photo["id"], latitude=10.0, longitude=10.0)
    undone = client.post("/api/users/me/tracks/estimates/undo", headers=alice,
                         json={"photoIds": [photo["id"]]}).get_json()["data"]
    assert undone["restored"] == [] and "changed in Immich" in undone["skipped"][0]["reason"]
    assert own_fake.asset(photo["id"]).latitude == 10.0


@pytest.mark.parametrize("body, field", [
    ({}, "photoIds is required"),
    ({"photoIds": []}, "photoIds is required"),
    ({"photoIds": ["nope"]}, "photoIds[0] must be a UUID"),
    ({"photoIds": [1]}, "photoIds[0] must be a UUID"),
])
def test_a_bad_write_back_request_is_a_400_naming_it(client, alice, body, field):
    for action in ("apply", "undo"):
        response = client.post(f"/api/users/me/tracks/estimates/{action}", headers=alice, json=body)
        assert response.status_code == 400 and field in error_of(response)


def test_a_key_without_asset_update_cannot_write_and_the_connection_test_says_so(app, client, auth, own_fake):
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake, key=ALICE_KEY_NO_UPDATE)
    settle(app)
    report = client.post("/api/users/me/immich-config/test", headers=headers).get_json()["data"]
    assert report["missingPermissions"] == [] and report["missingOptionalPermissions"] == ["asset.update"]
    assert report["permissions"]["asset.update"] is False
    day_out(own_fake, minutes=60)
    resync(app, client, headers)
    upload(client, headers, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=2), every_seconds=10))
    photo = next(p for p in search(client, headers, includeEstimated="true")["photos"] if "estimatedLocation" in p)
    response = client.post("/api/users/me/tracks/estimates/apply", headers=headers, json={"photoIds": [photo["id"]]})
    assert response.status_code == 502 and "asset.update" in error_of(response)
    assert own_fake.asset(photo["id"]).latitude is None
    full = client.post("/api/users/me/immich-config/test", headers=headers,
                       json={"serverUrl": own_fake.url, "apiKey": ALICE_KEY}).get_json()["data"]
    assert full["permissions"]["asset.update"] is True and full["missingOptionalPermissions"] == []


def test_tracks_go_with_the_immich_settings(app, client, alice, own_fake):
    day_out(own_fake, minutes=60)
    upload(client, alice, own_fake.gpx_track(ALICE_KEY, START, START + timedelta(hours=2), every_seconds=10))
    client.put("/api/users/me/tracks/settings", headers=alice, json={"cameraClockOffsetSeconds": 60})
    assert client.delete("/api/users/me/immich-config", headers=alice).status_code == 200
    configure(client, alice, own_fake)
    settle(app)
    assert client.get("/api/users/me/tracks", headers=alice).get_json()["data"] == []
    assert client.get("/api/users/me/tracks/settings", headers=alice).get_json()["data"] == {
        "cameraClockOffsetSeconds": None, "fittedOffsetSeconds": None, "fittedFromPhotos": 0}
