"""Measurement 6: location history.

1. A 1,000,000-point GPX (a point every 10 s, made here) uploaded to Photo Atlas under
   gunicorn: the time from the first byte sent to the 201, and the largest growth of any
   worker's resident memory (VmRSS sampled every 10 ms) while it is read and stored.
2. Estimating positions for 100,000 photo times against those 1,000,000 points, in this
   process (`positions.estimate`, as the search runs it once the points are loaded).
3. Accuracy against the fake Immich's hidden true positions: a day of photos along a
   wandering route (40% with GPS), a track every 10 s from the fake's `gpx_track`; the share
   of photos without GPS placed within 50 m; then the same with the camera clock two hours
   ahead, the offset fitted automatically from the photos with GPS, within 100 m.
"""

from __future__ import annotations

import math
import random
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import AppServer, BenchError, SignedInUser, cpu_seconds, new_session, rss_bytes
from bench.stats import Row, check, median

POINTS = 1_000_000
PHOTOS = 100_000
SAMPLE_EVERY = 0.01
MB = 1024 * 1024
IMPORT_TARGET_S = 30.0
IMPORT_RSS_TARGET_MB = 150.0
ESTIMATE_TARGET_S = 2.0
START = datetime(2024, 5, 4, 6, 0, tzinfo=UTC)


def _big_gpx(path: Path, points: int) -> int:
    """A GPX of `points` points, every 10 s, written in pieces; returns its size."""
    base = int(START.timestamp())
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="bench" '
                  'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>bench</name><trkseg>\n')
        lat, lon = 38.7223, -9.1393
        rng = random.Random(3)
        rows = []
        for i in range(points):
            lat += rng.gauss(0, 2e-5)
            lon += rng.gauss(0, 2e-5)
            stamp = time.gmtime(base + i * 10)
            rows.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>'
                        f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}T{stamp.tm_hour:02d}:"
                        f"{stamp.tm_min:02d}:{stamp.tm_sec:02d}Z</time></trkpt>\n")
            if len(rows) == 50_000:
                out.write("".join(rows))
                rows = []
        out.write("".join(rows) + "</trkseg></trk></gpx>\n")
    return path.stat().st_size


