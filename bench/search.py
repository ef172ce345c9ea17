"""Measurements 1 and 2: a date range holding N photos, searched with a radius filter.

1. Photo Atlas uncached (a fresh date range each repeat, so no cache entry can answer)
   against a sequential pager written here: POST /search/metadata, size 1000, one page at a
   time following nextPage, then the same radius filter per photo in Python.
2. The same search repeated at once: answered from the search cache.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.geo_filter import haversine_m
from bench.harness import AppServer, BenchError, SignedInUser, cpu_seconds, new_session
from bench.stats import Row, check, median, ms, percentile

CENTER = (48.8566, 2.3522)
SPREAD_KM = 25.0
RADIUS_M = 10_000.0
BULK_START = datetime(2030, 1, 2, tzinfo=UTC)
BULK_END = datetime(2030, 12, 30, 23, 59, 59, tzinfo=UTC)
RANGE_START = datetime(2030, 1, 1, tzinfo=UTC)  # each repeat starts a few seconds later
RANGE_END = datetime(2030, 12, 31, tzinfo=UTC)
PAGE_SIZE = 1000
MAX_PAGES = 1000
REQUEST_TIMEOUT = 180.0
CACHE_WINDOW = 40.0  # seconds: cached repeats stay well inside SEARCH_CACHE_SECONDS=60
RATIO_TARGET = 0.3
CACHED_TARGET_MS = 50.0


def iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_library(fake: Any, key: str, n: int) -> None:
    fake.add_bulk_assets(key, n, start=BULK_START, end=BULK_END, center=CENTER,
                         spread_km=SPREAD_KM, seed="bench")


def search_params(repeat: int) -> dict[str, str]:
    return {
        "startDate": iso(RANGE_START + timedelta(seconds=repeat)),
        "endDate": iso(RANGE_END),
        "latitude": str(CENTER[0]),
        "longitude": str(CENTER[1]),
        "radiusMeters": str(RADIUS_M),
    }


def photo_atlas_search(user: SignedInUser, session: requests.Session,
                       params: dict[str, str]) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    response = session.get(f"{user.base_url}/api/users/me/immich/photos/search", params=params,
                           headers=user.headers, timeout=REQUEST_TIMEOUT)
    body = response.content
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise BenchError(f"Photo Atlas search: HTTP {response.status_code} {body[:300]!r}")
    return elapsed, body


def sequential_pager(fake_url: str, key: str, params: dict[str, str]) -> tuple[float, list[str], int]:
    """The baseline: every page one after another, then the radius filter per photo."""
    session = new_session()
    lat0, lon0, radius = float(params["latitude"]), float(params["longitude"]), float(params["radiusMeters"])
    t0 = time.perf_counter()
    assets: list[dict[str, Any]] = []
    page = 1
    for _ in range(MAX_PAGES):
        response = session.post(
            f"{fake_url}/api/search/metadata",
            json={**range_query(params), "page": page, "size": PAGE_SIZE},
            headers={"x-api-key": key}, timeout=REQUEST_TIMEOUT,
        )
        if response.status_code != 200:
            raise BenchError(f"baseline search page {page}: HTTP {response.status_code}")
        body = response.json()["assets"]
        assets.extend(body["items"])
        if not body.get("nextPage"):
            break
        page = int(body["nextPage"])
    kept = []
    for asset in assets:
        exif = asset.get("exifInfo") or {}
        lat, lon = exif.get("latitude"), exif.get("longitude")
        if (asset.get("type") == "IMAGE" and not asset.get("isTrashed") and lat is not None
                and lon is not None and haversine_m(lat0, lon0, lat, lon) <= radius):
            kept.append((exif.get("dateTimeOriginal") or asset.get("fileCreatedAt"), asset["id"]))
    kept.sort()
    elapsed = time.perf_counter() - t0
    session.close()
    return elapsed, [asset_id for _, asset_id in kept], page


def range_query(params: dict[str, str]) -> dict[str, Any]:
    """The POST /search/metadata body (without page and size) of a search's date range."""
    return {"takenAfter": params["startDate"], "takenBefore": params["endDate"], "type": "IMAGE",
            "withExif": True, "order": "asc"}


