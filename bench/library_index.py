"""Measurement `index`: the library index, each figure beside its baseline in the same run.

It brings its own fake Immich (50 ms added to every call) holding Bob's library of N photos
and Alice's of BIG, and its own apps under gunicorn, all with SEARCH_CACHE_SECONDS=0: one
with the index, on SQLite and then on PostgreSQL when BENCH_POSTGRES_URL is set, and one
with INDEX_ENABLED=false (the live path), whose database never matters. For each database:

1. searches of a range holding N photos, with and without a 10 km radius, each on a new
   connection until every worker has answered several: the time the app itself logged
   (duration_ms), beside the live path's for the same searches;
2. the first full sync of Bob's library, from the settings saved to the status ready, beside
   the bench fetching the same pages itself (`window` in flight, parse only), before and after;
3. an incremental sync with nothing changed (Immich calls and time), then with 100 assets
   changed (checked in the index's answer afterwards);
4. a fresh app indexing Alice's BIG photos: database size per 100,000 photos, the syncing
   worker's RSS growth during the sync, and the serving worker's RSS during a search.
"""

from __future__ import annotations

import itertools
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from bench.harness import (
    AppServer,
    BenchError,
    RssSampler,
    SignedInUser,
    cpu_seconds,
    get_on_new_connection,
    register_and_sign_in,
    rss_bytes,
)
from bench.search import CENTER, RADIUS_M, SPREAD_KM, concurrent_pager
from bench.stats import Row, check, median

LATENCY = 0.05  # seconds the fake adds to every call, as in the search measurement
WINDOW = int(os.environ.get("IMMICH_MAX_CONCURRENCY", "8"))  # set on both apps, so the floor uses the same
FULL_SYNC_QUERY = {"withExif": True, "order": "asc"}  # what a full sync asks for, page after page
# Past years, as a real library's: updatedAt (two hours after the capture here) is never ahead of now.
BOB_YEAR = 2019  # Bob's N photos
ALICE_YEARS = range(2014, 2019)  # Alice's BIG photos, a fifth in each year
CHANGED = 100
CHANGE_DEGREES = 0.001  # latitude moved by each change
SEARCH_PATH = "/api/users/me/immich/photos/search"
STATUS_PATH = "/api/users/me/immich/index"
REQUEST_TIMEOUT = 300.0
SYNC_TIMEOUT = 7200.0  # seconds for one full sync of BIG photos on a busy machine
QUICK_SYNC_TIMEOUT = 60.0
FULL_POLL = 0.1  # seconds between status reads while a full sync runs
QUICK_POLL = 0.02  # while an incremental sync runs: its target is a second
ATTEMPTS_PER_SAMPLE = 6  # new connections tried per wanted sample before a worker counts as unreached
MB = 1024 * 1024

SEARCH_TARGET_MS = 100.0
RADIUS_TARGET_MS = 50.0
SPEEDUP_TARGET = 25.0
SYNC_RATIO_TARGET = 1.2
QUIET_CALLS_TARGET = 3
QUIET_SECONDS_TARGET = 1.0
CHANGED_SECONDS_TARGET = 2.0
SYNC_RSS_TARGET_MB = 100.0