def _upload(app: AppServer, user: SignedInUser, path: Path) -> dict[str, Any]:
    pids = app.worker_pids()
    before = {pid: rss_bytes(pid) or 0 for pid in pids}
    peak = dict(before)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], rss_bytes(pid) or 0)
            time.sleep(SAMPLE_EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_before = cpu_seconds(pids)
    sampler.start()
    session = new_session()
    try:
        with open(path, "rb") as handle:
            t0 = time.perf_counter()
            response = session.post(f"{user.base_url}/api/users/me/tracks", headers=user.headers,
                                    files={"file": ("bench.gpx", handle, "application/gpx+xml")}, timeout=(5, 600))
            seconds = time.perf_counter() - t0
    finally:
        stop.set()
        sampler.join()
        session.close()
    if response.status_code != 201:
        raise BenchError(f"uploading the track: HTTP {response.status_code} {response.text[:300]}")
    growth = max(peak[pid] - before[pid] for pid in pids) / MB
    return {"seconds": seconds, "rss_growth_mb": growth, "track": response.json()["data"],
            "worker_cpu_s": round(cpu_seconds(pids) - cpu_before, 2),
            "rss_before_mb": {str(pid): round(value / MB, 1) for pid, value in before.items()}}


def _estimate_speed(repeats: int) -> dict[str, Any]:
    from service.tracks.positions import TrackPoints, estimate

    rng = np.random.default_rng(5)
    times = START.timestamp() * 1000 + np.arange(POINTS, dtype=np.int64) * 10_000
    track = TrackPoints(times.astype(np.int64), 38.7 + np.cumsum(rng.normal(0, 2e-5, POINTS)),
                        -9.1 + np.cumsum(rng.normal(0, 2e-5, POINTS)))
    photos = np.sort(rng.integers(int(times[0]), int(times[-1]), PHOTOS)).astype(np.int64)
    runs = []
    found = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        found = estimate([track], photos, max_gap_ms=30 * 60_000)
        runs.append(time.perf_counter() - t0)
    assert found is not None
    return {"seconds": median(runs), "all": [round(r, 4) for r in runs], "placed": int(found.found.sum())}


def _day_out(fake: Any, key: str, seed: int) -> None:
    rng = random.Random(seed)
    lat, lon = 38.7223, -9.1393
    heading = rng.uniform(0, 2 * math.pi)
    specs = []
    for step in range(0, 600, 3):
        speed = rng.choice((1.3, 1.3, 4.0, 9.0, 14.0))
        heading += rng.gauss(0, 0.6)
        metres = speed * 180
        lat += metres * math.cos(heading) / 111_320
        lon += metres * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
        taken = START + timedelta(minutes=step, seconds=rng.randint(0, 50))
        if rng.random() < 0.4:
            specs.append({"taken": taken, "latitude": lat, "longitude": lon})
        else:
            specs.append({"taken": taken, "true_latitude": lat, "true_longitude": lon})
    fake.add_assets(key, *specs)


def _accuracy(clock_offset_s: int) -> dict[str, Any]:
    from fake_immich import ALICE_KEY, FakeImmich, haversine_m
    from service.tracks.positions import TrackPoints, estimate, fit_clock_offset
    from service.tracks.track_files import parse_track_file

    fake = FakeImmich()  # its library only: nothing is served
    for asset in fake.assets_of(ALICE_KEY):
        fake.delete_permanently(asset.id)
    _day_out(fake, ALICE_KEY, seed=11 + clock_offset_s)
    gpx = fake.gpx_track(ALICE_KEY, START - timedelta(hours=3), START + timedelta(hours=14), every_seconds=10,
                         noise_m=3, camera_clock_offset_seconds=clock_offset_s, seed=4)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.gpx"
        path.write_text(gpx, encoding="utf-8")
        parsed = parse_track_file(path, limit=POINTS)
    track = TrackPoints(parsed.times, parsed.latitudes, parsed.longitudes)
    assets = sorted(fake.assets_of(ALICE_KEY), key=lambda a: a.sort_ms)
    with_gps = [a for a in assets if a.latitude is not None]
    fit = fit_clock_offset([track], np.array([a.sort_ms for a in with_gps], dtype=np.int64),
                           np.array([a.latitude for a in with_gps]), np.array([a.longitude for a in with_gps]),
                           max_gap_ms=30 * 60_000)
    offset_ms = (fit.offset_seconds or 0) * 1000
    without = [a for a in assets if a.latitude is None]
    found = estimate([track], np.array([a.sort_ms for a in without], dtype=np.int64) - offset_ms,
                     max_gap_ms=30 * 60_000)
    misses = [math.inf if math.isnan(found.accuracies[i]) else
              haversine_m(found.latitudes[i], found.longitudes[i], a.true_latitude, a.true_longitude)
              for i, a in enumerate(without)]
    limit = 50 if clock_offset_s == 0 else 100
    return {"share": sum(m <= limit for m in misses) / len(misses), "photos": len(misses), "limit_m": limit,
            "median_miss_m": round(median([m for m in misses if math.isfinite(m)]), 1),
            "fitted_offset_s": fit.offset_seconds, "fitted_from_photos": fit.photos}


def run(*, app: AppServer, user: SignedInUser, points: int = POINTS, estimate_repeats: int = 5) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-tracks-") as folder:
        path = Path(folder) / "bench.gpx"
        size = _big_gpx(path, points)
        uploaded = _upload(app, user, path)
    speed = _estimate_speed(estimate_repeats)
    exact = _accuracy(0)
    shifted = _accuracy(7200)
    return [
        Row("tracks_import", f"import a {points:,}-point GPX ({size / MB:.0f} MB) through Photo Atlas", "s",
            photo_atlas=uploaded["seconds"], baseline=None, value=uploaded["seconds"], value_label="value",
            target=f"<= {IMPORT_TARGET_S:g} s", met=check(uploaded["seconds"], "<=", IMPORT_TARGET_S),
            details=uploaded, note=f"the import took {uploaded['worker_cpu_s']} s of the workers' CPU time"),
        Row("tracks_import_rss", "  worker memory growth while importing it (MB)", "MB",
            photo_atlas=uploaded["rss_growth_mb"], baseline=None, value=uploaded["rss_growth_mb"],
            value_label="value", target=f"<= {IMPORT_RSS_TARGET_MB:g} MB",
            met=check(uploaded["rss_growth_mb"], "<=", IMPORT_RSS_TARGET_MB)),
        Row("tracks_estimate", f"estimate {PHOTOS:,} photos against {POINTS:,} points, in-process", "s",
            photo_atlas=speed["seconds"], baseline=None, value=speed["seconds"], value_label="value",
            target=f"<= {ESTIMATE_TARGET_S:g} s", met=check(speed["seconds"], "<=", ESTIMATE_TARGET_S),
            details=speed),
        Row("tracks_accuracy", "  share within 50 m, track every 10 s", "share",
            photo_atlas=exact["share"], baseline=None, value=exact["share"], value_label="value",
            target=">= 0.95", met=check(exact["share"], ">=", 0.95), details=exact,
            note=f"{exact['photos']} photos without GPS, median miss {exact['median_miss_m']} m"),
        Row("tracks_clock_fit", "  share within 100 m, camera clock 2 h ahead, fitted", "share",
            photo_atlas=shifted["share"], baseline=None, value=shifted["share"], value_label="value",
            target=">= 0.9", met=check(shifted["share"], ">=", 0.9), details=shifted,
            note=(f"fitted {shifted['fitted_offset_s']} s from {shifted['fitted_from_photos']} photos with GPS; "
                  f"median miss {shifted['median_miss_m']} m")),
    ]