def concurrent_pager(fake_url: str, key: str, query: dict[str, Any], window: int) -> float:
    """How fast the fake hands over every page of a query with Photo Atlas's fetch pattern
    (page 1, then `window` pages in flight) when the client only parses (orjson): the floor
    for Photo Atlas."""
    import orjson

    sessions = [new_session() for _ in range(window)]
    free = list(sessions)

    def page(number: int) -> tuple[list[Any], bool]:
        session = free.pop()
        try:
            response = session.post(
                f"{fake_url}/api/search/metadata",
                json={**query, "page": number, "size": PAGE_SIZE},
                headers={"x-api-key": key}, timeout=REQUEST_TIMEOUT,
            )
            if response.status_code != 200:
                raise BenchError(f"concurrent pager page {number}: HTTP {response.status_code}")
            body = orjson.loads(response.content)["assets"]
            return body["items"], bool(body.get("nextPage"))
        finally:
            free.append(session)

    t0 = time.perf_counter()
    items, more = page(1)
    assets = list(items)
    with ThreadPoolExecutor(max_workers=window) as pool:
        upcoming = 2
        inflight = []
        for _ in range(window):
            if not more:
                break
            inflight.append(pool.submit(page, upcoming))
            upcoming += 1
        for _ in range(MAX_PAGES):
            if not inflight:
                break
            items, more = inflight.pop(0).result()
            assets.extend(items)
            if not more:
                break
            inflight.append(pool.submit(page, upcoming))
            upcoming += 1
        for future in inflight:
            future.cancel()
    elapsed = time.perf_counter() - t0
    for session in sessions:
        session.close()
    return elapsed