@dataclass(frozen=True)
class Database:
    """Where the index app keeps its data: a SQLite file of its own, or PostgreSQL."""

    label: str
    url: str | None = None  # PostgreSQL; None for SQLite

    @property
    def tag(self) -> str:
        return self.label.lower()

    def reset(self) -> None:
        """An empty PostgreSQL database for the next app (SQLite starts empty anyway)."""
        if self.url is None:
            return
        with self._connect() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url} if self.url else {}

    def size(self, app: AppServer) -> tuple[int, int]:
        """(bytes the index takes, rows in it): PostgreSQL's pg_total_relation_size of
        library_assets; for SQLite the whole database file as its pages stand (WAL included)."""
        if self.url is None:
            conn = sqlite3.connect(f"file:{app.sqlite_path}?mode=ro", uri=True)
            try:
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                page_size = conn.execute("PRAGMA page_size").fetchone()[0]
                rows = conn.execute("SELECT count(*) FROM library_assets").fetchone()[0]
            finally:
                conn.close()
            return int(pages * page_size), int(rows)
        with self._connect() as conn:
            size = conn.exec_driver_sql("SELECT pg_total_relation_size('library_assets')").scalar_one()
            rows = conn.exec_driver_sql("SELECT count(*) FROM library_assets").scalar_one()
        return int(size), int(rows)

    def _connect(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        assert self.url is not None
        return _disposing(create_engine(self.url, poolclass=NullPool))


class _disposing:
    """`with` an engine: a connection in a committed transaction, and the engine disposed."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __enter__(self) -> Any:
        self._begin = self.engine.begin()
        return self._begin.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            self._begin.__exit__(*exc)
        finally:
            self.engine.dispose()


@dataclass
class Answer:
    server_ms: float  # the duration_ms the app logged
    wall_ms: float
    worker: int | None
    data: dict[str, Any]

    @property
    def ids(self) -> list[str]:
        return [photo["id"] for photo in self.data["photos"]]


def search_once(app: AppServer, user: SignedInUser, params: dict[str, str]) -> Answer:
    """One search on a new connection (so any worker may take it), and which worker did."""
    request_id = uuid.uuid4().hex
    served = get_on_new_connection(app, f"{SEARCH_PATH}?{urlencode(params)}",
                                   {**user.headers, "X-Request-Id": request_id}, REQUEST_TIMEOUT)
    if served.status != 200:
        raise BenchError(f"search: HTTP {served.status} {served.body[:300]!r}")
    server_ms = app.server_ms(request_id)
    if server_ms is None:
        raise BenchError("search: the app logged no duration for it")
    return Answer(server_ms, served.seconds * 1000, served.worker, orjson.loads(served.body)["data"])


def range_params(start: datetime, end: datetime, offset: int, *, radius: bool) -> dict[str, str]:
    params = {"startDate": _iso(start + timedelta(seconds=offset)), "endDate": _iso(end)}
    if radius:
        params.update(latitude=str(CENTER[0]), longitude=str(CENTER[1]), radiusMeters=str(RADIUS_M))
    return params


def index_status(user: SignedInUser) -> dict[str, Any]:
    response = user.session.get(f"{user.base_url}{STATUS_PATH}", headers=user.headers, timeout=30)
    if response.status_code != 200:
        raise BenchError(f"index status: HTTP {response.status_code} {response.text[:300]}")
    return dict(response.json()["data"])


def wait_synced(user: SignedInUser, *, previous: str | None, timeout: float, every: float) -> dict[str, Any]:
    """Poll until a sync newer than `previous` has finished and none runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = index_status(user)
        if body["status"] == "error" or (body["lastError"] and not body["refreshing"]):
            raise BenchError(f"index sync failed: {body['lastError']}")
        if body["status"] == "ready" and not body["refreshing"] and body["lastSyncedAt"] != previous:
            return body
        time.sleep(every)
    raise BenchError(f"the index sync did not finish within {timeout:.0f} s")


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _year(year: int) -> tuple[datetime, datetime]:
    """The range searched (a whole year) and the photos' own span inside it."""
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC)


def _photos_span(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 2, tzinfo=UTC), datetime(year, 12, 30, 23, 59, 59, tzinfo=UTC)


