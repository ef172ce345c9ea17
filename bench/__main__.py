"""`.venv/bin/python -m bench [--quick] [--only search,geo,thumbnails,original,index,tracks,map] [--profile]
[--strict]`"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench import browser_map, geo_filter, library_index, originals, report, search, thumbnails, tracks
from bench.fake_process import FakeProcess
from bench.harness import AppServer, BenchError, machine, register_and_sign_in
from bench.profiling import Profiler, py_spy
from bench.stats import Row

MEASUREMENTS = ("geo", "original", "thumbnails", "search", "index", "tracks", "map")
# Photos the thumbnail measurement asks for: the warm set, then a new one for every cold request.
THUMBNAIL_PHOTOS = 12_000

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "search_photos": 100_000, "search_repeats": 3, "cached_repeats": 20, "new_connection_repeats": 6,
        "geo_photos": 100_000, "geo_repeats": 21, "geopy_points": 10_000,
        "thumb_clients": 32, "thumb_per_client": 50, "thumb_rounds": 3, "thumb_single": 200,
        "original_bytes": 1 << 30, "ttfb_repeats": 7, "track_points": 1_000_000,
        "index_photos": 100_000, "index_big": 500_000, "index_rounds": 3, "index_per_round": 1,
        "time_limit": 1500, "index_time_limit": 14400,
        "map_photos": 500_000, "map_baseline_photos": 50_000, "map_home": 10_000, "map_repeats": 5,
        "map_scrub_steps": 8, "map_time_limit": 3600,
    },
    "quick": {
        "search_photos": 20_000, "search_repeats": 2, "cached_repeats": 10, "new_connection_repeats": 4,
        "geo_photos": 100_000, "geo_repeats": 7, "geopy_points": 2_000,
        "thumb_clients": 32, "thumb_per_client": 20, "thumb_rounds": 2, "thumb_single": 50,
        "original_bytes": 256 << 20, "ttfb_repeats": 3, "track_points": 1_000_000,
        "index_photos": 20_000, "index_big": 100_000, "index_rounds": 3, "index_per_round": 1,
        "time_limit": 900, "index_time_limit": 3600,
        "map_photos": 100_000, "map_baseline_photos": 50_000, "map_home": 10_000, "map_repeats": 3,
        "map_scrub_steps": 6, "map_time_limit": 900,
    },
}
SEARCH_LATENCY = 0.05  # seconds the fake adds to each request during the search measurement
SEARCH_WINDOW = int(os.environ.get("IMMICH_MAX_CONCURRENCY", "4"))  # pages the service keeps in flight


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma list of measurements to run (default: all of {', '.join(MEASUREMENTS)})")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true",
                        help="sample the gunicorn workers with py-spy during each measurement "
                             "(slows them: for diagnosis, not comparison)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    return args


def _failed(key: str, name: str, exc: BaseException) -> Row:
    return Row(key, name, "", None, None, None, "value", "-", False,
               details={"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()},
               note=f"{name}: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


class _Cleanup:
    """Stops every server and fake once, the newest first, from the normal path, a signal or
    the watchdog (stopping one already stopped does nothing)."""

    def __init__(self) -> None:
        self._started: list[Any] = []
        self._lock = threading.Lock()
        self._done = False

    def track(self, resource: Any) -> Any:
        with self._lock:
            self._started.append(resource)
        return resource

    def __call__(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            started = list(reversed(self._started))
        for resource in started:
            resource.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    cleanup = _Cleanup()

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    def on_timeout() -> None:
        print(f"\nbench: over its {time_limit} s limit; stopping everything", file=sys.stderr, flush=True)
        cleanup()
        os._exit(3)

    time_limit = (sizes["time_limit"] + (sizes["index_time_limit"] if "index" in args.only else 0)
                  + (sizes["map_time_limit"] if "map" in args.only else 0))
    watchdog = threading.Timer(time_limit, on_timeout)
    watchdog.daemon = True
    watchdog.start()

    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    rows: list[Row] = []
    settings: dict[str, Any] = {"mode": mode, **sizes, "search_latency_s": SEARCH_LATENCY}

    def step(title: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {title}", flush=True)

    load_before = os.getloadavg()
    cpus = os.cpu_count() or 1
    if load_before[0] > 0.75 * cpus:
        print(f"bench: warning: the machine is busy (load average {load_before[0]:.1f} on {cpus} CPUs); "
              "the figures will be noisy", file=sys.stderr, flush=True)
    if args.profile and not py_spy():
        print("bench: --profile needs py-spy (.venv/bin/pip install py-spy); running without it",
              file=sys.stderr, flush=True)
    profiles: dict[str, str] = {}

    def measure(key: str, title: str, fn: Callable[[], list[Row]], app: AppServer | None = None) -> None:
        step(title)
        try:
            with Profiler(app, key, args.profile) as profiler:
                rows.extend(fn())
            if profiler.summary_path:
                profiles[key] = str(profiler.summary_path)
        except Exception as exc:  # noqa: BLE001 - reported in the table; the others still run
            rows.append(_failed(key, title, exc))

    try:
        if "geo" in args.only:
            measure("geo_filter", f"radius filter over {sizes['geo_photos']:,} photos, in-process",
                    lambda: geo_filter.run(n=sizes["geo_photos"], repeats=sizes["geo_repeats"],
                                           geopy_points=sizes["geopy_points"]))

        server_side = [name for name in args.only if name not in ("geo", "index", "map")]
        if server_side:
            from fake_immich import BOB_KEY

            key = BOB_KEY
            step("starting the fake Immich (its own process) and Photo Atlas (gunicorn)")
            fake = cleanup.track(FakeProcess(latency=0.0).start())
            # The live path, as these measurements are defined (the index has its own): no sync
            # of the photos added below runs in the background of a measurement.
            app = cleanup.track(AppServer(extra_env={"ACCESS_TOKEN_MINUTES": "120", "INDEX_ENABLED": "false"}))
            app.start()
            user = register_and_sign_in(app.url)
            user.save_immich_config(fake.url, key)
            settings["gunicorn_workers"] = len(app.worker_pids())
            ids: list[str] = []
            if "search" in server_side or "thumbnails" in server_side:
                count = max(sizes["search_photos"], THUMBNAIL_PHOTOS if "thumbnails" in server_side else 0)
                step(f"adding {count:,} photos to the fake")
                ids = fake.add_bulk_assets(key, count, start=search.BULK_START,
                                           end=search.BULK_END, center=search.CENTER,
                                           spread_km=search.SPREAD_KM, seed="bench")

            if "original" in server_side:
                size = sizes["original_bytes"]
                measure("original", f"streaming a {size >> 20} MiB original, direct and through Photo Atlas",
                        lambda: originals.run(fake=fake, app=app, user=user, key=key, size=size,
                                              ttfb_repeats=sizes["ttfb_repeats"]), app)
            if "thumbnails" in server_side:
                measure("thumbnails",
                        f"thumbnails, {sizes['thumb_clients']} clients x {sizes['thumb_per_client']} requests, "
                        f"{sizes['thumb_rounds']} rounds per side, then 1 client x {sizes['thumb_single']}",
                        lambda: thumbnails.run(fake=fake, app=app, user=user, key=key, ids=ids,
                                               clients=sizes["thumb_clients"],
                                               per_client=sizes["thumb_per_client"], rounds=sizes["thumb_rounds"],
                                               single_client_requests=sizes["thumb_single"]), app)
                measure("thumbnail_cache_bound",
                        f"the thumbnail cache's bound: {thumbnails.BOUND_CACHE_MB} MiB, three times that written",
                        lambda: thumbnails.run_bound(fake_url=fake.url, key=key, ids=ids[::-1],
                                                     clients=sizes["thumb_clients"]))
            if "search" in server_side:
                measure("search",
                        f"search of {sizes['search_photos']:,} photos, {sizes['search_repeats']} repeats per side, "
                        f"fake latency {SEARCH_LATENCY * 1000:g} ms",
                        lambda: search.run(fake=fake, app=app, user=user, key=key, n=sizes["search_photos"],
                                           repeats=sizes["search_repeats"], cached_repeats=sizes["cached_repeats"],
                                           new_connection_repeats=sizes["new_connection_repeats"],
                                           latency=SEARCH_LATENCY, window=SEARCH_WINDOW), app)
            if "tracks" in server_side:
                measure("tracks",
                        f"location history: import a {sizes['track_points']:,}-point GPX, estimate, accuracy",
                        lambda: tracks.run(app=app, user=user, points=sizes["track_points"]), app)
            if fake_errors := fake.errors():
                settings["fake_errors"] = fake_errors[:5]
            if any("error" in row.details for row in rows):
                settings["gunicorn_log_tail"] = app.log_tail()

        if "index" in args.only:
            postgres_url = os.environ.get("BENCH_POSTGRES_URL") or None
            settings["index_databases"] = ["SQLite"] + (["PostgreSQL"] if postgres_url else [])
            measure("index",
                    f"library index: {sizes['index_photos']:,} photos searched and synced, "
                    f"{sizes['index_big']:,} indexed, fake latency {library_index.LATENCY * 1000:g} ms",
                    lambda: library_index.run(track=cleanup.track, step=step, n=sizes["index_photos"],
                                              big=sizes["index_big"], rounds=sizes["index_rounds"],
                                              per_round=sizes["index_per_round"], postgres_url=postgres_url))
        if "map" in args.only:
            measure("map",
                    f"map page in Chromium: {sizes['map_photos']:,} photos indexed, beside the markercluster page "
                    f"over {sizes['map_baseline_photos']:,}",
                    lambda: browser_map.run(track=cleanup.track, step=step, photos=sizes["map_photos"],
                                            baseline_photos=sizes["map_baseline_photos"], home=sizes["map_home"],
                                            repeats=sizes["map_repeats"], scrub_steps=sizes["map_scrub_steps"]))
    except (BenchError, RuntimeError) as exc:  # the setup failed: nothing to measure
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        step("stopping")
        cleanup()
        watchdog.cancel()
    load_after = os.getloadavg()

    order = ["search_uncached", "search_cached", "search_fetch_floor",
             "search_cached_new_connections", "geo_filter",
             "geo_select", "geo_per_point", "thumbnail_cold_throughput", "thumbnail_cold_cpu",
             "thumbnail_cold_latency", "thumbnail_warm_throughput", "thumbnail_warm_latency",
             "thumbnail_warm_cpu", "thumbnail_single_cold", "thumbnail_single_warm", "thumbnail_cache_bound",
             "original_rss", "original_ttfb",
             "original_throughput", "tracks_import", "tracks_import_rss", "tracks_estimate",
             "tracks_accuracy", "tracks_clock_fit"]
    rows.sort(key=lambda row: order.index(row.key) if row.key in order else len(order))
    targets = [row for row in rows if row.met is not None]
    met = sum(1 for row in targets if row.met)
    elapsed = time.monotonic() - started
    print()
    print(report.table(rows))
    print(f"\n{met} of {len(targets)} targets met ({mode} run, {elapsed:.0f} s)")
    path = report.write_json({
        "started_at": started_at,
        "seconds": round(elapsed, 1),
        "machine": machine(),
        "settings": settings,
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "profiles": profiles,
        "targets_met": met,
        "targets": len(targets),
        "rows": [row.as_dict() for row in rows],
    })
    print(f"results: {path}")
    for name, summary in profiles.items():
        print(f"profile of {name}: {summary}")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} ({cpus} CPUs)")
    if any("error" in row.details for row in rows):
        return 1
    return 1 if args.strict and met < len(targets) else 0


if __name__ == "__main__":
    sys.exit(main())