def run(*, fake: Any, app: AppServer, user: SignedInUser, key: str, n: int, repeats: int, cached_repeats: int,
        new_connection_repeats: int, latency: float, window: int) -> list[Row]:
    import orjson

    fake.latency = latency
    session = new_session()
    pa_times: list[float] = []
    base_times: list[float] = []
    floor_times: list[float] = []
    workers = app.worker_pids()
    pa_cpu: list[float] = []
    upstream_pages: list[int] = []
    verified = True
    problems: list[str] = []
    params = search_params(0)
    total = 0
    for repeat in range(repeats):
        params = search_params(repeat)
        expected = fake.expected_search(key, params["startDate"], params["endDate"], lat=CENTER[0],
                                        lon=CENTER[1], radius_m=RADIUS_M)
        in_range = len(fake.expected_search(key, params["startDate"], params["endDate"]))
        if in_range != n:
            problems.append(f"the range holds {in_range} photos, not {n}")
        # Alternate which side goes first, so neither always runs on a warmer machine.
        order = ("pa", "base") if repeat % 2 == 0 else ("base", "pa")
        for side in order:
            if side == "pa":
                before = fake.request_count()
                cpu_before = cpu_seconds(workers)
                elapsed, body = photo_atlas_search(user, session, params)
                pa_cpu.append(cpu_seconds(workers) - cpu_before)
                upstream_pages.append(fake.request_count() - before)
                photos = orjson.loads(body)["data"]["photos"]
                ids = [p["id"] for p in photos]
                total = len(ids)
                if ids != expected:
                    verified = False
                    problems.append(f"repeat {repeat}: Photo Atlas returned {len(ids)} photos, expected "
                                    f"{len(expected)} (or a different order)")
                pa_times.append(elapsed)
            else:
                elapsed, ids, pages = sequential_pager(fake.url, key, params)
                if ids != expected:
                    verified = False
                    problems.append(f"repeat {repeat}: the baseline kept {len(ids)}, expected {len(expected)}")
                base_times.append(elapsed)
        floor_times.append(concurrent_pager(fake.url, key, range_query(params), window))
        fake.clear_requests()

    window_end = time.monotonic() + CACHE_WINDOW

    # The last range again, each time on a new connection: gunicorn hands a new connection to
    # any worker process, and each keeps its own cache (a miss shows as upstream requests).
    fresh_conn_times: list[float] = []
    fresh_conn_upstream: list[int] = []
    for _ in range(new_connection_repeats):
        if time.monotonic() > window_end:
            break
        one_off = new_session()
        before = fake.request_count()
        elapsed, _ = photo_atlas_search(user, one_off, params)
        fresh_conn_upstream.append(fake.request_count() - before)
        one_off.close()
        fresh_conn_times.append(elapsed)

    # 2. The same search repeated on one keep-alive connection. The first request (untimed)
    # reopens the connection, which may have idled out, and makes sure that worker holds the range.
    before = fake.request_count()
    photo_atlas_search(user, session, params)
    primed_upstream = fake.request_count() - before
    cached_times: list[float] = []
    cached_cpu_before = cpu_seconds(workers)
    body = b""
    for _ in range(cached_repeats):
        if time.monotonic() > window_end:
            break
        before = fake.request_count()
        elapsed, body = photo_atlas_search(user, session, params)
        if fake.request_count() != before:
            problems.append("a cached search reached Immich")
        cached_times.append(elapsed)
    cached_size = len(body)
    cached_cpu_ms = (cpu_seconds(workers) - cached_cpu_before) / max(1, len(cached_times)) * 1000
    session.close()
    fake.clear_requests()

    pa, base = median(pa_times), median(base_times)
    ratio = pa / base if base else math.nan
    cached = ms(median(cached_times))
    details = {
        "photos_in_range": n,
        "photos_returned": total,
        "radius_m": RADIUS_M,
        "fake_latency_s": latency,
        "upstream_requests_per_search": upstream_pages,
        "photo_atlas_s": [round(t, 3) for t in pa_times],
        "baseline_s": [round(t, 3) for t in base_times],
        "fetch_floor_s": [round(t, 3) for t in floor_times],
        "worker_cpu_s_per_search": [round(t, 3) for t in pa_cpu],
        "verified_against_fake": verified,
        "problems": problems,
    }
    rows = [
        Row("search_uncached", f"search {n:,} photos + radius, uncached (s)", "s",
            photo_atlas=pa, baseline=base, value=ratio, value_label="ratio",
            target=f"<= {RATIO_TARGET:g}", met=bool(check(ratio, "<=", RATIO_TARGET)) and verified,
            details=details,
            note=(f"search: {total:,} of {n:,} photos inside {RADIUS_M / 1000:g} km; fake latency "
                  f"{latency * 1000:g} ms/request; baseline = sequential pager + per-photo Haversine; "
                  f"gunicorn workers used {median(pa_cpu):.2f} s of CPU per uncached search"
                  + ("" if verified else "; RESULTS DIFFER: " + "; ".join(problems[:3])))),
        Row("search_cached", "same search repeated within a minute (ms)", "ms",
            photo_atlas=cached, baseline=None, value=cached, value_label="value",
            target=f"<= {CACHED_TARGET_MS:g} ms", met=check(cached, "<=", CACHED_TARGET_MS),
            details={"repeats": len(cached_times), "all_ms": [round(ms(t), 2) for t in cached_times],
                     "p90_ms": round(ms(percentile(cached_times, 90)), 2), "response_bytes": cached_size,
                     "worker_cpu_ms_per_search": round(cached_cpu_ms, 2),
                     "untimed_first_request_upstream_calls": primed_upstream},
            note=(f"cached search: response {cached_size / 1e6:.1f} MB, same keep-alive connection; "
                  f"{cached_cpu_ms:.0f} ms of worker CPU per search")),
    ]
    floor = median(floor_times)
    rows.append(Row(
        "search_fetch_floor", f"  fetch floor: {window} pages in flight, parse only (s)", "s",
        photo_atlas=pa, baseline=floor, value=pa / floor if floor else math.nan, value_label="ratio",
        target="info", met=None,
        note=(f"fetch floor: the bench fetching the same pages from the fake as Photo Atlas does "
              f"({window} in flight, orjson, no mapping or filtering) takes {floor:.2f} s; the sequential "
              f"baseline {base:.2f} s; so the best ratio this fake allows is about {floor / base:.2f}"),
    ))
    if fresh_conn_times:
        rows.append(Row(
            "search_cached_new_connections", "  same, each on a new connection (ms, max)", "ms",
            photo_atlas=ms(median(fresh_conn_times)), baseline=None, value=ms(max(fresh_conn_times)),
            value_label="max", target="info", met=None,
            details={"all_ms": [round(ms(t), 2) for t in fresh_conn_times],
                     "upstream_requests": fresh_conn_upstream},
            note=("new connections: upstream requests per search "
                  f"{fresh_conn_upstream} (non-zero = a worker without the range in its cache)"),
        ))
    return rows