class IndexBench:
    """One run of the measurement: the fake, the live app, then each database in turn."""

    def __init__(self, *, track: Callable[[Any], Any], fake: Any, n: int, big: int, rounds: int,
                 per_round: int, step: Callable[[str], None]) -> None:
        self.track = track
        self.fake = fake
        self.n = n
        self.big = big
        self.rounds = rounds
        self.per_round = per_round
        self.step = step
        self._offsets = itertools.count()  # each search its own range, so nothing can answer from a cache
        self.bob_ids: list[str] = []
        self.problems: list[str] = []

    # ---------------------------------------------------------------- set-up

    def add_libraries(self) -> None:
        from fake_immich import ALICE_KEY, BOB_KEY

        start, end = _photos_span(BOB_YEAR)
        self.bob_ids = self.fake.add_bulk_assets(BOB_KEY, self.n, start=start, end=end, center=CENTER,
                                                 spread_km=SPREAD_KM, seed="bench-index")
        for year in ALICE_YEARS:
            start, end = _photos_span(year)
            self.fake.add_bulk_assets(ALICE_KEY, self.big // len(ALICE_YEARS), start=start, end=end,
                                      center=CENTER, spread_km=SPREAD_KM, seed="bench-index")

    def start_app(self, database: Database | None) -> tuple[AppServer, SignedInUser]:
        """The index app on that database, or (None) the live path's app."""
        env = {"SEARCH_CACHE_SECONDS": "0", "IMMICH_MAX_CONCURRENCY": str(WINDOW), "ACCESS_TOKEN_MINUTES": "180",
               # No refresh may start behind a measured search and be counted in another row.
               "INDEX_REFRESH_SECONDS": "86400"}
        if database is None:
            env["INDEX_ENABLED"] = "false"
        else:
            database.reset()
            env.update(database.env())
        app = self.track(AppServer(extra_env=env))
        app.start()
        return app, register_and_sign_in(app.url)

    # ---------------------------------------------------------------- the rows

    def run(self, databases: list[Database]) -> list[Row]:
        from fake_immich import BOB_KEY

        self.step(f"index: adding {self.n:,} photos (Bob) and {self.big:,} (Alice) to the fake")
        self.add_libraries()
        live, live_user = self.start_app(None)
        live_user.save_immich_config(self.fake.url, BOB_KEY)
        self.fake.latency = LATENCY
        rows: list[Row] = []
        for number, database in enumerate(databases):
            self.problems = []
            self.step(f"index on {database.label}: full sync of {self.n:,} photos")
            app, user = self.start_app(database)
            rows.append(self.full_sync_row(database, app, user))
            self.step(f"index on {database.label}: searches, index and live path")
            rows.extend(self.search_rows(database, app, user, live, live_user))
            self.step(f"index on {database.label}: incremental syncs")
            changed = self.bob_ids[number * CHANGED:(number + 1) * CHANGED]  # other assets on each database
            rows.extend(self.incremental_rows(database, app, user, changed))
            app.stop()
            self.step(f"index on {database.label}: a fresh app indexing {self.big:,} photos")
            rows.extend(self.big_library_rows(database))
            rows.append(Row(
                f"index_checks_{database.tag}", f"index, {database.label}: answers that differ from the fake's",
                "", photo_atlas=None, baseline=None, value=len(self.problems), value_label="count",
                target="0", met=not self.problems, details={"problems": self.problems},
                note=(f"checks ({database.label}): " + ("; ".join(self.problems[:5]) if self.problems else
                      "each kind of search's first answer, index and live, matched the fake's; the 100 changes "
                      "reached the index"))))
        live.stop()
        return rows

    def full_sync_row(self, database: Database, app: AppServer, user: SignedInUser) -> Row:
        from fake_immich import BOB_KEY

        # Untimed first: the fake's first pass over a library is slower than the next ones, which
        # the sync gets (it follows the floor's first sample), so the floor is of a warm fake too.
        concurrent_pager(self.fake.url, BOB_KEY, FULL_SYNC_QUERY, WINDOW)
        floors = [concurrent_pager(self.fake.url, BOB_KEY, FULL_SYNC_QUERY, WINDOW)]
        seconds, body, _growth = self.timed_full_sync(app, user, BOB_KEY)
        floors.append(concurrent_pager(self.fake.url, BOB_KEY, FULL_SYNC_QUERY, WINDOW))
        floor = median(floors)
        ratio = seconds / floor if floor else math.nan
        return Row(
            f"index_full_sync_{database.tag}", f"index, {database.label}: full sync of {self.n:,} photos (s)", "s",
            photo_atlas=seconds, baseline=floor, value=ratio, value_label="ratio",
            target=f"<= {SYNC_RATIO_TARGET:g}", met=check(ratio, "<=", SYNC_RATIO_TARGET),
            details={"seconds": round(seconds, 3), "fetch_floor_s": [round(f, 3) for f in floors],
                     "indexed_count": body["indexedCount"], "window": WINDOW, "fake_latency_s": LATENCY},
            note=(f"full sync ({database.label}): settings saved to status ready, {body['indexedCount']:,} assets; "
                  f"baseline = the bench fetching the same pages ({WINDOW} in flight, parse only), "
                  f"median of before and after {[round(f, 2) for f in floors]} s"),
        )

    def timed_full_sync(self, app: AppServer, user: SignedInUser, key: str) -> tuple[float, dict[str, Any], float]:
        """(seconds from settings saved to ready, the status, RSS growth in bytes of the syncing worker)."""
        workers = app.worker_pids()
        cpu_before = {pid: cpu_seconds([pid]) for pid in workers}
        rss_before = {pid: rss_bytes(pid) or 0 for pid in workers}
        with RssSampler(workers) as sampler:
            t0 = time.perf_counter()
            user.save_immich_config(self.fake.url, key)
            body = wait_synced(user, previous=None, timeout=SYNC_TIMEOUT, every=FULL_POLL)
            seconds = time.perf_counter() - t0
        # The worker that synced is the one that worked: the others only answered status reads.
        syncing = max(workers, key=lambda pid: cpu_seconds([pid]) - cpu_before[pid])
        growth = sampler.peak.get(syncing, 0) - rss_before[syncing]
        return seconds, body, growth

    def search_rows(self, database: Database, app: AppServer, user: SignedInUser, live: AppServer,
                    live_user: SignedInUser) -> list[Row]:
        rows = []
        for radius in (False, True):
            indexed, lived = self.compare_searches(app, user, live, live_user, radius=radius)
            per_worker = {pid: median([a.server_ms for a in answers]) for pid, answers in indexed.items()}
            reached = [pid for pid in app.worker_pids() if indexed.get(pid)]
            figure = max(per_worker.values()) if per_worker else math.nan
            live_ms = median([a.server_ms for a in lived])
            target = RADIUS_TARGET_MS if radius else SEARCH_TARGET_MS
            everywhere = len(reached) == len(app.worker_pids())
            photos = len(lived[0].data["photos"]) if lived else 0
            details = {
                "photos_returned": photos,
                "index_server_ms_by_worker": {str(pid): [round(a.server_ms, 1) for a in answers]
                                              for pid, answers in indexed.items()},
                "index_wall_ms_median": round(median([a.wall_ms for wall in indexed.values() for a in wall]), 1),
                "live_server_ms": [round(a.server_ms, 1) for a in lived],
                "live_wall_ms": [round(a.wall_ms, 1) for a in lived],
                "workers_reached": f"{len(reached)} of {len(app.worker_pids())}",
            }
            kind = f"+ {RADIUS_M / 1000:g} km radius" if radius else "whole range"
            key = f"index_search{'_radius' if radius else ''}_{database.tag}"
            medians = ", ".join(f"{ms:.0f}" for ms in per_worker.values())
            rows.append(Row(
                key, f"index, {database.label}: search {self.n:,} photos, {kind} (ms)", "ms",
                photo_atlas=figure, baseline=live_ms, value=figure, value_label="value",
                target=f"<= {target:g} ms", met=bool(check(figure, "<=", target)) and everywhere,
                details=details,
                note=(f"search {kind} ({database.label}): {photos:,} photos; server time the app logged, median per "
                      f"worker [{medians}] ms ({len(reached)} of {len(app.worker_pids())} workers), the slower "
                      f"shown; wall time {details['index_wall_ms_median']:.0f} ms; baseline = the live path "
                      f"(INDEX_ENABLED=false) on the same fake"),
            ))
            if not radius:
                speedup = live_ms / figure if figure else math.nan
                rows.append(Row(
                    f"index_search_speedup_{database.tag}", "  live path time / index time", "ms",
                    photo_atlas=None, baseline=None, value=speedup, value_label="ratio",
                    target=f">= {SPEEDUP_TARGET:g}x", met=check(speedup, ">=", SPEEDUP_TARGET),
                ))
        return rows

    def compare_searches(self, app: AppServer, user: SignedInUser, live: AppServer, live_user: SignedInUser, *,
                         radius: bool) -> tuple[dict[int | None, list[Answer]], list[Answer]]:
        """Rounds of one live search and index searches on new connections until every
        worker has answered `per_round` more; the first answer of each side is checked."""
        from fake_immich import BOB_KEY

        start, end = _year(BOB_YEAR)
        indexed: dict[int | None, list[Answer]] = {}
        lived: list[Answer] = []
        workers = app.worker_pids()
        for round_number in range(self.rounds):
            lived.append(self._checked(live, live_user, start, end, radius=radius, source="live",
                                       check=not lived, key=BOB_KEY, holds=self.n))
            wanted = (round_number + 1) * self.per_round
            for _ in range(ATTEMPTS_PER_SAMPLE * self.per_round * len(workers)):
                if all(len(indexed.get(pid, [])) >= wanted for pid in workers):
                    break
                answer = self._checked(app, user, start, end, radius=radius, source="index",
                                       check=not indexed, key=BOB_KEY, holds=self.n)
                indexed.setdefault(answer.worker, []).append(answer)
        return indexed, lived

    def _checked(self, app: AppServer, user: SignedInUser, start: datetime, end: datetime, *, radius: bool,
                 source: str, check: bool, key: str, holds: int) -> Answer:
        """One search of a range of its own; when `check`, its photos against the fake's."""
        params = range_params(start, end, next(self._offsets), radius=radius)
        answer = search_once(app, user, params)
        if answer.data.get("source") != source:
            self.problems.append(f"a search answered from {answer.data.get('source')}, not {source}")
        if check:
            if not radius and (held := len(self.fake.expected_search(key, params["startDate"],
                                                                     params["endDate"]))) != holds:
                self.problems.append(f"the range holds {held} photos, not {holds}")
            circle = {"lat": CENTER[0], "lon": CENTER[1], "radius_m": RADIUS_M} if radius else {}
            expected = self.fake.expected_search(key, params["startDate"], params["endDate"], **circle)
            if answer.ids != expected:
                self.problems.append(f"{source}: {len(answer.ids)} photos, expected {len(expected)} "
                                     "(or another order)")
        return answer

    def incremental_rows(self, database: Database, app: AppServer, user: SignedInUser,
                         changed_ids: list[str]) -> list[Row]:
        quiet_s, quiet_calls = self.timed_incremental(user)
        moved = {asset_id: round(CENTER[0] + CHANGE_DEGREES * (i + 1), 6) for i, asset_id in enumerate(changed_ids)}
        for asset_id, latitude in moved.items():
            self.fake.change_asset(asset_id, bump_updated_at=True, latitude=latitude)
        changed_s, changed_calls = self.timed_incremental(user)
        self.check_changes(app, user, moved)
        calls = sum(quiet_calls.values())
        met = bool(check(calls, "<=", QUIET_CALLS_TARGET)) and bool(check(quiet_s, "<=", QUIET_SECONDS_TARGET))
        return [
            Row(f"index_incremental_quiet_{database.tag}",
                f"index, {database.label}: incremental sync, nothing changed (s; Immich calls)", "s",
                photo_atlas=quiet_s, baseline=None, value=calls, value_label="count",
                target=f"<= {QUIET_CALLS_TARGET} calls, <= {QUIET_SECONDS_TARGET:g} s", met=met,
                details={"calls": quiet_calls, "seconds": round(quiet_s, 3)},
                note=f"incremental, nothing changed ({database.label}): Immich calls {quiet_calls}"),
            Row(f"index_incremental_changed_{database.tag}",
                f"index, {database.label}: incremental sync, {len(changed_ids)} changed (s)", "s",
                photo_atlas=changed_s, baseline=None, value=changed_s, value_label="value",
                target=f"<= {CHANGED_SECONDS_TARGET:g} s", met=check(changed_s, "<=", CHANGED_SECONDS_TARGET),
                details={"calls": changed_calls, "seconds": round(changed_s, 3)},
                note=(f"incremental, {len(changed_ids)} changed ({database.label}): Immich calls "
                      f"{changed_calls}; each change moves the asset's latitude and its updatedAt")),
        ]

    def timed_incremental(self, user: SignedInUser) -> tuple[float, dict[str, int]]:
        previous = index_status(user)["lastSyncedAt"]
        self.fake.clear_requests()
        t0 = time.perf_counter()
        response = user.session.post(f"{user.base_url}{STATUS_PATH}/sync", headers=user.headers, timeout=30)
        if response.status_code != 202:
            raise BenchError(f"starting a sync: HTTP {response.status_code} {response.text[:300]}")
        wait_synced(user, previous=previous, timeout=QUICK_SYNC_TIMEOUT, every=QUICK_POLL)
        seconds = time.perf_counter() - t0
        return seconds, dict(self.fake.request_counts())

    def check_changes(self, app: AppServer, user: SignedInUser, moved: dict[str, float]) -> None:
        """Every changed asset is where the index now says it is."""
        start, end = _year(BOB_YEAR)
        answer = search_once(app, user, range_params(start, end, next(self._offsets), radius=False))
        found = {photo["id"]: photo["latitude"] for photo in answer.data["photos"] if photo["id"] in moved}
        wrong = sum(1 for asset_id, latitude in moved.items() if found.get(asset_id) != latitude)
        if wrong:
            self.problems.append(f"{wrong} of {len(moved)} changed assets not updated in the index")

    def big_library_rows(self, database: Database) -> list[Row]:
        from fake_immich import ALICE_KEY

        app, user = self.start_app(database)
        try:
            seconds, body, growth = self.timed_full_sync(app, user, ALICE_KEY)
            size, count = database.size(app)
            workers = app.worker_pids()
            start, end = _year(ALICE_YEARS[0])
            searches = []  # (worker, its peak RSS while it searched, server ms)
            for attempt in range(2 * len(workers)):
                with RssSampler(workers) as sampler:
                    answer = self._checked(app, user, start, end, radius=False, source="index",
                                           check=attempt == 0, key=ALICE_KEY, holds=self.big // len(ALICE_YEARS))
                if answer.worker is not None:
                    searches.append((answer.worker, sampler.peak.get(answer.worker, 0), answer.server_ms))
        finally:
            app.stop()
        per_100k = size / count * 100_000 / MB if count else math.nan
        search_rss = max((peak for _, peak, _ in searches), default=0) / MB
        in_range = self.big // len(ALICE_YEARS)
        label, tag = database.label, database.tag
        return [
            Row(f"index_db_size_{tag}", f"index, {label}: database size per 100,000 photos (MB)", "MB",
                photo_atlas=per_100k, baseline=None, value=per_100k, value_label="value", target="info", met=None,
                details={"bytes": size, "rows": count},
                note=(f"size ({label}): {size / MB:.0f} MB for {count:,} rows, "
                      + ("pg_total_relation_size of library_assets" if database.url else
                         "the whole SQLite database (page_count x page_size)"))),
            Row(f"index_search_rss_{tag}", f"index, {label}: worker RSS during a search, {count:,} indexed (MB)",
                "MB", photo_atlas=search_rss, baseline=None, value=search_rss, value_label="value", target="info",
                met=None,
                details={"searches": [{"worker": pid, "peak_rss_mb": round(peak / MB, 1), "server_ms": server}
                                      for pid, peak, server in searches]},
                note=(f"search RSS ({label}): peak of the serving worker while it answered {in_range:,} photos "
                      f"out of {count:,}, in {median([server for _, _, server in searches]):.0f} ms (median)")),
            Row(f"index_sync_rss_{tag}", f"index, {label}: syncing worker RSS growth, full sync (MB)", "MB",
                photo_atlas=growth / MB, baseline=None, value=growth / MB, value_label="value",
                target=f"<= {SYNC_RSS_TARGET_MB:g} MB", met=check(growth / MB, "<=", SYNC_RSS_TARGET_MB),
                details={"sync_seconds": round(seconds, 2), "indexed_count": body["indexedCount"]},
                note=(f"sync RSS ({label}): full sync of {body['indexedCount']:,} assets took {seconds:.1f} s; "
                      "growth = the syncing worker's peak RSS minus its RSS before the settings were saved")),
        ]


def run(*, track: Callable[[Any], Any], step: Callable[[str], None], n: int, big: int, rounds: int,
        per_round: int, postgres_url: str | None) -> list[Row]:
    """Every row, on SQLite and (with a URL) on PostgreSQL."""
    from bench.fake_process import FakeProcess

    fake = track(FakeProcess(latency=0.0).start())
    try:
        databases = [Database("SQLite")] + ([Database("PostgreSQL", postgres_url)] if postgres_url else [])
        bench = IndexBench(track=track, fake=fake, n=n, big=big, rounds=rounds, per_round=per_round, step=step)
        return bench.run(databases)
    finally:
        fake.stop()
